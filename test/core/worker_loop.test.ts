import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/common/clock.js';
import { BufferPool } from '../../src/core/buffer_pool.js';
import { CMD_CONFIG, CMD_USER_BASE, MgmtEnd, RC_BAD_PAYLOAD, RC_HANDLER_FAILED, WorkerEnd, createIpc, encodeJson, type Ack } from '../../src/core/ipc.js';
import type { Pipeline } from '../../src/core/pipeline.js';
import { TxBatch } from '../../src/port/tx_batch.js';
import { CommandTable, LOOP_METRICS, WorkerLoop, type LoopOptions } from '../../src/run/worker_loop.js';
import type { PortQueue } from '../../src/port/port.js';
import { createRingPair } from '../../src/port/ring.js';
import { MetricsLayout, MetricsSlab } from '../../src/telemetry/metrics.js';

/** Echoes every frame with its first byte incremented; records ticks; can be told to throw. */
class Echo implements Pipeline {
  ticks: number[] = [];
  closed = 0;
  busyFlag = false;
  throwOnInput = false;
  constructor(
    private readonly pool: BufferPool,
    private readonly tx: TxBatch,
  ) {}
  input(slots: Int32Array, n: number): void {
    if (this.throwOnInput) throw new Error('pipeline bug');
    for (let i = 0; i < n; i++) {
      this.pool.u8[this.pool.base(slots[i])]++;
      this.tx.push(slots[i]);
    }
  }
  tick(now: number): void {
    this.ticks.push(now);
  }
  busy(): boolean {
    return this.busyFlag;
  }
  close(): void {
    this.closed++;
  }
}

function rig(opts: Partial<LoopOptions> = {}) {
  const [a, b] = createRingPair({ capacity: 64 });
  const pool = new BufferPool(64);
  const peerPool = new BufferPool(64);
  const queue: PortQueue = a.openQueue(0, pool);
  const peer = b.openQueue(0, peerPool);
  const tx = new TxBatch(queue);
  const pipeline = new Echo(pool, tx);
  const clock = new ManualClock(10_000);
  const s = createIpc(0, 8);
  const mgmt = new MgmtEnd(s);
  const layout = new MetricsLayout([...LOOP_METRICS]);
  const metrics = new MetricsSlab({ sab: layout.allocate(1), names: layout.names }, 0);
  const commands = new CommandTable();
  const loop = new WorkerLoop({ queue, pipeline, tx, clock, ipc: new WorkerEnd(s), commands, metrics }, opts);
  return { loop, pool, peer, peerPool, pipeline, clock, mgmt, commands, metrics };
}

function send(peer: PortQueue, pool: BufferPool, bytes: number[]): void {
  const s = pool.alloc();
  pool.write(s, Uint8Array.from(bytes));
  assert.equal(peer.txBurst(Int32Array.of(s), 1), 1);
}

test('one step takes a burst from the queue through the pipeline and flushes its replies', () => {
  const { loop, peer, peerPool, metrics } = rig();
  send(peer, peerPool, [1, 2, 3]);
  send(peer, peerPool, [7, 8]);
  assert.equal(loop.step(10_000), true);
  const rx = new Int32Array(4);
  assert.equal(peer.rxBurst(rx, 4), 2);
  assert.deepEqual([...peerPool.read(rx[0])], [2, 2, 3]);
  assert.deepEqual([...peerPool.read(rx[1])], [8, 8]);
  assert.equal(metrics.c[metrics.id('loop_rx_frames')], 2);
  assert.equal(metrics.c[metrics.id('loop_rx_bursts')], 1);
  assert.equal(loop.step(10_000), false, 'nothing left: an idle poll');
});

test('the tick comes every tickUs of the clock; a late tick is one call and keeps the phase', () => {
  const { loop, pipeline } = rig({ tickUs: 1000 });
  loop.step(10_999);
  assert.deepEqual(pipeline.ticks, []);
  loop.step(11_000);
  loop.step(11_500);
  assert.deepEqual(pipeline.ticks, [11_000]);
  loop.step(15_300);
  assert.deepEqual(pipeline.ticks, [11_000, 15_300]);
  loop.step(15_999);
  loop.step(16_000);
  assert.deepEqual(pipeline.ticks, [11_000, 15_300, 16_000]);
});

test('commands are dispatched between bursts and acked; handler failures become error codes', () => {
  const { loop, mgmt, commands, metrics } = rig();
  const seen: unknown[] = [];
  commands.onConfig((u) => (seen.push(u), 0));
  commands.on(CMD_USER_BASE, () => {
    throw new Error('handler bug');
  });
  commands.on(CMD_USER_BASE + 1, () => Number.NaN);
  const s1 = mgmt.send(CMD_CONFIG, encodeJson({ rate: 5 }));
  const s2 = mgmt.send(CMD_CONFIG, Uint8Array.of(3, 0, 0x7b, 0x7b, 0x7b));
  const s3 = mgmt.send(CMD_USER_BASE);
  const s4 = mgmt.send(CMD_USER_BASE + 1);
  assert.equal(loop.step(10_000), true, 'commands count as work');
  assert.deepEqual(seen, [{ rate: 5 }]);
  const acks: Ack[] = [];
  const a: Ack = { seq: 0, rc: 0, workerIdx: 0 };
  while (mgmt.pollAck(a)) acks.push({ ...a });
  assert.deepEqual(
    acks.map((x) => [x.seq, x.rc]),
    [
      [s1, 0],
      [s2, RC_BAD_PAYLOAD],
      [s3, RC_HANDLER_FAILED],
      [s4, RC_HANDLER_FAILED],
    ],
  );
  assert.equal(metrics.c[metrics.id('loop_command_errors')], 3);
});

test('run() parks when idle, stops on request, closes the pipeline and the queue, and returns stats', async () => {
  const { loop, pipeline, mgmt, pool, peer, peerPool, metrics } = rig({ idleUs: 0, parkUs: 500 });
  send(peer, peerPool, [1]);
  const done = loop.run();
  // After the echo the loop idles and parks (the park blocks this thread, so it is seen in the counter).
  for (let i = 0; i < 1000 && metrics.c[metrics.id('loop_parks')] === 0; i++) await new Promise((r) => setImmediate(r));
  // The echo is flushed before parking; taking it returns its slot (the ring frees on receipt).
  const rx = new Int32Array(2);
  assert.equal(peer.rxBurst(rx, 2), 1);
  mgmt.stop();
  const stats = await done;
  assert.equal(pipeline.closed, 1);
  assert.equal(stats.loop_rx_frames, 1);
  assert.ok(stats.loop_parks >= 1);
  assert.equal(stats.slots_in_use, 0);
  assert.equal(pool.available, pool.count);
});

test('a pipeline that throws ends run() with its error, after closing the pipeline', async () => {
  const { loop, pipeline, peer, peerPool } = rig();
  pipeline.throwOnInput = true;
  send(peer, peerPool, [1]);
  await assert.rejects(loop.run(), /pipeline bug/);
  assert.equal(pipeline.closed, 1);
});

test('a busy pipeline keeps the loop from parking', async () => {
  const { loop, pipeline, mgmt, metrics } = rig({ idleUs: 0, parkUs: 500 });
  pipeline.busyFlag = true;
  const done = loop.run();
  while (metrics.c[metrics.id('loop_yields')] < 20) await new Promise((r) => setImmediate(r));
  assert.equal(metrics.c[metrics.id('loop_parks')], 0);
  mgmt.stop();
  await done;
});

test('loop options and the metrics layout are checked', () => {
  assert.throws(() => rig({ burst: 0 }), /burst/);
  assert.throws(() => rig({ tickUs: Number.NaN }), /tickUs/);
  const s = createIpc(0, 2);
  const layout = new MetricsLayout(['other']);
  const metrics = new MetricsSlab({ sab: layout.allocate(1), names: layout.names }, 0);
  const [a] = createRingPair();
  const queue = a.openQueue(0, new BufferPool(4));
  const tx = new TxBatch(queue);
  const pipeline = { input() {}, tick() {}, busy: () => false, close() {} };
  assert.throws(
    () => new WorkerLoop({ queue, pipeline, tx, clock: new ManualClock(), ipc: new WorkerEnd(s), commands: new CommandTable(), metrics }),
    /must start with loop_polls/,
  );
});
