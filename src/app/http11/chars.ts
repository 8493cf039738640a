/** Byte classes of RFC 9110 §5.6.2 (tchar) and §5.5 (field-vchar), as lookup tables. */

/** 1 where the byte is a tchar: ALPHA / DIGIT / "!#$%&'*+-.^_`|~". */
export const TCHAR = new Uint8Array(256);
/** 1 where the byte may appear in a field value: VCHAR, obs-text, SP, HTAB. */
export const FIELD_BYTE = new Uint8Array(256);
/** 1 where the byte may appear in a request-target: VCHAR and obs-text, no SP/CTL. */
export const TARGET_BYTE = new Uint8Array(256);

for (let c = 0; c < 256; c++) {
  const alnum = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
  TCHAR[c] = alnum || "!#$%&'*+-.^_`|~".includes(String.fromCharCode(c)) ? 1 : 0;
  const vchar = (c > 0x20 && c < 0x7f) || c >= 0x80;
  FIELD_BYTE[c] = vchar || c === 0x20 || c === 0x09 ? 1 : 0;
  TARGET_BYTE[c] = vchar ? 1 : 0;
}

export const CR = 13;
export const LF = 10;
export const SP = 32;
export const HTAB = 9;

/** Bytes of an ASCII string, for constants built once at load time. */
export function ascii(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** True when buf[off..off+lower.length) equals `lower` ignoring ASCII case. */
export function eqLower(buf: Uint8Array, off: number, len: number, lower: Uint8Array): boolean {
  if (len !== lower.length) return false;
  for (let i = 0; i < len; i++) {
    if ((buf[off + i] | 0x20) !== lower[i]) return false;
  }
  return true;
}

/** Value of a hex digit, or -1. */
export function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}
