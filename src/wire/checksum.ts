/**
 * The Internet checksum (RFC 1071), its IPv4 pseudo-header (RFC 9293 §3.1) and
 * incremental update (RFC 1624).
 *
 * Sums are kept unfolded as plain doubles: adding 32-bit big-endian words is
 * congruent to adding their 16-bit halves modulo 0xffff (RFC 1071 §2(C)), and
 * `fold` reduces at the end. An accumulator stays exact up to 2^53, far beyond
 * any frame.
 */

/** Below this many bytes the word loop is not worth a view lookup. */
const WIDE_MIN = 64;

// Uint32Array views over the buffers of the last two DataViews seen (a worker's
// pool, and in tests a second node's): built once, then every call hits.
let wideDv0: DataView | null = null;
let wideU0: Uint32Array<ArrayBufferLike> = new Uint32Array(0);
let wideDv1: DataView | null = null;
let wideU1: Uint32Array<ArrayBufferLike> = new Uint32Array(0);

function wideOf(dv: DataView): Uint32Array<ArrayBufferLike> {
  if (dv === wideDv0) return wideU0;
  if (dv !== wideDv1) {
    wideDv1 = dv;
    wideU1 = new Uint32Array(dv.buffer, 0, dv.buffer.byteLength >>> 2);
  }
  // Most recent first.
  const d = wideDv0;
  const u = wideU0;
  wideDv0 = wideDv1;
  wideU0 = wideU1;
  wideDv1 = d;
  wideU1 = u;
  return wideU0;
}

/**
 * Unfolded one's-complement sum of the bytes `[off, off+len)` as 16-bit big-endian
 * words, an odd last byte padded with zero, added to `acc`. Only its value
 * modulo 0xffff is defined: `fold` it (it comes back folded today, 0..0xffff).
 *
 * The bulk is summed as native (little-endian) 32-bit words from a Uint32Array
 * (no byte swap per load), folded and byte-swapped once at the end, which
 * RFC 1071 §2(B) (byte-order independence) makes equal to the big-endian sum.
 */
export function sum16Dv(dv: DataView, off: number, len: number, acc = 0): number {
  let i = off;
  const end = off + len;
  const abs = dv.byteOffset + off;
  if (len >= WIDE_MIN && (abs & 1) === 0) {
    if ((abs & 2) !== 0) {
      acc += dv.getUint16(i);
      i += 2;
    }
    const u32 = wideOf(dv);
    const shift = dv.byteOffset;
    let w = (shift + i) >>> 2;
    const we = (shift + end) >>> 2;
    let le = 0;
    const we4 = w + ((we - w) & ~3);
    for (; w < we4; w += 4) le += u32[w] + u32[w + 1] + u32[w + 2] + u32[w + 3];
    for (; w < we; w++) le += u32[w];
    le = fold(le);
    acc += ((le & 0xff) << 8) | (le >>> 8);
    i = (we << 2) - shift;
  }
  // The rest (or a short or odd-aligned range): big-endian words from the DataView.
  const end4 = i + ((end - i) & ~3);
  for (; i < end4; i += 4) acc += dv.getUint32(i);
  if (end - i >= 2) {
    acc += dv.getUint16(i);
    i += 2;
  }
  if (i < end) acc += dv.getUint8(i) << 8;
  // Folded (same value modulo 0xffff, and non-zero stays non-zero) so the
  // result is a small integer, which V8 returns without boxing a double.
  return fold(acc);
}

// Views over Uint8Array callers' buffers: one entry, so a worker's pool always hits.
let cachedBuf: ArrayBufferLike | null = null;
let cachedDv: DataView = new DataView(new ArrayBuffer(0));

function viewOf(u8: Uint8Array): DataView {
  if (u8.buffer !== cachedBuf) {
    cachedBuf = u8.buffer;
    cachedDv = new DataView(u8.buffer);
  }
  return cachedDv;
}

/** `sum16Dv` for a Uint8Array (offsets relative to the array). */
export function sum16(u8: Uint8Array, off: number, len: number, acc = 0): number {
  return sum16Dv(viewOf(u8), u8.byteOffset + off, len, acc);
}

/** Folds an unfolded sum to 16 bits with end-around carry; a non-zero sum never folds to 0. */
export function fold(acc: number): number {
  // 2^32 ≡ 1 (mod 0xffff): add the high part to the low 32 bits (`>>> 0` is mod 2^32, no fmod call).
  while (acc > 0xffffffff) acc = (acc >>> 0) + Math.floor(acc / 0x100000000);
  acc = (acc >>> 16) + (acc & 0xffff);
  acc = (acc >>> 16) + (acc & 0xffff);
  return acc;
}

/** The checksum to store for the bytes `[off, off+len)` (with their checksum field zeroed). */
export function internetChecksumDv(dv: DataView, off: number, len: number): number {
  return ~fold(sum16Dv(dv, off, len)) & 0xffff;
}

export function internetChecksum(u8: Uint8Array, off: number, len: number): number {
  return ~fold(sum16(u8, off, len)) & 0xffff;
}

/** Unfolded sum of the IPv4 pseudo-header: source, destination, zero+protocol, L4 length. */
export function pseudoHeaderSum(srcIp: number, dstIp: number, proto: number, l4Len: number): number {
  return (srcIp >>> 16) + (srcIp & 0xffff) + (dstIp >>> 16) + (dstIp & 0xffff) + proto + l4Len;
}

/** New checksum after a 16-bit field changed from `oldField` to `newField`: RFC 1624 eqn 3, HC' = ~(~HC + ~m + m'). */
export function checksumUpdate16(oldCsum: number, oldField: number, newField: number): number {
  return ~fold((~oldCsum & 0xffff) + (~oldField & 0xffff) + (newField & 0xffff)) & 0xffff;
}

/** RFC 1624 eqn 3 for a 32-bit field (an IPv4 address, a sequence number): both halves at once. */
export function checksumUpdate32(oldCsum: number, oldField: number, newField: number): number {
  return (
    ~fold(
      (~oldCsum & 0xffff) +
        (~(oldField >>> 16) & 0xffff) +
        (~oldField & 0xffff) +
        (newField >>> 16) +
        (newField & 0xffff),
    ) & 0xffff
  );
}
