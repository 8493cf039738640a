/** ARP (RFC 826) for Ethernet hardware and IPv4 protocol addresses only. */
import { WireError } from './error.js';
import { readMac, writeMac } from './mac.js';

export const ARP_HDR_LEN = 28;
export const ARP_HTYPE_OFF = 0;
export const ARP_PTYPE_OFF = 2;
export const ARP_HLEN_OFF = 4;
export const ARP_PLEN_OFF = 5;
export const ARP_OP_OFF = 6;
export const ARP_SHA_OFF = 8;
export const ARP_SPA_OFF = 14;
export const ARP_THA_OFF = 18;
export const ARP_TPA_OFF = 24;

export const ARP_HTYPE_ETHERNET = 1;
export const ARP_PTYPE_IPV4 = 0x0800;
export const ARP_OP_REQUEST = 1;
export const ARP_OP_REPLY = 2;

export interface ArpRepr {
  op: number;
  sha: number;
  spa: number;
  tha: number;
  tpa: number;
}

export function newArpRepr(): ArpRepr {
  return { op: 0, sha: 0, spa: 0, tha: 0, tpa: 0 };
}

/**
 * Other hardware/protocol pairs are UNSUPPORTED; Ethernet/IPv4 with address
 * lengths other than 6/4 is malformed (BAD_HEADER_LEN); opcodes other than
 * request/reply (RARP, InARP) are BAD_TYPE.
 */
export function parseArp(dv: DataView, off: number, len: number, out: ArpRepr): number {
  if (len < ARP_HDR_LEN) return WireError.TRUNCATED;
  if (dv.getUint16(off + ARP_HTYPE_OFF) !== ARP_HTYPE_ETHERNET || dv.getUint16(off + ARP_PTYPE_OFF) !== ARP_PTYPE_IPV4) {
    return WireError.UNSUPPORTED;
  }
  if (dv.getUint8(off + ARP_HLEN_OFF) !== 6 || dv.getUint8(off + ARP_PLEN_OFF) !== 4) return WireError.BAD_HEADER_LEN;
  const op = dv.getUint16(off + ARP_OP_OFF);
  if (op !== ARP_OP_REQUEST && op !== ARP_OP_REPLY) return WireError.BAD_TYPE;
  out.op = op;
  out.sha = readMac(dv, off + ARP_SHA_OFF);
  out.spa = dv.getUint32(off + ARP_SPA_OFF);
  out.tha = readMac(dv, off + ARP_THA_OFF);
  out.tpa = dv.getUint32(off + ARP_TPA_OFF);
  return WireError.OK;
}

export function emitArp(repr: ArpRepr, dv: DataView, off: number): number {
  dv.setUint16(off + ARP_HTYPE_OFF, ARP_HTYPE_ETHERNET);
  dv.setUint16(off + ARP_PTYPE_OFF, ARP_PTYPE_IPV4);
  dv.setUint8(off + ARP_HLEN_OFF, 6);
  dv.setUint8(off + ARP_PLEN_OFF, 4);
  dv.setUint16(off + ARP_OP_OFF, repr.op);
  writeMac(dv, off + ARP_SHA_OFF, repr.sha);
  dv.setUint32(off + ARP_SPA_OFF, repr.spa);
  writeMac(dv, off + ARP_THA_OFF, repr.tha);
  dv.setUint32(off + ARP_TPA_OFF, repr.tpa);
  return ARP_HDR_LEN;
}

export function arpOp(dv: DataView, off: number): number {
  return dv.getUint16(off + ARP_OP_OFF);
}
export function arpSpa(dv: DataView, off: number): number {
  return dv.getUint32(off + ARP_SPA_OFF);
}
export function arpTpa(dv: DataView, off: number): number {
  return dv.getUint32(off + ARP_TPA_OFF);
}
