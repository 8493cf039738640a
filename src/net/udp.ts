/**
 * UDP (RFC 768) for one worker: an L4Handler registered with the network
 * stack for IP protocol 17. Applications bind a port to a handler; a datagram
 * to an unbound port is answered with ICMP port unreachable (RFC 1122
 * §4.1.3.1). Sending builds the datagram in a pool slot: the caller fills the
 * data at `payloadOff(slot)` (no copy), or `send` copies bytes in.
 */
import type { BufferPool } from '../core/buffer_pool.js';
import type { Clock } from '../common/clock.js';
import { WireError } from '../wire/error.js';
import { ICMP_UNREACH_PORT } from '../wire/icmp.js';
import { IPV4_PROTO_UDP } from '../wire/ipv4.js';
import { emitUdp, newUdpRepr, parseUdp, UDP_HDR_LEN } from '../wire/udp.js';
import type { L4Handler } from './l4.js';
import { L4_OFF } from './layout.js';

/** What an application bound to a port gets. */
export interface UdpHandler {
  /** A datagram to the bound port; `u8[off, off+len)` is valid only during the call. */
  onDatagram(u8: Uint8Array, off: number, len: number, srcIp: number, srcPort: number, dstIp: number, dstPort: number, nowUs: number): void;
  /** An ICMP error (`type << 8 | code`) about a datagram sent from the bound port to `dstIp:dstPort`. */
  onError(code: number, dstIp: number, dstPort: number): void;
}

/** What UDP needs from the network layer (NetStack provides it). */
export interface UdpStack {
  readonly pool: BufferPool;
  readonly clock: Clock;
  outputIpv4(slot: number, srcIp: number, dstIp: number, proto: number, l4Len: number, tos?: number): void;
  /** Destination unreachable `code` about the datagram at `l3Off` of `slot`; frees `slot`. */
  sendUnreachable(slot: number, l3Off: number, code: number, srcIp: number, dstIp: number): void;
}

export class UdpCounters {
  datagramsIn = 0;
  datagramsOut = 0;
  bytesIn = 0;
  bytesOut = 0;
  dropTruncated = 0;
  dropBadLength = 0;
  dropBadChecksum = 0;
  /** Datagrams to an unbound port (answered with port unreachable). */
  noPort = 0;
  icmpErrors = 0;
  noBufs = 0;
}

/** Bytes of data one datagram may carry here: a slot holds the frame, and we send with DF. */
export const UDP_MAX_PAYLOAD = 1500 - 20 - UDP_HDR_LEN;

export class UdpLayer implements L4Handler {
  readonly counters = new UdpCounters();
  readonly pool: BufferPool;
  private readonly rx = newUdpRepr();
  private readonly tx = newUdpRepr();
  /** Handler index per port, -1 unbound. */
  private readonly byPort = new Int16Array(65536).fill(-1);
  private readonly bound: UdpHandler[] = [];

  constructor(private readonly stack: UdpStack) {
    this.pool = stack.pool;
  }

  /** Binds `port` (every owned address) to `handler`; false when it is taken. */
  bind(port: number, handler: UdpHandler): boolean {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`UDP port ${port} is not 1..65535`);
    if (this.byPort[port] >= 0) return false;
    let i = this.bound.indexOf(handler);
    if (i < 0) i = this.bound.push(handler) - 1;
    this.byPort[port] = i;
    return true;
  }

  /** A slot for a datagram to build (its data at payloadOff), or -1 when the pool is empty. */
  alloc(): number {
    const s = this.pool.alloc();
    if (s < 0) this.counters.noBufs++;
    return s;
  }

  /** Absolute offset of a datagram's data in `slot`. */
  payloadOff(slot: number): number {
    return this.pool.base(slot) + L4_OFF + UDP_HDR_LEN;
  }

  /** Sends the `len` bytes of data already at payloadOff(slot), with IPv4 TOS byte `tos`; takes ownership of `slot`. */
  sendSlot(slot: number, srcIp: number, srcPort: number, dstIp: number, dstPort: number, len: number, tos = 0): void {
    const t = this.tx;
    t.srcPort = srcPort;
    t.dstPort = dstPort;
    t.payloadLen = len;
    emitUdp(t, this.pool.dv, this.pool.base(slot) + L4_OFF, srcIp, dstIp);
    const c = this.counters;
    c.datagramsOut++;
    c.bytesOut += len;
    this.stack.outputIpv4(slot, srcIp, dstIp, IPV4_PROTO_UDP, UDP_HDR_LEN + len, tos);
  }

  /** Copies `u8[off, off+len)` into a datagram and sends it; false when no slot was free. */
  send(srcIp: number, srcPort: number, dstIp: number, dstPort: number, u8: Uint8Array, off: number, len: number): boolean {
    const s = this.alloc();
    if (s < 0) return false;
    const dst = this.payloadOff(s);
    // Bytes from the pool itself (an echo) move without a view object per datagram.
    if (u8 === this.pool.u8) u8.copyWithin(dst, off, off + len);
    else this.pool.u8.set(u8.subarray(off, off + len), dst);
    this.sendSlot(s, srcIp, srcPort, dstIp, dstPort, len);
    return true;
  }

  // ---- L4Handler ----

  input(slot: number, l3Off: number, l4Off: number, l4Len: number, srcIp: number, dstIp: number, nowUs: number): void {
    const pool = this.pool;
    const c = this.counters;
    const r = this.rx;
    const err = parseUdp(pool.dv, l4Off, l4Len, r, srcIp, dstIp);
    if (err !== WireError.OK) {
      if (err === WireError.TRUNCATED) c.dropTruncated++;
      else if (err === WireError.BAD_CHECKSUM) c.dropBadChecksum++;
      else c.dropBadLength++;
      pool.free(slot);
      return;
    }
    const h = this.byPort[r.dstPort];
    if (h < 0) {
      c.noPort++;
      // RFC 1122 §4.1.3.1: a datagram for a port nobody listens on gets ICMP port unreachable.
      this.stack.sendUnreachable(slot, l3Off, ICMP_UNREACH_PORT, srcIp, dstIp);
      return;
    }
    c.datagramsIn++;
    c.bytesIn += r.payloadLen;
    this.bound[h].onDatagram(pool.u8, r.payloadOff, r.payloadLen, srcIp, r.srcPort, dstIp, r.dstPort, nowUs);
    pool.free(slot);
  }

  icmpError(code: number, _srcIp: number, dstIp: number, _proto: number, srcPort: number, dstPort: number): void {
    const h = this.byPort[srcPort];
    if (h < 0) return;
    this.counters.icmpErrors++;
    this.bound[h].onError(code, dstIp, dstPort);
  }

  burstEnd(): void {}

  tick(): void {}

  busy(): boolean {
    return false;
  }
}
