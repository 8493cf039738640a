import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BufferPool } from '../../src/core/buffer_pool.js';
import { createRingPair } from '../../src/port/ring.js';
import { NullPort } from '../../src/port/null.js';

function frame(pool: BufferPool, bytes: number[]): number {
  const s = pool.alloc();
  pool.write(s, Uint8Array.from(bytes));
  return s;
}

test('ring: frames cross to the peer in order, copied between pools', () => {
  const [a, b] = createRingPair({ capacity: 4 });
  const pa = new BufferPool(16);
  const pb = new BufferPool(16);
  const qa = a.openQueue(0, pa);
  const qb = b.openQueue(0, pb);
  const tx = new Int32Array(8);
  for (let i = 0; i < 6; i++) tx[i] = frame(pa, [i, i + 1, i + 2]);
  assert.equal(qa.txBurst(tx, 6), 4, 'capacity bounds the burst');
  for (let i = 4; i < 6; i++) pa.free(tx[i]);
  const rx = new Int32Array(8);
  const n = qb.rxBurst(rx, 8);
  assert.equal(n, 4);
  for (let i = 0; i < n; i++) {
    assert.deepEqual([...pb.read(rx[i])], [i, i + 1, i + 2]);
    pb.free(rx[i]);
  }
  assert.equal(pa.available, 16, 'sender slots returned after copy');
  assert.equal(pb.available, 16);
  assert.equal(qa.stats().txFrames, 4);
  assert.equal(qa.stats().txDropped, 2);
  assert.equal(qb.stats().rxBytes, 12);
});

test('ring: same pool hands the slot over without a copy', () => {
  const [a, b] = createRingPair();
  const pool = new BufferPool(4);
  const qa = a.openQueue(0, pool);
  const qb = b.openQueue(0, pool);
  const tx = Int32Array.of(frame(pool, [9, 9]));
  assert.equal(qa.txBurst(tx, 1), 1);
  const rx = new Int32Array(1);
  assert.equal(qb.rxBurst(rx, 1), 1);
  assert.equal(rx[0], tx[0]);
  assert.equal(pool.available, 3);
});

test('null: transmits into the void and frees the slots', () => {
  const port = new NullPort();
  const pool = new BufferPool(4);
  const q = port.openQueue(0, pool);
  const tx = Int32Array.of(frame(pool, [1]), frame(pool, [2, 3]));
  assert.equal(q.txBurst(tx, 2), 2);
  assert.equal(pool.available, 4);
  assert.equal(q.rxBurst(new Int32Array(4), 4), 0);
  assert.equal(q.stats().txBytes, 3);
});
