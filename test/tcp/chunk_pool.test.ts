import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CHUNK_SIZE, ChunkPool, SendBuffers } from '../../src/net/tcp/chunk_pool.js';
import { bytes } from './harness.js';

test('send buffers: bytes appended across chunks read back at any offset; consumed chunks return to the pool', () => {
  const pool = new ChunkPool(8);
  const sb = new SendBuffers(pool, 2);
  const data = bytes(3 * CHUNK_SIZE + 100, 8);
  assert.equal(sb.append(0, data, 0, 1000), 1000);
  assert.equal(sb.append(0, data, 1000, data.length - 1000), data.length - 1000);
  assert.equal(pool.available, 4);
  const out = new Uint8Array(3000);
  sb.copyOut(0, 1500, out, 0, 3000);
  assert.deepEqual(out, data.subarray(1500, 4500));
  sb.consume(0, CHUNK_SIZE + 10);
  assert.equal(pool.available, 5);
  sb.copyOut(0, 0, out, 0, 100);
  assert.deepEqual(out.subarray(0, 100), data.subarray(CHUNK_SIZE + 10, CHUNK_SIZE + 110));
  // The pool runs dry: append takes what fits.
  const big = bytes(6 * CHUNK_SIZE, 9);
  assert.equal(sb.append(1, big, 0, big.length), 5 * CHUNK_SIZE);
  sb.clear(0);
  sb.clear(1);
  assert.equal(pool.available, 8);
});
