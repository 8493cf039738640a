import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BufferPool } from '../../src/core/buffer_pool.js';
import { ManualClock } from '../../src/common/clock.js';
import { Bridge } from '../../src/impair/bridge.js';
import { TICK_US } from '../../src/impair/delay_line.js';
import { parseImpairSpec } from '../../src/impair/spec.js';
import { createRingPair } from '../../src/port/ring.js';
import { numberedFrame, seqOf } from './frames.js';

/** host A <-ring-> [hop a | hop b] <-ring-> host B, the hop's two queues on one pool. */
function topology(aToB: string, bToA: string, hopSlots = 256) {
  const clock = new ManualClock(1_000_000);
  const [hostA, hopA] = createRingPair({ name: 'left' });
  const [hopB, hostB] = createRingPair({ name: 'right' });
  const pa = new BufferPool(256);
  const pb = new BufferPool(256);
  const hop = new BufferPool(hopSlots);
  const qA = hostA.openQueue(0, pa);
  const qB = hostB.openQueue(0, pb);
  const bridge = new Bridge(hopA.openQueue(0, hop), hopB.openQueue(0, hop), {
    aToB: parseImpairSpec(aToB),
    bToA: parseImpairSpec(bToA),
    seed: 1,
    clock,
  });
  return { clock, qA, qB, pa, pb, hop, bridge };
}

function receive(q: { rxBurst(o: Int32Array, m: number): number }, pool: BufferPool): number[] {
  const rx = new Int32Array(64);
  const n = q.rxBurst(rx, 64);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    out.push(seqOf(pool, rx[i]));
    pool.free(rx[i]);
  }
  return out;
}

test('bridge: frames cross both ways unchanged without impairment', () => {
  const { qA, qB, pa, pb, bridge } = topology('', '');
  const tx = new Int32Array(3);
  for (let i = 0; i < 3; i++) tx[i] = numberedFrame(pa, i, 100);
  const sent = pa.read(tx[0]);
  qA.txBurst(tx, 3);
  tx[0] = numberedFrame(pb, 50, 70);
  qB.txBurst(tx, 1);
  assert.equal(bridge.step(), 4);
  const rx = new Int32Array(8);
  const n = qB.rxBurst(rx, 8);
  assert.equal(n, 3);
  assert.deepEqual([...pb.read(rx[0])], [...sent], 'bytes on the far side equal what was sent');
  for (let i = 0; i < n; i++) pb.free(rx[i]);
  assert.deepEqual(receive(qA, pa), [50]);
  const s = bridge.snapshot();
  assert.equal(s.aToB.forwarded, 3);
  assert.equal(s.aToB.forwardedBytes, 300);
  assert.equal(s.bToA.forwarded, 1);
});

test('bridge: each direction has its own impairment', () => {
  const { clock, qA, qB, pa, pb, hop, bridge } = topology('delay=5ms', 'loss=100%');
  const tx = new Int32Array(4);
  for (let i = 0; i < 4; i++) tx[i] = numberedFrame(pa, i);
  qA.txBurst(tx, 4);
  for (let i = 0; i < 2; i++) tx[i] = numberedFrame(pb, 100 + i);
  qB.txBurst(tx, 2);
  bridge.step();
  assert.deepEqual(receive(qB, pb), [], 'held on the delay line');
  assert.equal(bridge.pending, 4);
  clock.advance(5000 + TICK_US);
  bridge.step();
  assert.deepEqual(receive(qB, pb), [0, 1, 2, 3]);
  assert.deepEqual(receive(qA, pa), []);
  const s = bridge.snapshot();
  assert.equal(s.aToB.delayed, 4);
  assert.equal(s.bToA.dropLoss, 2);
  assert.equal(hop.available, 256, 'the hop holds no slot once everything left');
});

test('bridge: close frees the frames still held', () => {
  const { qA, pa, hop, bridge } = topology('delay=1s', '');
  const tx = Int32Array.of(numberedFrame(pa, 1), numberedFrame(pa, 2));
  qA.txBurst(tx, 2);
  bridge.step();
  assert.equal(hop.available, 254);
  bridge.close();
  assert.equal(hop.available, 256);
});

test('bridge: refuses queues on different pools', () => {
  const [a] = createRingPair();
  const [b] = createRingPair();
  const spec = parseImpairSpec('');
  assert.throws(
    () =>
      new Bridge(a.openQueue(0, new BufferPool(4)), b.openQueue(0, new BufferPool(4)), {
        aToB: spec,
        bToA: spec,
        seed: 1,
        clock: new ManualClock(),
      }),
    /share one buffer pool/,
  );
});
