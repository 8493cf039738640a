/**
 * ICMP (RFC 792) for owned addresses: echo replies in place, destination
 * unreachable sent for datagrams no protocol takes (rate-limited, RFC 1812
 * §4.3.2.8) and received ones handed to the transport that sent the quoted
 * datagram; echo requests sent for a prober (sendEcho) and their replies
 * handed to it (RFC 792 echo: identifier and sequence number match them).
 */
import { checksumUpdate16, internetChecksumDv } from '../wire/checksum.js';
import {
  emitIcmp,
  ICMP_DEST_UNREACH,
  ICMP_ECHO_REPLY,
  ICMP_ECHO_REQUEST,
  ICMP_HDR_LEN,
  newIcmpRepr,
  parseIcmp,
} from '../wire/icmp.js';
import {
  IPV4_CHECKSUM_OFF,
  IPV4_DST_OFF,
  IPV4_HDR_LEN,
  IPV4_PROTO_ICMP,
  IPV4_PROTO_OFF,
  IPV4_SRC_OFF,
  IPV4_TTL_OFF,
  ipv4Ihl,
} from '../wire/ipv4.js';
import { readMac, writeMac } from '../wire/mac.js';
import { ETH_DST_OFF, ETH_SRC_OFF } from '../wire/ethernet.js';
import { WireError } from '../wire/error.js';
import type { BufferPool } from '../core/buffer_pool.js';
import type { NetCounters } from './counters.js';
import type { L4Handler } from './l4.js';
import { DEFAULT_TTL, L4_OFF } from './layout.js';

/** What ICMP needs from the stack it serves. */
export interface IcmpHost {
  readonly pool: BufferPool;
  readonly mac: number;
  readonly counters: NetCounters;
  /** Registered transports by IP protocol number (null = none). */
  readonly handlers: (L4Handler | null)[];
  ownsAddress(ip: number): boolean;
  transmit(slot: number): void;
  outputIpv4(slot: number, srcIp: number, dstIp: number, proto: number, l4Len: number, tos?: number): void;
}

/** Who gets the echo replies addressed to us (the ICMP probe of a client run). */
export interface EchoReplyHandler {
  /** `u8[off, off+len)` is the echo data, valid only during the call. */
  onEchoReply(ident: number, seq: number, u8: Uint8Array, off: number, len: number, srcIp: number, nowUs: number): void;
}

/** Bytes of the offending datagram quoted in an error: its header and 8 bytes of payload (RFC 792). */
const QUOTE_PAYLOAD = 8;

export class Icmp {
  private readonly icmp = newIcmpRepr();
  private tokens: number;
  private lastRefillUs = -1;
  echoHandler: EchoReplyHandler | null = null;

  constructor(
    private readonly host: IcmpHost,
    /** ICMP errors sent per second at most (token bucket, burst = one second's worth / 10). */
    private readonly errorsPerSec = 1000,
  ) {
    this.tokens = this.burst();
  }

  /**
   * An ICMP message for an owned address; `l3Off`/`l4Off` are absolute, `l4Len`
   * excludes link padding. Takes ownership of `slot`.
   */
  input(slot: number, l3Off: number, l4Off: number, l4Len: number, srcIp: number, dstIp: number, nowUs: number): void {
    const h = this.host;
    const c = h.counters;
    const m = this.icmp;
    const err = parseIcmp(h.pool.dv, l4Off, l4Len, m);
    if (err !== WireError.OK) {
      if (err === WireError.TRUNCATED) c.icmpDropTruncated++;
      else if (err === WireError.BAD_CHECKSUM) c.icmpDropBadChecksum++;
      else c.icmpDropMalformed++;
      h.pool.free(slot);
      return;
    }
    if (m.type === ICMP_ECHO_REQUEST) {
      c.icmpRxEchoRequests++;
      this.echoReply(slot, l3Off, l4Off, l4Len, srcIp, dstIp, m.code);
      return;
    }
    if (m.type === ICMP_DEST_UNREACH) {
      c.icmpRxUnreach++;
      this.unreachableReceived(m.code, m.payloadOff, m.payloadLen);
    } else if (m.type === ICMP_ECHO_REPLY) {
      c.icmpRxEchoReplies++;
      this.echoHandler?.onEchoReply(m.ident, m.seq, h.pool.u8, m.payloadOff, m.payloadLen, srcIp, nowUs);
    } else {
      c.icmpRxOther++;
    }
    h.pool.free(slot);
  }

  /**
   * Sends destination unreachable `code` about the datagram at `l3Off` in
   * `slot` (RFC 1122 §3.2.2.1: protocol/port unreachable), then frees `slot`.
   */
  sendUnreachable(slot: number, l3Off: number, code: number, srcIp: number, dstIp: number): void {
    const h = this.host;
    const pool = h.pool;
    if (!this.mayReport(srcIp)) {
      pool.free(slot);
      return;
    }
    if (this.tokens < 1) {
      h.counters.icmpRateLimited++;
      pool.free(slot);
      return;
    }
    const out = pool.alloc();
    if (out < 0) {
      h.counters.noBufs++;
      pool.free(slot);
      return;
    }
    this.tokens--;
    const dv = pool.dv;
    const ihl = ipv4Ihl(dv, l3Off);
    const avail = pool.base(slot) + pool.dataLen[slot] - l3Off;
    const quote = Math.min(ihl + QUOTE_PAYLOAD, avail);
    const l4 = pool.base(out) + L4_OFF;
    pool.u8.copyWithin(l4 + ICMP_HDR_LEN, l3Off, l3Off + quote);
    pool.free(slot);
    const m = this.icmp;
    m.type = ICMP_DEST_UNREACH;
    m.code = code;
    m.ident = 0;
    m.seq = 0;
    m.payloadLen = quote;
    emitIcmp(m, dv, l4);
    h.counters.icmpTxUnreach++;
    h.outputIpv4(out, dstIp, srcIp, IPV4_PROTO_ICMP, ICMP_HDR_LEN + quote);
  }

  /**
   * Sends an echo request (RFC 792) whose `len` bytes of data are already at
   * the slot's L4 offset + 8, with IPv4 TOS byte `tos`; takes ownership of `slot`.
   */
  sendEcho(slot: number, srcIp: number, dstIp: number, ident: number, seq: number, len: number, tos = 0): void {
    const m = this.icmp;
    m.type = ICMP_ECHO_REQUEST;
    m.code = 0;
    m.ident = ident;
    m.seq = seq;
    m.payloadLen = len;
    emitIcmp(m, this.host.pool.dv, this.host.pool.base(slot) + L4_OFF);
    this.host.counters.icmpTxEchoRequests++;
    this.host.outputIpv4(slot, srcIp, dstIp, IPV4_PROTO_ICMP, ICMP_HDR_LEN + len, tos);
  }

  /** Refills the error token bucket. */
  tick(nowUs: number): void {
    if (this.lastRefillUs < 0) this.lastRefillUs = nowUs;
    const dt = nowUs - this.lastRefillUs;
    if (dt < 1000) return;
    this.lastRefillUs = nowUs;
    this.tokens = Math.min(this.burst(), this.tokens + (dt * this.errorsPerSec) / 1e6);
  }

  private burst(): number {
    return Math.max(1, this.errorsPerSec / 10);
  }

  /** RFC 792 echo: the same message back with type 0, built in the request's slot. */
  private echoReply(slot: number, l3Off: number, l4Off: number, l4Len: number, srcIp: number, dstIp: number, code: number): void {
    const h = this.host;
    const pool = h.pool;
    const dv = pool.dv;
    const base = pool.base(slot);
    writeMac(dv, base + ETH_DST_OFF, readMac(dv, base + ETH_SRC_OFF));
    writeMac(dv, base + ETH_SRC_OFF, h.mac);
    const ihl = l4Off - l3Off;
    dv.setUint32(l3Off + IPV4_SRC_OFF, dstIp);
    dv.setUint32(l3Off + IPV4_DST_OFF, srcIp);
    dv.setUint8(l3Off + IPV4_TTL_OFF, DEFAULT_TTL);
    dv.setUint16(l3Off + IPV4_CHECKSUM_OFF, 0);
    dv.setUint16(l3Off + IPV4_CHECKSUM_OFF, internetChecksumDv(dv, l3Off, ihl));
    // Only the type changes: RFC 1624 incremental update of the ICMP checksum.
    dv.setUint8(l4Off, ICMP_ECHO_REPLY);
    const csum = dv.getUint16(l4Off + 2);
    dv.setUint16(l4Off + 2, checksumUpdate16(csum, (ICMP_ECHO_REQUEST << 8) | code, (ICMP_ECHO_REPLY << 8) | code));
    pool.dataLen[slot] = l4Off + l4Len - base;
    h.counters.icmpTxEchoReplies++;
    h.transmit(slot);
  }

  /** A received unreachable: tell the transport whose datagram is quoted (RFC 1122 §4.2.3.9 for TCP). */
  private unreachableReceived(code: number, qOff: number, qLen: number): void {
    const h = this.host;
    const dv = h.pool.dv;
    if (qLen < IPV4_HDR_LEN) {
      h.counters.icmpDropMalformed++;
      return;
    }
    const ihl = ipv4Ihl(dv, qOff);
    if (ihl < IPV4_HDR_LEN || ihl + 4 > qLen) {
      h.counters.icmpDropMalformed++;
      return;
    }
    const src = dv.getUint32(qOff + IPV4_SRC_OFF);
    if (!h.ownsAddress(src)) return;
    const proto = dv.getUint8(qOff + IPV4_PROTO_OFF);
    const l4 = h.handlers[proto];
    if (l4 === null) return;
    l4.icmpError(
      (ICMP_DEST_UNREACH << 8) | code,
      src,
      dv.getUint32(qOff + IPV4_DST_OFF),
      proto,
      dv.getUint16(qOff + ihl),
      dv.getUint16(qOff + ihl + 2),
    );
  }

  /** RFC 1122 §3.2.2: no error to a non-unicast source (ICMP itself never gets here). */
  private mayReport(srcIp: number): boolean {
    return srcIp !== 0 && srcIp !== 0xffffffff && srcIp >>> 28 !== 0xe;
  }
}
