/** IPv4 addresses as unsigned 32-bit numbers (198.18.0.1 is 0xc6120001); text only at the edges. */

export function ipToString(ip: number): string {
  return `${ip >>> 24}.${(ip >>> 16) & 0xff}.${(ip >>> 8) & 0xff}.${ip & 0xff}`;
}

const OCTET = '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
const IP_RE = new RegExp(`^${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET}$`);

/** Parses a dotted quad (no leading zeros, which some tools read as octal); -1 if invalid. */
export function parseIp(str: string): number {
  const m = IP_RE.exec(str.trim());
  if (m === null) return -1;
  return ((+m[1] << 24) | (+m[2] << 16) | (+m[3] << 8) | +m[4]) >>> 0;
}

/** Netmask of a prefix length 0..32 as a u32. */
export function prefixMask(bits: number): number {
  return bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
}

/** An inclusive range of addresses. */
export interface IpRange {
  first: number;
  last: number;
}

/**
 * Parses `a` (one address), `a-b` (inclusive, a <= b) or `a/n` (the whole block
 * of prefix n, network and broadcast addresses included). null if invalid.
 */
export function parseIpRange(str: string): IpRange | null {
  const s = str.trim();
  const dash = s.indexOf('-');
  if (dash >= 0) {
    const first = parseIp(s.slice(0, dash));
    const last = parseIp(s.slice(dash + 1));
    return first < 0 || last < 0 || last < first ? null : { first, last };
  }
  const slash = s.indexOf('/');
  if (slash >= 0) {
    const ip = parseIp(s.slice(0, slash));
    const bitsText = s.slice(slash + 1);
    if (ip < 0 || !/^(3[0-2]|[12]?[0-9])$/.test(bitsText)) return null;
    const mask = prefixMask(+bitsText);
    const first = (ip & mask) >>> 0;
    return { first, last: (first | ~mask) >>> 0 };
  }
  const ip = parseIp(s);
  return ip < 0 ? null : { first: ip, last: ip };
}
