/**
 * IEEE 802.1Q tag. In a frame the tag is TPID 0x8100 (where the ethertype would
 * be) followed by these 4 bytes: the TCI (PCP 3 bits, DEI 1 bit, VID 12 bits)
 * and the encapsulated ethertype. This codec reads those 4 bytes, as
 * Wireshark's `vlan` layer does; `parseEthernet` uses the TCI helpers to handle
 * one tag inline.
 */
import { WireError } from './error.js';

export const VLAN_HDR_LEN = 4;
export const VLAN_TCI_OFF = 0;
export const VLAN_TYPE_OFF = 2;

export const VLAN_PCP_SHIFT = 13;
export const VLAN_DEI_BIT = 0x1000;
export const VLAN_VID_MASK = 0x0fff;
/** Largest VID; 0xfff itself is reserved by 802.1Q but carried as is. */
export const VLAN_VID_MAX = 0x0fff;

export interface VlanRepr {
  pcp: number;
  /** Drop-eligible indicator, 0 or 1. */
  dei: number;
  vid: number;
  /** Ethertype of what the tag encapsulates. */
  ethertype: number;
}

export function newVlanRepr(): VlanRepr {
  return { pcp: 0, dei: 0, vid: 0, ethertype: 0 };
}

export function tciPcp(tci: number): number {
  return tci >>> VLAN_PCP_SHIFT;
}
export function tciDei(tci: number): number {
  return (tci >>> 12) & 1;
}
export function tciVid(tci: number): number {
  return tci & VLAN_VID_MASK;
}
/** Packs a TCI; out-of-range fields are masked to their widths. */
export function makeTci(pcp: number, dei: number, vid: number): number {
  return ((pcp & 7) << VLAN_PCP_SHIFT) | ((dei & 1) << 12) | (vid & VLAN_VID_MASK);
}

export function parseVlan(dv: DataView, off: number, len: number, out: VlanRepr): number {
  if (len < VLAN_HDR_LEN) return WireError.TRUNCATED;
  const tci = dv.getUint16(off + VLAN_TCI_OFF);
  out.pcp = tciPcp(tci);
  out.dei = tciDei(tci);
  out.vid = tciVid(tci);
  out.ethertype = dv.getUint16(off + VLAN_TYPE_OFF);
  return WireError.OK;
}

export function emitVlan(repr: VlanRepr, dv: DataView, off: number): number {
  dv.setUint16(off + VLAN_TCI_OFF, makeTci(repr.pcp, repr.dei, repr.vid));
  dv.setUint16(off + VLAN_TYPE_OFF, repr.ethertype);
  return VLAN_HDR_LEN;
}

export function vlanVid(dv: DataView, off: number): number {
  return dv.getUint16(off + VLAN_TCI_OFF) & VLAN_VID_MASK;
}
export function vlanType(dv: DataView, off: number): number {
  return dv.getUint16(off + VLAN_TYPE_OFF);
}
