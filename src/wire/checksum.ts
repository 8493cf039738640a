/**
 * The Internet checksum (RFC 1071), its IPv4 pseudo-header (RFC 9293 §3.1) and
 * incremental update (RFC 1624).
 *
 * Sums are kept unfolded as plain doubles: adding 32-bit big-endian words is
 * congruent to adding their 16-bit halves modulo 0xffff (RFC 1071 §2(C)), so the
 * loop reads one DataView word per 4 bytes and `fold` reduces at the end. An
 * accumulator stays exact up to 2^53, far beyond any frame.
 */

/**
 * Unfolded one's-complement sum of the bytes `[off, off+len)` as 16-bit big-endian
 * words, an odd last byte padded with zero, added to `acc`. Only its value
 * modulo 0xffff is defined (words are added 32 bits at a time): `fold` it.
 */
export function sum16Dv(dv: DataView, off: number, len: number, acc = 0): number {
  let i = off;
  // 16 bytes per iteration: halves the loop cost on full-size frames.
  const end16 = off + (len & ~15);
  for (; i < end16; i += 16) acc += dv.getUint32(i) + dv.getUint32(i + 4) + dv.getUint32(i + 8) + dv.getUint32(i + 12);
  const end4 = off + (len & ~3);
  for (; i < end4; i += 4) acc += dv.getUint32(i);
  if (len & 2) {
    acc += dv.getUint16(i);
    i += 2;
  }
  if (len & 1) acc += dv.getUint8(i) << 8;
  return acc;
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
