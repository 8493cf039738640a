/**
 * ICMP (RFC 792). Every message shares the 8-byte header: type, code, checksum
 * and 4 type-specific bytes, read here as two 16-bit halves `ident`/`seq` so any
 * message round-trips: echo identifier and sequence number; for destination
 * unreachable "fragmentation needed" (code 4) `seq` is the next-hop MTU
 * (RFC 1191 §4) and `ident` is unused (0).
 */
import { fold, internetChecksumDv, sum16Dv } from './checksum.js';
import { WireError } from './error.js';

export const ICMP_HDR_LEN = 8;
export const ICMP_TYPE_OFF = 0;
export const ICMP_CODE_OFF = 1;
export const ICMP_CHECKSUM_OFF = 2;
export const ICMP_IDENT_OFF = 4;
export const ICMP_SEQ_OFF = 6;

export const ICMP_ECHO_REPLY = 0;
export const ICMP_DEST_UNREACH = 3;
export const ICMP_ECHO_REQUEST = 8;
export const ICMP_TIME_EXCEEDED = 11;

export const ICMP_UNREACH_NET = 0;
export const ICMP_UNREACH_HOST = 1;
export const ICMP_UNREACH_PROTO = 2;
export const ICMP_UNREACH_PORT = 3;
export const ICMP_UNREACH_FRAG_NEEDED = 4;

export interface IcmpRepr {
  type: number;
  code: number;
  checksum: number;
  ident: number;
  seq: number;
  /**
   * Absolute offset and length of what follows the header: the echo data, or
   * for destination unreachable / time exceeded the quoted original datagram
   * (its IP header and at least 8 bytes of its payload, RFC 792).
   */
  payloadOff: number;
  payloadLen: number;
}

export function newIcmpRepr(): IcmpRepr {
  return { type: 0, code: 0, checksum: 0, ident: 0, seq: 0, payloadOff: 0, payloadLen: 0 };
}

/** `len` is the whole ICMP message (IP total length minus header); the checksum covers all of it. */
export function parseIcmp(dv: DataView, off: number, len: number, out: IcmpRepr, verifyChecksum = true): number {
  if (len < ICMP_HDR_LEN) return WireError.TRUNCATED;
  if (verifyChecksum && fold(sum16Dv(dv, off, len)) !== 0xffff) return WireError.BAD_CHECKSUM;
  out.type = dv.getUint8(off + ICMP_TYPE_OFF);
  out.code = dv.getUint8(off + ICMP_CODE_OFF);
  out.checksum = dv.getUint16(off + ICMP_CHECKSUM_OFF);
  out.ident = dv.getUint16(off + ICMP_IDENT_OFF);
  out.seq = dv.getUint16(off + ICMP_SEQ_OFF);
  out.payloadOff = off + ICMP_HDR_LEN;
  out.payloadLen = len - ICMP_HDR_LEN;
  return WireError.OK;
}

/**
 * Writes the header and the checksum over header and `repr.payloadLen` bytes of
 * payload, which must already be at `off+8` (`repr.payloadOff` is not read).
 */
export function emitIcmp(repr: IcmpRepr, dv: DataView, off: number): number {
  dv.setUint8(off + ICMP_TYPE_OFF, repr.type);
  dv.setUint8(off + ICMP_CODE_OFF, repr.code);
  dv.setUint16(off + ICMP_CHECKSUM_OFF, 0);
  dv.setUint16(off + ICMP_IDENT_OFF, repr.ident);
  dv.setUint16(off + ICMP_SEQ_OFF, repr.seq);
  dv.setUint16(off + ICMP_CHECKSUM_OFF, internetChecksumDv(dv, off, ICMP_HDR_LEN + repr.payloadLen));
  return ICMP_HDR_LEN;
}

export function icmpType(dv: DataView, off: number): number {
  return dv.getUint8(off + ICMP_TYPE_OFF);
}
export function icmpCode(dv: DataView, off: number): number {
  return dv.getUint8(off + ICMP_CODE_OFF);
}
