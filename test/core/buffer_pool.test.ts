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
