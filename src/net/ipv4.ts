/**
 * IPv4 (RFC 791) for owned addresses: RX validation with a counter per drop
 * reason and demultiplexing to ICMP or a registered transport; the header of
 * datagrams we originate (identification, DF, TTL, checksum).
 *
 * Fragments are counted and dropped, not reassembled: the stack sends with DF
 * and a 1460-byte MSS, so only a misbehaving peer fragments towards it.
 */
import { WireError } from '../wire/error.js';
import { emitIpv4, IPV4_HDR_LEN, IPV4_PROTO_ICMP, IPV4_PROTO_UDP, newIpv4Repr, parseIpv4 } from '../wire/ipv4.js';
import { ICMP_UNREACH_PORT, ICMP_UNREACH_PROTO } from '../wire/icmp.js';
import type { BufferPool } from '../core/buffer_pool.js';
import type { NetCounters } from './counters.js';
import type { Icmp } from './icmp.js';
import type { L4Handler } from './l4.js';
import { DEFAULT_TTL } from './layout.js';

/** What IPv4 needs from the stack it serves. */
export interface Ipv4Host {
  readonly pool: BufferPool;
  readonly counters: NetCounters;
  readonly handlers: (L4Handler | null)[];
  /** Index of the owned range holding `ip` on `vlan`, or -1. */
  ownedOn(ip: number, vlan: number): number;
}

export class Ipv4 {
  private readonly rx = newIpv4Repr();
  private readonly tx = newIpv4Repr();
  private ident = 0;

  constructor(
    private readonly host: Ipv4Host,
    private readonly icmp: Icmp,
  ) {
    this.tx.df = true;
    this.tx.ttl = DEFAULT_TTL;
  }

  /** A datagram at `off` (`len` bytes up to the frame's end) received on `vlan`. Takes ownership of `slot`. */
  input(slot: number, vlan: number, off: number, len: number, nowUs: number): void {
    const h = this.host;
    const c = h.counters;
    const ip = this.rx;
    // Always verified: a driver's RX checksum status covers L4 only, and the
    // header is 20 bytes.
    const err = parseIpv4(h.pool.dv, off, len, ip);
    if (err !== WireError.OK) {
      this.countError(err);
      h.pool.free(slot);
      return;
    }
    c.ipv4Rx++;
    const dst = ip.dst >>> 0;
    // RFC 1122 §3.2.1.3: silently discard what is not addressed to us.
    if (h.ownedOn(dst, vlan) < 0) {
      c.ipv4DropNotOurs++;
      h.pool.free(slot);
      return;
    }
    // A host may accept TTL 1 (RFC 1122 §3.2.1.7); 0 never leaves a conforming sender.
    if (ip.ttl === 0) {
      c.ipv4DropTtl++;
      h.pool.free(slot);
      return;
    }
    if (ip.mf || ip.fragOff !== 0) {
      c.ipv4DropFragment++;
      h.pool.free(slot);
      return;
    }
    const src = ip.src >>> 0;
    const l4Off = off + ip.ihl;
    const l4Len = ip.totalLen - ip.ihl;
    if (ip.proto === IPV4_PROTO_ICMP) {
      this.icmp.input(slot, off, l4Off, l4Len, src, dst, nowUs);
      return;
    }
    const l4 = h.handlers[ip.proto];
    if (l4 !== null) {
      l4.input(slot, off, l4Off, l4Len, src, dst, nowUs);
      return;
    }
    c.ipv4DropNoProto++;
    // RFC 1122 §3.2.2.1 / §4.1.3.1: tell the sender nobody listens.
    this.icmp.sendUnreachable(slot, off, ip.proto === IPV4_PROTO_UDP ? ICMP_UNREACH_PORT : ICMP_UNREACH_PROTO, src, dst);
  }

  /** Writes a 20-byte header at `off` for a datagram we originate, with TOS byte `tos` (DSCP << 2 | ECN). */
  writeHeader(off: number, src: number, dst: number, proto: number, l4Len: number, tos: number): void {
    const t = this.tx;
    t.tos = tos;
    t.totalLen = IPV4_HDR_LEN + l4Len;
    t.ident = this.ident;
    this.ident = (this.ident + 1) & 0xffff;
    t.proto = proto;
    t.src = src;
    t.dst = dst;
    emitIpv4(t, this.host.pool.dv, off);
  }

  private countError(err: number): void {
    const c = this.host.counters;
    if (err === WireError.TRUNCATED) c.ipv4DropTruncated++;
    else if (err === WireError.BAD_VERSION) c.ipv4DropBadVersion++;
    else if (err === WireError.BAD_HEADER_LEN) c.ipv4DropBadHeaderLen++;
    else if (err === WireError.BAD_TOTAL_LEN) c.ipv4DropBadTotalLen++;
    else c.ipv4DropBadChecksum++;
  }
}
