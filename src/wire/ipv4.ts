/** IPv4 header (RFC 791 §3.1). Options are carried, not interpreted. */
import { fold, sum16Dv } from './checksum.js';
import { WireError } from './error.js';

export const IPV4_HDR_LEN = 20;
export const IPV4_MAX_HDR_LEN = 60;
export const IPV4_VER_IHL_OFF = 0;
export const IPV4_TOS_OFF = 1;
export const IPV4_TOTAL_LEN_OFF = 2;
export const IPV4_IDENT_OFF = 4;
export const IPV4_FLAGS_FRAG_OFF = 6;
export const IPV4_TTL_OFF = 8;
export const IPV4_PROTO_OFF = 9;
export const IPV4_CHECKSUM_OFF = 10;
export const IPV4_SRC_OFF = 12;
export const IPV4_DST_OFF = 16;

export const IPV4_FLAG_DF = 0x4000;
export const IPV4_FLAG_MF = 0x2000;
export const IPV4_FRAG_MASK = 0x1fff;

export const IPV4_PROTO_ICMP = 1;
export const IPV4_PROTO_TCP = 6;
export const IPV4_PROTO_UDP = 17;

export interface Ipv4Repr {
  version: number;
  /** Header length in bytes (IHL * 4), 20..60. */
  ihl: number;
  tos: number;
  totalLen: number;
  ident: number;
  df: boolean;
  mf: boolean;
  /** Fragment offset in bytes (a multiple of 8). */
  fragOff: number;
  ttl: number;
  proto: number;
  checksum: number;
  src: number;
  dst: number;
}

export function newIpv4Repr(): Ipv4Repr {
  return {
    version: 4,
    ihl: IPV4_HDR_LEN,
    tos: 0,
    totalLen: 0,
    ident: 0,
    df: false,
    mf: false,
    fragOff: 0,
    ttl: 0,
    proto: 0,
    checksum: 0,
    src: 0,
    dst: 0,
  };
}

/** Adds the option words to the fixed header's sum and checks it (RFC 791 §3.1). Apart so parseIpv4 stays small enough to inline. */
function headerSumOk(dv: DataView, off: number, ihl: number, acc: number): boolean {
  if (ihl > IPV4_HDR_LEN) acc = sum16Dv(dv, off + IPV4_HDR_LEN, ihl - IPV4_HDR_LEN, acc);
  return fold(acc) === 0xffff;
}

/**
 * Checks version, header length (20 <= IHL*4 <= len), total length
 * (IHL*4 <= totalLen <= len; bytes beyond totalLen are link padding) and, unless
 * `verifyChecksum` is false (the driver validated it), the header checksum.
 */
export function parseIpv4(dv: DataView, off: number, len: number, out: Ipv4Repr, verifyChecksum = true): number {
  if (len < IPV4_HDR_LEN) return WireError.TRUNCATED;
  // Five 32-bit reads give every field and, summed, the fixed header's checksum.
  const w0 = dv.getUint32(off);
  if (w0 >>> 28 !== 4) return WireError.BAD_VERSION;
  const ihl = (w0 >>> 22) & 0x3c;
  if (ihl < IPV4_HDR_LEN || ihl > len) return WireError.BAD_HEADER_LEN;
  const totalLen = w0 & 0xffff;
  if (totalLen < ihl || totalLen > len) return WireError.BAD_TOTAL_LEN;
  const w1 = dv.getUint32(off + IPV4_IDENT_OFF);
  const w2 = dv.getUint32(off + IPV4_TTL_OFF);
  const src = dv.getUint32(off + IPV4_SRC_OFF);
  const dst = dv.getUint32(off + IPV4_DST_OFF);
  if (verifyChecksum && !headerSumOk(dv, off, ihl, w0 + w1 + w2 + src + dst)) return WireError.BAD_CHECKSUM;
  out.version = 4;
  out.ihl = ihl;
  out.tos = (w0 >>> 16) & 0xff;
  out.totalLen = totalLen;
  out.ident = w1 >>> 16;
  out.df = (w1 & IPV4_FLAG_DF) !== 0;
  out.mf = (w1 & IPV4_FLAG_MF) !== 0;
  out.fragOff = (w1 & IPV4_FRAG_MASK) << 3;
  out.ttl = w2 >>> 24;
  out.proto = (w2 >>> 16) & 0xff;
  out.checksum = w2 & 0xffff;
  out.src = src;
  out.dst = dst;
  return WireError.OK;
}

/**
 * Writes the header and its checksum; returns `repr.ihl`. With IHL > 20 the
 * option bytes at `off+20` are the caller's and must be in place first: the
 * checksum covers them. `repr.version` and `repr.checksum` are not read.
 */
export function emitIpv4(repr: Ipv4Repr, dv: DataView, off: number): number {
  const ihl = repr.ihl;
  // The header as five words, written once and summed for the checksum without reading back.
  const w0 = (((0x40 | ((ihl >>> 2) & 0x0f)) << 24) | ((repr.tos & 0xff) << 16) | (repr.totalLen & 0xffff)) >>> 0;
  const w1 =
    (((repr.ident & 0xffff) << 16) |
      (repr.df ? IPV4_FLAG_DF : 0) |
      (repr.mf ? IPV4_FLAG_MF : 0) |
      ((repr.fragOff >>> 3) & IPV4_FRAG_MASK)) >>>
    0;
  const w2 = (((repr.ttl & 0xff) << 24) | ((repr.proto & 0xff) << 16)) >>> 0;
  const src = repr.src >>> 0;
  const dst = repr.dst >>> 0;
  dv.setUint32(off, w0);
  dv.setUint32(off + IPV4_IDENT_OFF, w1);
  dv.setUint32(off + IPV4_SRC_OFF, src);
  dv.setUint32(off + IPV4_DST_OFF, dst);
  let acc = w0 + w1 + w2 + src + dst;
  if (ihl > IPV4_HDR_LEN) acc = sum16Dv(dv, off + IPV4_HDR_LEN, ihl - IPV4_HDR_LEN, acc);
  dv.setUint32(off + IPV4_TTL_OFF, w2 | (~fold(acc) & 0xffff));
  return ihl;
}

export function ipv4Ihl(dv: DataView, off: number): number {
  return (dv.getUint8(off + IPV4_VER_IHL_OFF) & 0x0f) << 2;
}
export function ipv4TotalLen(dv: DataView, off: number): number {
  return dv.getUint16(off + IPV4_TOTAL_LEN_OFF);
}
export function ipv4Proto(dv: DataView, off: number): number {
  return dv.getUint8(off + IPV4_PROTO_OFF);
}
export function ipv4Src(dv: DataView, off: number): number {
  return dv.getUint32(off + IPV4_SRC_OFF);
}
export function ipv4Dst(dv: DataView, off: number): number {
  return dv.getUint32(off + IPV4_DST_OFF);
}
export function ipv4Ttl(dv: DataView, off: number): number {
  return dv.getUint8(off + IPV4_TTL_OFF);
}
/** True when MF is set or the fragment offset is non-zero. */
export function ipv4IsFragment(dv: DataView, off: number): boolean {
  return (dv.getUint16(off + IPV4_FLAGS_FRAG_OFF) & (IPV4_FLAG_MF | IPV4_FRAG_MASK)) !== 0;
}
