/**
 * Ethernet II header (IEEE 802.3 §3.1.1 with DIX ethertypes), optionally with
 * one 802.1Q tag. Frames here carry no FCS: NICs and the kernel strip it.
 */
import { WireError } from './error.js';
import { readMac, writeMac } from './mac.js';
import { makeTci, tciDei, tciPcp, tciVid, VLAN_HDR_LEN } from './vlan.js';

export const ETH_HDR_LEN = 14;
export const ETH_VLAN_HDR_LEN = ETH_HDR_LEN + VLAN_HDR_LEN;
export const ETH_DST_OFF = 0;
export const ETH_SRC_OFF = 6;
export const ETH_TYPE_OFF = 12;
/** Minimum frame without FCS; shorter frames are padded by the sender. */
export const ETH_MIN_FRAME_LEN = 60;

export const ETH_TYPE_IPV4 = 0x0800;
export const ETH_TYPE_ARP = 0x0806;
export const ETH_TYPE_VLAN = 0x8100;
export const ETH_TYPE_QINQ = 0x88a8;
export const ETH_TYPE_IPV6 = 0x86dd;
/** Values below this are 802.3 length fields, not ethertypes. */
export const ETH_TYPE_MIN = 0x0600;

export interface EthernetRepr {
  dst: number;
  src: number;
  /** Ethertype of the payload (inside the tag when tagged). */
  ethertype: number;
  /** 802.1Q VID, or -1 when untagged. */
  vlanId: number;
  vlanPcp: number;
  vlanDei: number;
  /** 14, or 18 with a tag: where the payload starts. */
  hdrLen: number;
}

export function newEthernetRepr(): EthernetRepr {
  return { dst: 0, src: 0, ethertype: 0, vlanId: -1, vlanPcp: 0, vlanDei: 0, hdrLen: ETH_HDR_LEN };
}

/**
 * Checks and reads the header. 802.3 length-field frames and a second stacked
 * tag are UNSUPPORTED; the stack speaks Ethernet II with at most one tag.
 */
export function parseEthernet(dv: DataView, off: number, len: number, out: EthernetRepr): number {
  if (len < ETH_HDR_LEN) return WireError.TRUNCATED;
  let type = dv.getUint16(off + ETH_TYPE_OFF);
  let hdrLen = ETH_HDR_LEN;
  let vid = -1;
  let pcp = 0;
  let dei = 0;
  if (type === ETH_TYPE_VLAN) {
    if (len < ETH_VLAN_HDR_LEN) return WireError.TRUNCATED;
    const tci = dv.getUint16(off + ETH_HDR_LEN);
    vid = tciVid(tci);
    pcp = tciPcp(tci);
    dei = tciDei(tci);
    type = dv.getUint16(off + ETH_HDR_LEN + 2);
    hdrLen = ETH_VLAN_HDR_LEN;
    if (type === ETH_TYPE_VLAN || type === ETH_TYPE_QINQ) return WireError.UNSUPPORTED;
  }
  if (type < ETH_TYPE_MIN) return WireError.UNSUPPORTED;
  out.dst = readMac(dv, off + ETH_DST_OFF);
  out.src = readMac(dv, off + ETH_SRC_OFF);
  out.ethertype = type;
  out.vlanId = vid;
  out.vlanPcp = pcp;
  out.vlanDei = dei;
  out.hdrLen = hdrLen;
  return WireError.OK;
}

/** Writes the header (with a tag when `vlanId >= 0`); returns 14 or 18. */
export function emitEthernet(repr: EthernetRepr, dv: DataView, off: number): number {
  writeMac(dv, off + ETH_DST_OFF, repr.dst);
  writeMac(dv, off + ETH_SRC_OFF, repr.src);
  if (repr.vlanId < 0) {
    dv.setUint16(off + ETH_TYPE_OFF, repr.ethertype);
    return ETH_HDR_LEN;
  }
  dv.setUint16(off + ETH_TYPE_OFF, ETH_TYPE_VLAN);
  dv.setUint16(off + ETH_HDR_LEN, makeTci(repr.vlanPcp, repr.vlanDei, repr.vlanId));
  dv.setUint16(off + ETH_HDR_LEN + 2, repr.ethertype);
  return ETH_VLAN_HDR_LEN;
}

export function ethDst(dv: DataView, off: number): number {
  return readMac(dv, off + ETH_DST_OFF);
}
export function ethSrc(dv: DataView, off: number): number {
  return readMac(dv, off + ETH_SRC_OFF);
}
/** The ethertype field as on the wire (0x8100 for a tagged frame). */
export function ethType(dv: DataView, off: number): number {
  return dv.getUint16(off + ETH_TYPE_OFF);
}
