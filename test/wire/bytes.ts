/** Byte helpers for the wire tests. */

/** Bytes from hex text; spaces and newlines are ignored. */
export function hex(text: string): Uint8Array {
  const s = text.replace(/\s+/g, '');
  if (s.length % 2 !== 0 || /[^0-9a-f]/i.test(s)) throw new Error(`bad hex: ${text}`);
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

/**
 * A DataView holding `bytes` at offset `lead` of a buffer that ends exactly
 * where they end: a read past the bytes throws a RangeError instead of reading
 * whatever follows, so tests catch out-of-bounds reads.
 */
export function tight(bytes: Uint8Array, lead = 3): { dv: DataView; u8: Uint8Array; off: number } {
  const u8 = new Uint8Array(lead + bytes.length);
  u8.fill(0xa5, 0, lead);
  u8.set(bytes, lead);
  return { dv: new DataView(u8.buffer), u8, off: lead };
}

/** A zeroed scratch view for emit tests. */
export function scratch(len: number): { dv: DataView; u8: Uint8Array } {
  const u8 = new Uint8Array(len);
  return { dv: new DataView(u8.buffer), u8 };
}
