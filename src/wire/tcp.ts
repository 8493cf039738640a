/**
 * TCP header (RFC 9293 §3.1). Options are parsed by tcp_options.ts; the
 * checksum, which needs the IP addresses, by `tcpChecksumOk`/`tcpFinishChecksum`.
 */
import { fold, pseudoHeaderSum, sum16Dv } from './checksum.js';
import { WireError } from './error.js';
import { IPV4_PROTO_TCP } from './ipv4.js';

export const TCP_HDR_LEN = 20;
export const TCP_MAX_HDR_LEN = 60;
export const TCP_SRC_PORT_OFF = 0;
export const TCP_DST_PORT_OFF = 2;
export const TCP_SEQ_OFF = 4;
export const TCP_ACK_OFF = 8;
/** Data offset (high nibble) and the AE bit (bit 0) of the 12 flag bits. */
export const TCP_DATA_OFF_OFF = 12;
export const TCP_FLAGS_OFF = 13;
export const TCP_WINDOW_OFF = 14;
export const TCP_CHECKSUM_OFF = 16;
export const TCP_URGENT_OFF = 18;

export const TCP_FIN = 1;
export const TCP_SYN = 2;
export const TCP_RST = 4;
export const TCP_PSH = 8;
export const TCP_ACK = 16;
export const TCP_URG = 32;
export const TCP_ECE = 64;
export const TCP_CWR = 128;
/** Accurate-ECN bit, formerly NS (RFC 9768, RFC 3540); the low bit of byte 12. */
export const TCP_AE = 256;
/** All 12 flag bits: reserved bits survive a parse/emit round trip. */
export const TCP_FLAGS_MASK = 0x0fff;

export interface TcpRepr {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  /** Header length in bytes (data offset * 4), 20..60. */
  dataOff: number;
  /** TCP_FIN..TCP_CWR, TCP_AE, and reserved bits above it. */
  flags: number;
  window: number;
  checksum: number;
  urgent: number;
  /** Absolute offset and length of the options (dataOff - 20 bytes). */
  optOff: number;
  optLen: number;
  /** Absolute offset and length of the payload. */
  payloadOff: number;
  payloadLen: number;
}

export function newTcpRepr(): TcpRepr {
  return {
    srcPort: 0,
    dstPort: 0,
    seq: 0,
    ack: 0,
    dataOff: TCP_HDR_LEN,
    flags: 0,
    window: 0,
    checksum: 0,
    urgent: 0,
    optOff: 0,
    optLen: 0,
    payloadOff: 0,
    payloadLen: 0,
  };
}

/**
 * `len` is the segment length (IP total length minus IP header). Checks the
 * data offset (20 <= dataOff <= len); options and checksum are checked apart.
 */
export function parseTcp(dv: DataView, off: number, len: number, out: TcpRepr): number {
  if (len < TCP_HDR_LEN) return WireError.TRUNCATED;
  const w3 = dv.getUint32(off + TCP_DATA_OFF_OFF);
  const dataOff = (w3 >>> 26) & 0x3c;
  if (dataOff < TCP_HDR_LEN || dataOff > len) return WireError.BAD_HEADER_LEN;
  const ports = dv.getUint32(off);
  const w4 = dv.getUint32(off + TCP_CHECKSUM_OFF);
  out.srcPort = ports >>> 16;
  out.dstPort = ports & 0xffff;
  out.seq = dv.getUint32(off + TCP_SEQ_OFF);
  out.ack = dv.getUint32(off + TCP_ACK_OFF);
  out.dataOff = dataOff;
  out.flags = (w3 >>> 16) & TCP_FLAGS_MASK;
  out.window = w3 & 0xffff;
  out.checksum = w4 >>> 16;
  out.urgent = w4 & 0xffff;
  out.optOff = off + TCP_HDR_LEN;
  out.optLen = dataOff - TCP_HDR_LEN;
  out.payloadOff = off + dataOff;
  out.payloadLen = len - dataOff;
  return WireError.OK;
}

/**
 * Writes the fixed 20 bytes with `repr.dataOff` in the offset field and a zero
 * checksum; returns 20. Options (emitTcpOptions at off+20) and payload follow,
 * then tcpFinishChecksum. Offsets and lengths in `repr` are not read.
 */
export function emitTcp(repr: TcpRepr, dv: DataView, off: number): number {
  dv.setUint32(off, (((repr.srcPort & 0xffff) << 16) | (repr.dstPort & 0xffff)) >>> 0);
  dv.setUint32(off + TCP_SEQ_OFF, repr.seq);
  dv.setUint32(off + TCP_ACK_OFF, repr.ack);
  dv.setUint32(
    off + TCP_DATA_OFF_OFF,
    ((((repr.dataOff >>> 2) & 0x0f) << 28) | ((repr.flags & TCP_FLAGS_MASK) << 16) | (repr.window & 0xffff)) >>> 0,
  );
  dv.setUint32(off + TCP_CHECKSUM_OFF, repr.urgent & 0xffff);
  return TCP_HDR_LEN;
}

/** Verifies the checksum of the `len`-byte segment at `off` (RFC 9293 §3.1, IPv4 pseudo-header). */
export function tcpChecksumOk(dv: DataView, off: number, len: number, srcIp: number, dstIp: number): boolean {
  return fold(sum16Dv(dv, off, len, pseudoHeaderSum(srcIp, dstIp, IPV4_PROTO_TCP, len))) === 0xffff;
}

/** Computes and stores the checksum of the `len`-byte segment at `off`; returns it. */
export function tcpFinishChecksum(dv: DataView, off: number, len: number, srcIp: number, dstIp: number): number {
  dv.setUint16(off + TCP_CHECKSUM_OFF, 0);
  const c = ~fold(sum16Dv(dv, off, len, pseudoHeaderSum(srcIp, dstIp, IPV4_PROTO_TCP, len))) & 0xffff;
  dv.setUint16(off + TCP_CHECKSUM_OFF, c);
  return c;
}

export function tcpSrcPort(dv: DataView, off: number): number {
  return dv.getUint16(off + TCP_SRC_PORT_OFF);
}
export function tcpDstPort(dv: DataView, off: number): number {
  return dv.getUint16(off + TCP_DST_PORT_OFF);
}
export function tcpSeq(dv: DataView, off: number): number {
  return dv.getUint32(off + TCP_SEQ_OFF);
}
export function tcpAck(dv: DataView, off: number): number {
  return dv.getUint32(off + TCP_ACK_OFF);
}
export function tcpDataOff(dv: DataView, off: number): number {
  return (dv.getUint8(off + TCP_DATA_OFF_OFF) >>> 4) << 2;
}
export function tcpFlags(dv: DataView, off: number): number {
  return dv.getUint16(off + TCP_DATA_OFF_OFF) & TCP_FLAGS_MASK;
}
export function tcpWindow(dv: DataView, off: number): number {
  return dv.getUint16(off + TCP_WINDOW_OFF);
}
