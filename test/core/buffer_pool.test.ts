import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BufferPool, HEADROOM, SLOT_SIZE } from '../../src/core/buffer_pool.js';

test('alloc hands out every slot once, then -1, and free makes slots reusable', () => {
  const pool = new BufferPool(8);
  const seen = new Set<number>();
  for (let i = 0; i < 8; i++) {
    const s = pool.alloc();
    assert.ok(s >= 0 && s < 8);
    assert.ok(!seen.has(s), `slot ${s} handed out twice`);
    seen.add(s);
  }
  assert.equal(pool.alloc(), -1);
  assert.equal(pool.available, 0);
  pool.free(3);
  assert.equal(pool.alloc(), 3);
});

test('a slot starts after the headroom and write/read round-trip its bytes', () => {
  const pool = new BufferPool(4);
  const s = pool.alloc();
  assert.equal(pool.base(s), s * SLOT_SIZE + HEADROOM);
  pool.write(s, Uint8Array.of(1, 2, 3, 4, 5));
  assert.equal(pool.dataLen[s], 5);
  assert.deepEqual([...pool.read(s)], [1, 2, 3, 4, 5]);
  assert.equal(pool.dv.getUint8(pool.base(s) + 2), 3);
});

test('pool size is validated', () => {
  assert.throws(() => new BufferPool(0), /buffer pool size/);
  assert.throws(() => new BufferPool(1.5), /buffer pool size/);
});

test('freeBurst returns n slots of a longer array, near the full stack too', () => {
  const pool = new BufferPool(8);
  const burst = new Int32Array(4);
  const takeAll = (): number[] => {
    const got: number[] = [];
    for (let s = pool.alloc(); s >= 0; s = pool.alloc()) got.push(s);
    return got.sort((a, b) => a - b);
  };
  assert.deepEqual(takeAll(), [0, 1, 2, 3, 4, 5, 6, 7]);
  // Room above the top for the whole array: 2 of 4 entries are freed.
  burst.set([6, 2, 99, 99]);
  pool.freeBurst(burst, 2);
  assert.equal(pool.available, 2);
  // No room for all 4 entries above the top (6 + 4 > 8): only n are written.
  for (const s of [0, 1, 3, 4]) pool.free(s);
  burst.set([5, 7, 99, 99]);
  pool.freeBurst(burst, 2);
  assert.equal(pool.available, 8);
  assert.deepEqual(takeAll(), [0, 1, 2, 3, 4, 5, 6, 7], 'every slot once, nothing from past n');
});
