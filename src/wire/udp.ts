/**
 * UDP header (RFC 768): source and destination port, length (header and
 * data), and the checksum over the IPv4 pseudo-header, header and data, where
 * 0 means "not computed" and a computed 0 is sent as 0xffff.
 */
import { fold, pseudoHeaderSum, sum16Dv } from './checksum.js';
import { WireError } from './error.js';
import { IPV4_PROTO_UDP } from './ipv4.js';

export const UDP_HDR_LEN = 8;
export const UDP_SRC_PORT_OFF = 0;
export const UDP_DST_PORT_OFF = 2;
export const UDP_LEN_OFF = 4;
export const UDP_CHECKSUM_OFF = 6;

export interface UdpRepr {
  srcPort: number;
  dstPort: number;
  /** The length field: header and data, 8.. the bytes at hand. */
  length: number;
  checksum: number;
  /** Absolute offset and length of the data (the length field's, not the IP datagram's). */
  payloadOff: number;
  payloadLen: number;
}

export function newUdpRepr(): UdpRepr {
  return { srcPort: 0, dstPort: 0, length: UDP_HDR_LEN, checksum: 0, payloadOff: 0, payloadLen: 0 };
}

/**
 * `len` is the IP total length minus the IP header. The length field must be
 * at least 8 and at most `len` (BAD_TOTAL_LEN); bytes past it are ignored, as
 * RFC 768 lets the length field delimit the datagram. A non-zero checksum is
 * verified over the length field's bytes when `srcIp`/`dstIp` are given.
 */
export function parseUdp(dv: DataView, off: number, len: number, out: UdpRepr, srcIp = -1, dstIp = -1): number {
  if (len < UDP_HDR_LEN) return WireError.TRUNCATED;
  const length = dv.getUint16(off + UDP_LEN_OFF);
  if (length < UDP_HDR_LEN || length > len) return WireError.BAD_TOTAL_LEN;
  const checksum = dv.getUint16(off + UDP_CHECKSUM_OFF);
  // RFC 768: an all-zero checksum means the sender computed none.
  if (checksum !== 0 && srcIp >= 0 && fold(sum16Dv(dv, off, length, pseudoHeaderSum(srcIp >>> 0, dstIp >>> 0, IPV4_PROTO_UDP, length))) !== 0xffff) {
    return WireError.BAD_CHECKSUM;
  }
  out.srcPort = dv.getUint16(off + UDP_SRC_PORT_OFF);
  out.dstPort = dv.getUint16(off + UDP_DST_PORT_OFF);
  out.length = length;
  out.checksum = checksum;
  out.payloadOff = off + UDP_HDR_LEN;
  out.payloadLen = length - UDP_HDR_LEN;
  return WireError.OK;
}

/**
 * Writes the header for `repr.payloadLen` bytes of data already at off+8 and
 * its checksum over the pseudo-header of `srcIp`/`dstIp`; returns 8.
 */
export function emitUdp(repr: UdpRepr, dv: DataView, off: number, srcIp: number, dstIp: number): number {
  const length = UDP_HDR_LEN + repr.payloadLen;
  dv.setUint16(off + UDP_SRC_PORT_OFF, repr.srcPort);
  dv.setUint16(off + UDP_DST_PORT_OFF, repr.dstPort);
  dv.setUint16(off + UDP_LEN_OFF, length);
  dv.setUint16(off + UDP_CHECKSUM_OFF, 0);
  const c = ~fold(sum16Dv(dv, off, length, pseudoHeaderSum(srcIp >>> 0, dstIp >>> 0, IPV4_PROTO_UDP, length))) & 0xffff;
  // RFC 768: a computed zero is transmitted as all ones.
  dv.setUint16(off + UDP_CHECKSUM_OFF, c === 0 ? 0xffff : c);
  return UDP_HDR_LEN;
}

export function udpSrcPort(dv: DataView, off: number): number {
  return dv.getUint16(off + UDP_SRC_PORT_OFF);
}
export function udpDstPort(dv: DataView, off: number): number {
  return dv.getUint16(off + UDP_DST_PORT_OFF);
}
