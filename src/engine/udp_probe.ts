/**
 * `--client udp://IP:PORT`: datagrams of --payload-size bytes at --rate per
 * second from one source port of this worker's share (replies come home by
 * it, src/net/flow_steer.ts); an echo server's answers (RFC 862) give the
 * round-trip time, an ICMP port unreachable is counted.
 */
import type { UdpHandler, UdpLayer } from '../net/udp.js';
import { ProbeLoad, type ProbeConfig } from './probe.js';

export class UdpProbe extends ProbeLoad implements UdpHandler {
  private readonly dv: DataView;

  constructor(
    cfg: ProbeConfig,
    private readonly udp: UdpLayer,
    private readonly srcPort: number,
  ) {
    super(cfg);
    this.dv = udp.pool.dv;
    if (!udp.bind(srcPort, this)) throw new RangeError(`UDP port ${srcPort} is taken`);
  }

  protected emit(): boolean {
    const udp = this.udp;
    const s = udp.alloc();
    if (s < 0) return false;
    udp.pool.u8.set(this.template, udp.payloadOff(s));
    const c = this.cfg;
    udp.sendSlot(s, this.src.next(), this.srcPort, c.dstIp, c.dstPort, c.payloadSize, (c.dscp ?? 0) << 2);
    return true;
  }

  onDatagram(_u8: Uint8Array, off: number, len: number, srcIp: number, srcPort: number, _dstIp: number, _dstPort: number, nowUs: number): void {
    if (srcIp === this.cfg.dstIp && srcPort === this.cfg.dstPort) this.answer(this.dv, off, len, nowUs);
  }

  onError(): void {
    this.unreachable++;
  }
}
