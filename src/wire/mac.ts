/**
 * MAC addresses as 48-bit numbers (exact in a double), so the hot path compares
 * and stores them without objects: 02:00:00:00:00:01 is 0x020000000001.
 */
export const BROADCAST_MAC = 0xffffffffffff;
export const MAC_LEN = 6;

const TWO32 = 0x100000000;

export function readMac(dv: DataView, off: number): number {
  return dv.getUint16(off) * TWO32 + dv.getUint32(off + 2);
}

export function writeMac(dv: DataView, off: number, mac: number): void {
  dv.setUint16(off, Math.floor(mac / TWO32));
  dv.setUint32(off + 2, mac >>> 0);
}

/** The MAC in 6 bytes (as ports report their own address) as a number. */
export function macFromBytes(b: Uint8Array, off = 0): number {
  return ((b[off] << 8) | b[off + 1]) * TWO32 + (((b[off + 2] << 24) | (b[off + 3] << 16) | (b[off + 4] << 8) | b[off + 5]) >>> 0);
}

/** Multicast and broadcast addresses have the I/G bit (lowest bit of the first byte) set. */
export function isMulticastMac(mac: number): boolean {
  return (Math.floor(mac / 0x10000000000) & 1) === 1;
}

export function macToString(mac: number): string {
  let s = '';
  for (let shift = 40; shift >= 0; shift -= 8) {
    const b = Math.floor(mac / 2 ** shift) & 0xff;
    s += (shift === 40 ? '' : ':') + (b < 16 ? '0' : '') + b.toString(16);
  }
  return s;
}

const MAC_RE = /^([0-9a-f]{2})([:-])([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})$/i;

/** Parses `aa:bb:cc:dd:ee:ff` (or with `-`); -1 if the text is not a MAC. */
export function parseMac(str: string): number {
  const m = MAC_RE.exec(str.trim());
  if (m === null) return -1;
  let mac = 0;
  for (const i of [1, 3, 4, 5, 6, 7]) mac = mac * 256 + parseInt(m[i], 16);
  return mac;
}
