import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  checksumUpdate16,
  checksumUpdate32,
  fold,
  internetChecksum,
  internetChecksumDv,
  pseudoHeaderSum,
  sum16,
  sum16Dv,
} from '../../src/wire/checksum.js';
import { hex } from './bytes.js';

test('checksum: RFC 1071 §3 example sums to 0xddf2, checksum 0x220d', () => {
  const b = hex('0001 f203 f4f5 f6f7');
  assert.equal(fold(sum16(b, 0, 8)), 0xddf2);
  assert.equal(internetChecksum(b, 0, 8), 0x220d);
});

test('checksum: a known IPv4 header (checksum 0xb861) verifies and recomputes', () => {
  const h = hex('4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7');
  assert.equal(fold(sum16(h, 0, 20)), 0xffff);
  h[10] = 0;
  h[11] = 0;
  assert.equal(internetChecksum(h, 0, 20), 0xb861);
});

test('checksum: odd lengths pad the last byte with zero; offsets and subarrays agree', () => {
  const b = hex('ff 0102 0304 05');
  // Unfolded sums are only defined modulo 0xffff (words are summed 32 bits at a time).
  assert.equal(fold(sum16(b, 1, 5)), 0x0102 + 0x0304 + 0x0500);
  assert.equal(fold(sum16(b, 1, 1)), 0x0100);
  assert.equal(sum16(b, 1, 0, 7), 7, 'empty range returns the accumulator');
  const sub = b.subarray(1);
  assert.equal(fold(sum16(sub, 0, 5)), fold(sum16(b, 1, 5)));
  assert.equal(fold(sum16Dv(new DataView(b.buffer), 1, 5)), fold(sum16(b, 1, 5)));
  assert.equal(internetChecksumDv(new DataView(b.buffer), 1, 5), internetChecksum(b, 1, 5));
});

test('checksum: 32-bit word sums fold like 16-bit word sums (property)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(3), (bytes, lead) => {
      const u8 = new Uint8Array(lead + bytes.length);
      u8.set(bytes, lead);
      let ref = 0;
      for (let i = 0; i < bytes.length; i += 2) ref += (bytes[i] << 8) | (i + 1 < bytes.length ? bytes[i + 1] : 0);
      while (ref > 0xffff) ref = (ref & 0xffff) + (ref >>> 16);
      assert.equal(fold(sum16(u8, lead, bytes.length)), ref);
    }),
  );
});

test('checksum: fold handles sums beyond 2^32 and never folds a non-zero sum to 0', () => {
  assert.equal(fold(0), 0);
  assert.equal(fold(0xffff), 0xffff);
  assert.equal(fold(0x10000), 1);
  assert.equal(fold(0x1fffe), 0xffff);
  // 2^32 ≡ 1 and 0xffff * 0x10001 ≡ 0 (mod 0xffff): one's-complement zero is 0xffff.
  assert.equal(fold(0x100000000), 1);
  assert.equal(fold(0xffff * 0x10001 * 3), 0xffff);
  assert.equal(fold(2 ** 52 + 5), fold((2 ** 52 % 0xffff) + 5));
});

test('checksum: pseudo-header sum of 198.18.250.1 -> 198.18.250.2, TCP, 40 bytes', () => {
  const src = 0xc612fa01;
  const dst = 0xc612fa02;
  assert.equal(pseudoHeaderSum(src, dst, 6, 40), 0xc612 + 0xfa01 + 0xc612 + 0xfa02 + 6 + 40);
});

test('checksum: RFC 1624 incremental update equals recomputation (property)', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 20, maxLength: 20 }),
      fc.integer({ min: 0, max: 9 }),
      fc.integer({ min: 0, max: 0xffff }),
      (header, word, value) => {
        const h = header.slice();
        h[10] = 0;
        h[11] = 0;
        if (word === 5) word = 4; // not the checksum field itself
        const old = internetChecksum(h, 0, 20);
        const oldField = (h[2 * word] << 8) | h[2 * word + 1];
        h[2 * word] = value >>> 8;
        h[2 * word + 1] = value & 0xff;
        assert.equal(checksumUpdate16(old, oldField, value), internetChecksum(h, 0, 20));
      },
    ),
  );
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 20, maxLength: 20 }), fc.nat(0xffffffff), (header, value) => {
      const h = header.slice();
      h[10] = 0;
      h[11] = 0;
      const dv = new DataView(h.buffer);
      const old = internetChecksum(h, 0, 20);
      const oldField = dv.getUint32(12);
      dv.setUint32(12, value);
      assert.equal(checksumUpdate32(old, oldField, value), internetChecksum(h, 0, 20));
    }),
  );
});

/** Reference: 16-bit big-endian words one at a time, end-around carry folded as it goes. */
function refSum(u8: Uint8Array, off: number, len: number): number {
  let s = 0;
  for (let i = 0; i < len; i += 2) {
    s += (u8[off + i] << 8) | (i + 1 < len ? u8[off + i + 1] : 0);
    s = (s & 0xffff) + (s >>> 16);
  }
  return s;
}

test('checksum: the wide word path agrees with 16-bit words at every alignment, across blocks, through views with an offset', () => {
  const big = new Uint8Array(80_000 + 8);
  for (let i = 0; i < big.length; i++) big[i] = (Math.imul(i + 1, 0x9e3779b1) >>> 24) | (i % 97 === 0 ? 0xff : 0);
  for (const lead of [0, 1, 2, 3]) {
    // A DataView starting at `lead` inside the buffer shifts the word alignment.
    const dv = new DataView(big.buffer, lead);
    for (const [off, len] of [[0, 64], [1, 65], [2, 1480], [3, 1481], [34, 1466], [5, 40_000], [6, 79_990]]) {
      assert.equal(fold(sum16Dv(dv, off, len)), refSum(big, lead + off, len), `lead ${lead} off ${off} len ${len}`);
    }
  }
  // Views over three different buffers in turn: the view cache hands each its own words.
  const bufs = [1, 2, 3].map((k) => Uint8Array.from({ length: 200 }, (_, i) => (i * k * 7) & 0xff));
  for (let round = 0; round < 3; round++) {
    for (const b of bufs) assert.equal(fold(sum16(b, 2, 150)), refSum(b, 2, 150));
  }
  // All ones: one's-complement zero stays 0xffff, never 0.
  assert.equal(fold(sum16(new Uint8Array(2000).fill(0xff), 0, 2000)), 0xffff);
});
