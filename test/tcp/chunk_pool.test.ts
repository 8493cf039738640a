import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BufferPool } from '../../src/core/buffer_pool.js';
import { CHUNK_SIZE, ChunkPool, SendBuffers } from '../../src/net/tcp/chunk_pool.js';
import { bytes } from './harness.js';

test('send buffers: bytes appended across chunks read back at any offset; consumed chunks return to the pool', () => {
  const frames = new BufferPool(64);
  const pool = new ChunkPool(frames, 8);
  const sb = new SendBuffers(pool, 2);
  const data = bytes(3 * CHUNK_SIZE + 100, 8);
  assert.equal(sb.append(0, data, 0, 1000), 1000);
  assert.equal(sb.append(0, data, 1000, data.length - 1000), data.length - 1000);
  assert.equal(pool.available, 4);
  assert.equal(frames.available, 60, 'chunks are slots of the packet pool');
  const out = new Uint8Array(3000);
  sb.copyOut(0, 1500, out, 0, 3000);
  assert.deepEqual(out, data.subarray(1500, 4500));
  // Into a frame of the same pool: the copyWithin path.
  const slot = frames.alloc();
  sb.copyOut(0, 1500, frames.u8, frames.base(slot), 3000 > CHUNK_SIZE ? CHUNK_SIZE : 3000);
  assert.deepEqual(frames.u8.subarray(frames.base(slot), frames.base(slot) + CHUNK_SIZE), data.subarray(1500, 1500 + CHUNK_SIZE));
  frames.free(slot);
  sb.consume(0, CHUNK_SIZE + 10);
  assert.equal(pool.available, 5);
  sb.copyOut(0, 0, out, 0, 100);
  assert.deepEqual(out.subarray(0, 100), data.subarray(CHUNK_SIZE + 10, CHUNK_SIZE + 110));
  // The chunk budget runs dry: append takes what fits.
  const big = bytes(6 * CHUNK_SIZE, 9);
  assert.equal(sb.append(1, big, 0, big.length), 5 * CHUNK_SIZE);
  sb.clear(0);
  sb.clear(1);
  assert.equal(pool.available, 8);
  assert.equal(frames.available, 64);
});

test('chunk pool: never takes the packet pool below its frame reserve', () => {
  const frames = new BufferPool(64);
  const pool = new ChunkPool(frames, 1000);
  assert.equal(pool.reserve, 16);
  const held: number[] = [];
  for (let c = pool.alloc(); c >= 0; c = pool.alloc()) held.push(c);
  assert.equal(held.length, 48);
  assert.equal(frames.available, 16);
  assert.equal(pool.available, 1000 - 48);
  for (const c of held) pool.free(c);
  assert.equal(frames.available, 64);
  assert.equal(pool.available, 1000);
});
