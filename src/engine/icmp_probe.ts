/**
 * `--client icmp://IP`: ICMP echo requests (RFC 792) at --rate per second
 * with --payload-size bytes of data; replies are matched by identifier (this
 * worker's, see echoIdent in src/net/flow_steer.ts) and by the sequence
 * number and send time the data carries, which also give the round-trip time.
 */
import type { BufferPool } from '../core/buffer_pool.js';
import type { EchoReplyHandler } from '../net/icmp.js';
import { L4_OFF } from '../net/layout.js';
import type { NetStack } from '../net/stack.js';
import { ICMP_HDR_LEN } from '../wire/icmp.js';
import { ProbeLoad, type ProbeConfig } from './probe.js';

export class IcmpProbe extends ProbeLoad implements EchoReplyHandler {
  private readonly pool: BufferPool;

  constructor(
    cfg: ProbeConfig,
    private readonly stack: NetStack,
    private readonly ident: number,
  ) {
    super(cfg);
    this.pool = stack.pool;
    stack.setEchoHandler(this);
  }

  protected emit(seq: number): boolean {
    const pool = this.pool;
    const s = pool.alloc();
    if (s < 0) {
      this.stack.counters.noBufs++;
      return false;
    }
    pool.u8.set(this.template, pool.base(s) + L4_OFF + ICMP_HDR_LEN);
    const c = this.cfg;
    this.stack.sendEcho(s, this.src.next(), c.dstIp, this.ident, seq & 0xffff, c.payloadSize, (c.dscp ?? 0) << 2);
    return true;
  }

  onEchoReply(ident: number, _seq: number, _u8: Uint8Array, off: number, len: number, srcIp: number, nowUs: number): void {
    if (ident === this.ident && srcIp === this.cfg.dstIp) this.answer(this.pool.dv, off, len, nowUs);
  }
}
