import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BufferPool } from '../../src/core/buffer_pool.js';
import { RateQueue } from '../../src/impair/rate_queue.js';
import type { FrameSink } from '../../src/impair/frame_sink.js';

class Out implements FrameSink {
  n = 0;
  constructor(private readonly pool: BufferPool) {}
  push(slot: number): void {
    this.n++;
    this.pool.free(slot);
  }
}

function frame(pool: BufferPool, len: number): number {
  const s = pool.alloc();
  pool.dataLen[s] = len;
  return s;
}

test('rate queue: a late poll sends what the link would have sent meanwhile', () => {
  // 8 Mbit/s = 1000 bytes per ms; depth 2000 bytes.
  const pool = new BufferPool(64);
  const q = new RateQueue(pool, 8e6, 2000, 64);
  const out = new Out(pool);
  assert.ok(q.passNow(frame(pool, 1000), 0));
  assert.ok(q.passNow(frame(pool, 1000), 0));
  const s = frame(pool, 1000);
  assert.ok(!q.passNow(s, 0), 'the bucket is empty');
  q.enqueue(s);
  for (let i = 0; i < 19; i++) q.enqueue(frame(pool, 1000));
  // Descheduled for 10 ms: ten frames' worth of link time passed, beyond the 2-frame depth.
  q.release(10_000, out);
  assert.equal(out.n, 10);
  q.release(20_000, out);
  assert.equal(out.n, 20);
  assert.equal(q.size, 0);
});

test('rate queue: an idle link saves no more than the depth', () => {
  const pool = new BufferPool(64);
  const q = new RateQueue(pool, 8e6, 2000, 64);
  const out = new Out(pool);
  q.passNow(frame(pool, 1), 0);
  let passed = 0;
  for (let i = 0; i < 5; i++) {
    const s = frame(pool, 1000);
    if (q.passNow(s, 1_000_000)) passed++;
    else q.enqueue(s);
  }
  assert.equal(passed, 2, 'one idle second buys the depth, not 1000 frames');
  q.release(1_003_000, out);
  assert.equal(out.n, 3);
});
