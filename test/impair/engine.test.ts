import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BufferPool } from '../../src/core/buffer_pool.js';
import { Prng } from '../../src/common/prng.js';
import { TICK_US } from '../../src/impair/delay_line.js';
import { Impairment } from '../../src/impair/engine.js';
import { parseImpairSpec } from '../../src/impair/spec.js';
import { CollectSink, numberedFrame, seqOf } from './frames.js';

function setup(text: string, poolSize = 256, seed = 1): { pool: BufferPool; sink: CollectSink; imp: Impairment } {
  const pool = new BufferPool(poolSize);
  const sink = new CollectSink();
  return { pool, sink, imp: new Impairment(parseImpairSpec(text), pool, sink, new Prng(seed)) };
}

test('engine: no impairment forwards every frame at once, in order, untouched', () => {
  const { pool, sink, imp } = setup('');
  const before: number[][] = [];
  for (let i = 0; i < 10; i++) {
    const s = numberedFrame(pool, i);
    before.push([...pool.read(s)]);
    imp.offer(s, 0);
  }
  assert.deepEqual(
    sink.slots.map((s) => [...pool.read(s)]),
    before,
  );
  assert.deepEqual(sink.take(pool), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.equal(imp.counters.forwarded, 10);
  assert.equal(imp.counters.forwardedBytes, 640);
  assert.equal(pool.available, 256);
});

test('engine: loss=100% drops and frees everything; loss=0% nothing', () => {
  const { pool, sink, imp } = setup('loss=100%');
  for (let i = 0; i < 20; i++) imp.offer(numberedFrame(pool, i), 0);
  assert.equal(sink.slots.length, 0);
  assert.equal(imp.counters.dropLoss, 20);
  assert.equal(pool.available, 256, 'lost frames return to the pool');
  const z = setup('loss=0%');
  for (let i = 0; i < 20; i++) z.imp.offer(numberedFrame(z.pool, i), 0);
  assert.equal(z.sink.slots.length, 20);
});

test('engine: Gilbert-Elliott loss comes in bursts of mean length 1/r', () => {
  const { pool, sink, imp } = setup('loss=ge:2%:25%', 64, 5);
  const n = 100_000;
  let lostRun = 0;
  let bursts = 0;
  let lost = 0;
  for (let i = 0; i < n; i++) {
    imp.offer(numberedFrame(pool, i), 0);
    if (sink.slots.length === 0) {
      lost++;
      lostRun++;
    } else {
      if (lostRun > 0) bursts++;
      lostRun = 0;
      sink.take(pool);
    }
  }
  // Stationary bad share p/(p+r) = 0.02/0.27; every bad frame is lost.
  const expected = 0.02 / 0.27;
  assert.ok(Math.abs(lost / n - expected) < 0.2 * expected, `loss share ${lost / n} vs ${expected}`);
  assert.ok(Math.abs(lost / bursts - 4) < 0.8, `mean burst ${lost / bursts}`);
  assert.equal(imp.counters.dropLoss, lost);
});

test('engine: delay holds frames until due, releases them within one tick, in order', () => {
  const { pool, sink, imp } = setup('delay=20ms');
  for (let i = 0; i < 50; i++) imp.offer(numberedFrame(pool, i), i * 10);
  assert.equal(imp.counters.delayed, 50);
  assert.equal(imp.counters.queueHigh, 50);
  imp.poll(19_999);
  assert.equal(sink.slots.length, 0, 'nothing before the delay');
  const order: number[] = [];
  for (let t = 20_000; t <= 21_000; t += 4) {
    imp.poll(t);
    for (const seq of sink.take(pool)) {
      const due = 20_000 + seq * 10;
      assert.ok(t >= due && t <= due + TICK_US + 4, `frame ${seq} due ${due} left at ${t}`);
      order.push(seq);
    }
  }
  assert.deepEqual(order, Array.from({ length: 50 }, (_, i) => i));
  assert.equal(imp.counters.queued, 0);
  assert.equal(pool.available, 256);
});

test('engine: delays beyond one turn of the wheel are kept, and a stall releases everything in order', () => {
  const { pool, sink, imp } = setup('delay=700ms');
  for (let i = 0; i < 5; i++) imp.offer(numberedFrame(pool, i), i);
  imp.poll(300_000);
  imp.poll(699_999);
  assert.equal(sink.slots.length, 0);
  imp.poll(5_000_000);
  assert.deepEqual(sink.take(pool), [0, 1, 2, 3, 4]);
});

test('engine: uniform jitter spreads arrivals over delay +- jitter', () => {
  const { pool, sink, imp } = setup('delay=10ms,jitter=2ms,limit=4000', 4096, 3);
  const n = 2000;
  for (let i = 0; i < n; i++) imp.offer(numberedFrame(pool, i), 0);
  const arrivals: number[] = [];
  for (let t = 0; t <= 13_000; t += 50) {
    imp.poll(t);
    for (let k = sink.take(pool).length; k > 0; k--) arrivals.push(t);
  }
  assert.equal(arrivals.length, n);
  assert.ok(arrivals[0] >= 8000 && arrivals[0] < 8100, `first ${arrivals[0]}`);
  assert.ok(arrivals[n - 1] <= 12_050 && arrivals[n - 1] > 11_900, `last ${arrivals[n - 1]}`);
  const mean = arrivals.reduce((a, b) => a + b, 0) / n;
  // Uniform over 4 ms: sd 1155 us, sd of the mean 26 us, plus the 50 us polling step.
  assert.ok(Math.abs(mean - 10_025) < 150, `mean ${mean}`);
});

test('engine: normal jitter has the asked sigma and never goes negative', () => {
  const { pool, sink, imp } = setup('delay=1ms,jitter=2ms,dist=normal,limit=8000', 8192, 4);
  const n = 5000;
  for (let i = 0; i < n; i++) imp.offer(numberedFrame(pool, i), 100_000);
  const delays: number[] = [];
  for (let t = 100_000; t <= 120_000; t += 10) {
    imp.poll(t);
    for (let k = sink.take(pool).length; k > 0; k--) delays.push(t - 100_000);
  }
  assert.equal(delays.length, n);
  const atZero = delays.filter((d) => d <= TICK_US + 10).length;
  // P(N(1ms, 2ms) < 0) = P(Z < -0.5) = 30.9%: those leave at the next tick.
  assert.ok(Math.abs(atZero / n - 0.309) < 0.03, `at zero ${atZero / n}`);
  const high = delays.filter((d) => d > 3000).length;
  // P(Z > 1) = 15.9%
  assert.ok(Math.abs(high / n - 0.159) < 0.03, `above 3 ms ${high / n}`);
});

test('engine: reorder sends its share at once, ahead of the delayed frames', () => {
  const { pool, sink, imp } = setup('delay=5ms,reorder=100%');
  for (let i = 0; i < 5; i++) imp.offer(numberedFrame(pool, i), 0);
  assert.deepEqual(sink.take(pool), [0, 1, 2, 3, 4]);
  assert.equal(imp.counters.reordered, 5);
  assert.equal(imp.counters.delayed, 0);
  const r = setup('delay=5ms,reorder=30%', 256, 11);
  for (let i = 0; i < 100; i++) r.imp.offer(numberedFrame(r.pool, i), 0);
  const early = r.sink.take(r.pool);
  r.imp.poll(5000 + TICK_US);
  const late = r.sink.take(r.pool);
  assert.equal(early.length, r.imp.counters.reordered);
  assert.equal(late.length, r.imp.counters.delayed);
  assert.equal(early.length + late.length, 100);
  assert.ok(early.length > 15 && early.length < 45);
  assert.deepEqual(late, [...late].sort((a, b) => a - b), 'delayed frames keep their order');
});

test('engine: duplicate=100% sends two identical copies of every frame', () => {
  const { pool, sink, imp } = setup('duplicate=100%');
  for (let i = 0; i < 4; i++) imp.offer(numberedFrame(pool, i, 100), 0);
  assert.equal(sink.slots.length, 8);
  for (let i = 0; i < 8; i += 2) {
    assert.notEqual(sink.slots[i], sink.slots[i + 1], 'a copy has its own slot');
    assert.deepEqual([...pool.read(sink.slots[i])], [...pool.read(sink.slots[i + 1])]);
  }
  assert.deepEqual(sink.take(pool), [0, 0, 1, 1, 2, 2, 3, 3]);
  assert.equal(imp.counters.duplicated, 4);
  assert.equal(imp.counters.forwarded, 8);
  assert.equal(pool.available, 256);
});

test('engine: a duplicate that finds no free slot is counted, the original still goes', () => {
  const { pool, sink, imp } = setup('duplicate=100%', 1);
  imp.offer(numberedFrame(pool, 7), 0);
  assert.deepEqual(sink.take(pool), [7]);
  assert.equal(imp.counters.dropNoBuf, 1);
  assert.equal(imp.counters.duplicated, 0);
});

test('engine: corrupt flips exactly one bit, never in the Ethernet header', () => {
  const { pool, sink, imp } = setup('corrupt=100%', 64, 9);
  const positions = new Set<number>();
  for (let i = 0; i < 300; i++) {
    const s = numberedFrame(pool, i, 60);
    const orig = pool.read(s);
    imp.offer(s, 0);
    const got = pool.read(sink.slots[0]);
    let bits = 0;
    for (let k = 0; k < 60; k++) {
      const x = orig[k] ^ got[k];
      if (x !== 0) {
        assert.ok(k >= 14, `bit flipped at byte ${k}`);
        positions.add(k);
      }
      for (let v = x; v !== 0; v &= v - 1) bits++;
    }
    assert.equal(bits, 1);
    sink.take(pool);
  }
  assert.ok(positions.size > 35, 'the flipped byte is spread over the payload');
  assert.equal(imp.counters.corrupted, 300);
});

test('engine: limit tail-drops frames beyond the held count', () => {
  const { pool, sink, imp } = setup('delay=1s,limit=10');
  for (let i = 0; i < 15; i++) imp.offer(numberedFrame(pool, i), 0);
  assert.equal(imp.counters.dropLimit, 5);
  assert.equal(imp.counters.queueHigh, 10);
  assert.equal(pool.available, 246);
  imp.poll(1_000_000);
  assert.deepEqual(sink.take(pool), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 'the first ten, the tail dropped');
});

test('engine: rate paces frames by the token bucket and tail-drops past the limit', () => {
  // 1 Mbit/s = 125 bytes per ms; 1000-byte frames take 8 ms each after a 3028-byte burst.
  const { pool, sink, imp } = setup('rate=1mbit,limit=5');
  for (let i = 0; i < 10; i++) imp.offer(numberedFrame(pool, i, 1000), 0);
  assert.deepEqual(sink.take(pool), [0, 1, 2], 'the burst passes at once');
  assert.equal(imp.counters.queueHigh, 5);
  assert.equal(imp.counters.dropLimit, 2);
  imp.poll(7_000);
  assert.equal(sink.slots.length, 0, '28 + 875 tokens: not yet');
  imp.poll(7_800);
  assert.deepEqual(sink.take(pool), [3]);
  for (let k = 1; k <= 4; k++) {
    imp.poll(7_800 + k * 8_000);
    assert.deepEqual(sink.take(pool), [3 + k], 'one frame per 8 ms');
  }
  imp.poll(1_000_000);
  assert.equal(sink.slots.length, 0, 'the tokens of an idle second do not exceed the bucket');
  assert.equal(pool.available, 256);
});

test('engine: rate then delay: paced frames wait their delay after leaving the bucket', () => {
  const { pool, sink, imp } = setup('rate=1mbit,burst=1514,delay=10ms');
  imp.offer(numberedFrame(pool, 0, 1000), 0);
  imp.offer(numberedFrame(pool, 1, 1000), 0);
  // Frame 1 waits for 486 more tokens (125 per ms): it leaves the bucket at the 3.9 ms poll, then waits 10 ms.
  imp.poll(3_800);
  imp.poll(3_900);
  imp.poll(9_999);
  assert.equal(sink.slots.length, 0);
  imp.poll(10_000 + TICK_US);
  assert.deepEqual(sink.take(pool), [0]);
  imp.poll(13_899);
  assert.equal(sink.slots.length, 0);
  imp.poll(13_900 + TICK_US);
  assert.deepEqual(sink.take(pool), [1]);
});

test('engine: the same seed repeats a run exactly; drain frees what is held', () => {
  const run = (seed: number): number[] => {
    const { pool, sink, imp } = setup('loss=10%,duplicate=10%,delay=1ms,jitter=1ms,reorder=10%', 1024, seed);
    for (let i = 0; i < 300; i++) {
      imp.offer(numberedFrame(pool, i), i * 20);
      imp.poll(i * 20);
    }
    imp.poll(20_000);
    const seqs = sink.slots.map((s) => seqOf(pool, s));
    imp.drain();
    return seqs;
  };
  assert.deepEqual(run(5), run(5));
  assert.notDeepEqual(run(5), run(6));
  const { pool, imp } = setup('delay=1s,rate=1kbit');
  for (let i = 0; i < 20; i++) imp.offer(numberedFrame(pool, i), 0);
  imp.drain();
  assert.equal(pool.available, 256);
  assert.equal(imp.held, 0);
});
