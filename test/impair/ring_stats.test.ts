/**
 * The impairment wrapper over a ring queue, over 100,000 frames: the shares of loss,
 * duplication and reordering seen by the receiver lie within 4 sigma of the
 * asked probability, and `rate` holds its bit rate within 5%. Time is a
 * ManualClock, so the runs are exact and fast.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BufferPool } from '../../src/core/buffer_pool.js';
import { ManualClock } from '../../src/common/clock.js';
import { TICK_US } from '../../src/impair/delay_line.js';
import type { PortQueue } from '../../src/port/port.js';
import type { ImpairedPort } from '../../src/impair/queue.js';
import { createImpairedRingPair } from '../../src/impair/ring.js';
import { OvertakeMeter, numberedFrame, seqOf } from './frames.js';

const N = 100_000;

interface Run {
  clock: ManualClock;
  a: ImpairedPort;
  qa: PortQueue;
  qb: PortQueue;
  pa: BufferPool;
  pb: BufferPool;
}

function open(aToB: string, seed = 1): Run {
  const clock = new ManualClock();
  const [a, b] = createImpairedRingPair({ aToB, seed, clock, capacity: 4096 });
  const pa = new BufferPool(8192);
  const pb = new BufferPool(8192);
  return { clock, a, qa: a.openQueue(0, pa), qb: b.openQueue(0, pb), pa, pb };
}

/**
 * Sends `n` numbered frames of `len` bytes, one every `gapUs`, draining the
 * receiver after each; then lets time run out `tailUs` to release the rest.
 */
function pump(r: Run, n: number, gapUs: number, len: number, tailUs: number, arrive: (seq: number, len: number) => void): void {
  const tx = new Int32Array(1);
  const rx = new Int32Array(256);
  const drain = (): void => {
    // The sender's poll releases the frames now due (its RX is empty: nothing comes back).
    assert.equal(r.qa.rxBurst(rx, 256), 0);
    for (let k = r.qb.rxBurst(rx, 256); k > 0; k = r.qb.rxBurst(rx, 256)) {
      for (let i = 0; i < k; i++) {
        arrive(seqOf(r.pb, rx[i]), r.pb.dataLen[rx[i]]);
        r.pb.free(rx[i]);
      }
    }
  };
  for (let i = 0; i < n; i++) {
    tx[0] = numberedFrame(r.pa, i, len);
    assert.equal(r.qa.txBurst(tx, 1), 1);
    drain();
    r.clock.advance(gapUs);
  }
  for (let t = 0; t < tailUs; t += 100) {
    r.clock.advance(100);
    drain();
  }
}

/** |measured - p| within 4 standard deviations of a binomial share over n trials. */
function withinBounds(what: string, measured: number, p: number, n: number): void {
  const sigma = Math.sqrt((p * (1 - p)) / n);
  assert.ok(Math.abs(measured - p) < 4 * sigma, `${what}: measured ${measured}, asked ${p}, 4 sigma ${4 * sigma}`);
}

test('ring impairment: loss=1% over 100,000 frames', () => {
  const r = open('loss=1%');
  let got = 0;
  pump(r, N, 10, 64, 0, () => got++);
  withinBounds('loss', (N - got) / N, 0.01, N);
  assert.equal(r.a.impairCounters()?.dropLoss, N - got);
  assert.equal(r.pa.available, 8192);
});

test('ring impairment: loss=5% over 100,000 frames', () => {
  const r = open('loss=5%', 2);
  let got = 0;
  pump(r, N, 10, 64, 0, () => got++);
  withinBounds('loss', (N - got) / N, 0.05, N);
});

test('ring impairment: duplicate=1% over 100,000 frames', () => {
  const r = open('duplicate=1%', 3);
  const seen = new Uint8Array(N);
  let extra = 0;
  pump(r, N, 10, 64, 0, (seq) => {
    if (seen[seq] === 1) extra++;
    seen[seq] = 1;
  });
  assert.equal(seen.indexOf(0), -1, 'every frame arrived');
  withinBounds('duplication', extra / N, 0.01, N);
  assert.equal(r.a.impairCounters()?.duplicated, extra);
});

test('ring impairment: reorder=5% (delay 1 ms) over 100,000 frames', () => {
  const r = open('delay=1ms,reorder=5%', 4);
  const meter = new OvertakeMeter(N);
  pump(r, N, 10, 64, 2000, (seq) => meter.arrive(seq));
  assert.equal(meter.arrivals, N, 'nothing lost');
  withinBounds('reordering', meter.overtakes / N, 0.05, N);
  const c = r.a.impairCounters();
  assert.ok(c !== null);
  assert.equal(c.reordered + c.delayed, N);
  // 1 ms of frames 10 us apart, plus at most one tick of the wheel.
  assert.ok(c.queueHigh >= 90 && c.queueHigh <= 101 + TICK_US / 10, `about 1 ms of frames held: ${c.queueHigh}`);
});

test('ring impairment: without reorder or jitter, delay keeps the order', () => {
  const r = open('delay=3ms,loss=1%,duplicate=1%', 5);
  let last = -1;
  let outOfOrder = 0;
  pump(r, 20_000, 10, 64, 4000, (seq) => {
    if (seq < last) outOfOrder++;
    last = seq;
  });
  assert.equal(outOfOrder, 0);
});

test('ring impairment: rate=100mbit holds within 5% under twice the load', () => {
  // 1500-byte frames every 60 us offer 200 Mbit/s; 100,000 of them span 6 s.
  const r = open('rate=100mbit', 6);
  let bytes = 0;
  let firstUs = -1;
  let lastUs = 0;
  pump(r, N, 60, 1500, 0, (_seq, len) => {
    // Measure from the first frame after the initial burst has drained (1 s in).
    if (r.clock.nowUs() < 1_000_000) return;
    if (firstUs < 0) firstUs = r.clock.nowUs();
    lastUs = r.clock.nowUs();
    bytes += len;
  });
  const bps = (bytes * 8) / ((lastUs - firstUs) / 1e6);
  assert.ok(Math.abs(bps / 100e6 - 1) < 0.05, `measured ${(bps / 1e6).toFixed(2)} Mbit/s`);
  const c = r.a.impairCounters();
  assert.ok(c !== null);
  // Half the offered load is tail-dropped once the queue holds `limit` frames.
  assert.ok(Math.abs(c.dropLimit / N - 0.5) < 0.02, `tail drops ${c.dropLimit}`);
  assert.equal(c.queueHigh, 1000);
});

test('ring impairment: released frames the ring has no room for wait in the wrapper, in order', () => {
  const clock = new ManualClock();
  const [a, b] = createImpairedRingPair({ aToB: 'delay=1ms', clock, capacity: 4 });
  const pa = new BufferPool(64);
  const pb = new BufferPool(64);
  const qa = a.openQueue(0, pa);
  const qb = b.openQueue(0, pb);
  const tx = new Int32Array(10);
  for (let i = 0; i < 10; i++) tx[i] = numberedFrame(pa, i);
  assert.equal(qa.txBurst(tx, 10), 10, 'the impairment takes the whole burst');
  clock.advance(1000 + TICK_US);
  const rx = new Int32Array(16);
  const got: number[] = [];
  for (let round = 0; round < 3; round++) {
    assert.equal(qa.rxBurst(rx, 16), 0);
    const n = qb.rxBurst(rx, 16);
    assert.equal(n, round < 2 ? 4 : 2, 'the ring holds 4 frames');
    for (let i = 0; i < n; i++) {
      got.push(seqOf(pb, rx[i]));
      pb.free(rx[i]);
    }
  }
  assert.deepEqual(got, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.equal(pa.available, 64);
  assert.equal(pb.available, 64);
});

test('ring impairment: close frees the frames still held', () => {
  const clock = new ManualClock();
  const [a, b] = createImpairedRingPair({ aToB: 'delay=1s', bToA: 'loss=100%', clock });
  const pa = new BufferPool(16);
  const pb = new BufferPool(16);
  const qa = a.openQueue(0, pa);
  const qb = b.openQueue(0, pb);
  const tx = Int32Array.of(numberedFrame(pa, 1), numberedFrame(pa, 2));
  qa.txBurst(tx, 2);
  assert.equal(pa.available, 14);
  qa.close();
  assert.equal(pa.available, 16);
  const back = Int32Array.of(numberedFrame(pb, 3));
  qb.txBurst(back, 1);
  assert.equal(pb.available, 16);
  assert.equal(b.impairCounters()?.dropLoss, 1, 'each direction has its own spec');
  assert.equal(a.impairCounters()?.dropLoss, 0);
});
