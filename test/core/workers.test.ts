import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CMD_NOP, CMD_USER_BASE, RC_OK, RC_UNKNOWN_CMD } from '../../src/core/ipc.js';
import { LIVE_ACK_MS, WorkerSet, type WorkerSetOptions } from '../../src/run/workers.js';
import { loadNative } from '../../src/port/native.js';
import { createShmLink } from '../../src/port/shm_ring.js';
import { metricNames } from './fixtures/test_pipeline.js';

const FIXTURE = new URL('./fixtures/test_pipeline.js', import.meta.url);

function start(opts: Omit<WorkerSetOptions, 'pipeline' | 'metrics'>): Promise<WorkerSet> {
  return WorkerSet.start({ pipeline: FIXTURE, metrics: metricNames, ...opts });
}

/** Polls `cond` every 5 ms; fails after `ms` (a bound on the wait, not a performance assertion). */
async function waitFor(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('a generator and an echo worker exchange frames byte-exact over a shm link across threads', async () => {
  const N = 5000;
  const link = createShmLink({ capacity: 256 });
  const set = await start({
    workers: [
      { port: 'shm', shm: { link, side: 0 }, config: { mode: 'gen', frames: N, len: 200 } },
      { port: 'shm', shm: { link, side: 1 }, config: { mode: 'echo', len: 200 } },
    ],
  });
  try {
    await waitFor('all frames echoed', () => set.metricsOf(0).fx_rx + set.metricsOf(0).fx_bad >= N);
  } finally {
    const results = await set.stop();
    for (const r of results) {
      assert.equal(r.error, null);
      assert.ok(r.stats !== null);
      assert.equal(r.stats.slots_in_use, 0, `worker ${r.workerIdx} leaked slots`);
    }
    assert.equal(results[1].stats?.loop_rx_frames, N);
  }
  const gen = set.metricsOf(0);
  const echo = set.metricsOf(1);
  assert.equal(gen.fx_tx, N);
  assert.equal(gen.fx_rx, N);
  assert.equal(gen.fx_bad, 0);
  assert.equal(echo.fx_echoed, N);
  assert.equal(gen.fx_closed + echo.fx_closed, 2, 'both pipelines closed');
  assert.ok(gen.loop_ticks >= N / 64, 'the generator ran on timer ticks');
});

test('metrics sum across workers and each slab holds only its own worker', async () => {
  const N = 1000;
  const set = await start({
    workers: [0, 1, 2].map(() => ({ port: 'null' })),
    config: { mode: 'gen', frames: N, perTick: 100, window: N },
  });
  try {
    await waitFor('every worker sent its frames', () => set.metrics().fx_tx >= 3 * N);
  } finally {
    await set.stop();
  }
  const sum = set.metrics();
  assert.equal(sum.fx_tx, 3 * N);
  let ticks = 0;
  for (let w = 0; w < 3; w++) {
    assert.equal(set.metricsOf(w).fx_tx, N);
    ticks += set.metricsOf(w).loop_ticks;
  }
  assert.equal(sum.loop_ticks, ticks);
});

test('config updates reach every worker and come back acked with their rc', async () => {
  const set = await start({ workers: [{ port: 'null' }, { port: 'null' }], config: { mode: 'idle' } });
  try {
    const ok = await set.update({ version: 7 });
    assert.deepEqual(
      ok.map((a) => [a.workerIdx, a.rc]),
      [
        [0, RC_OK],
        [1, RC_OK],
      ],
    );
    assert.equal(set.metricsOf(0).fx_config, 7);
    assert.equal(set.metricsOf(1).fx_config, 7);
    const refused = await set.update({ version: -1 });
    assert.deepEqual(
      refused.map((a) => a.rc),
      [-5, -5],
    );
    assert.equal(set.metricsOf(1).fx_config, 7, 'a refused update changes nothing');
    const unknown = await set.waitAcks(set.broadcast(CMD_USER_BASE + 5));
    assert.deepEqual(
      unknown.map((a) => a.rc),
      [RC_UNKNOWN_CMD, RC_UNKNOWN_CMD],
    );
    const ping = await set.waitAcks(set.broadcast(CMD_NOP));
    assert.deepEqual(
      ping.map((a) => a.rc),
      [RC_OK, RC_OK],
    );
    assert.equal(set.metrics().loop_command_errors, 4);
    assert.equal(set.metrics().loop_commands, 8);
  } finally {
    await set.stop();
  }
});

test('a live change names the worker that did not ack within 100 ms; its ack still comes later', async () => {
  const set = await start({ workers: [{ port: 'null' }, { port: 'null' }, { port: 'null' }], config: { mode: 'idle' } });
  try {
    const acks = await set.updateEach([{ version: 3 }, { version: 3, stallMs: 400 }, null], LIVE_ACK_MS);
    assert.deepEqual(acks, [
      { worker: 0, rc: RC_OK },
      { worker: 1, rc: null },
    ]);
    assert.equal(set.metricsOf(0).fx_config, 3);
    assert.equal(set.metricsOf(2).loop_commands, 0, 'a worker given no update gets none');
    await waitFor('the late worker to apply it', () => set.metricsOf(1).fx_config === 3);
    const refused = await set.updateEach([{ version: -1 }, { version: 4 }, { version: 4 }]);
    assert.deepEqual(
      refused.map((a) => a.rc),
      [-5, RC_OK, RC_OK],
    );
  } finally {
    await set.stop();
  }
});

test('an idle worker parks and uses almost no CPU', async (t) => {
  const set = await start({ workers: [{ port: 'null' }], config: { mode: 'idle' } });
  try {
    await waitFor('the worker to park', () => set.metricsOf(0).loop_parks > 20);
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    await new Promise((r) => setTimeout(r, 500));
    const c = process.cpuUsage(c0);
    const frac = (c.user + c.system) / 1000 / (performance.now() - t0);
    const m = set.metricsOf(0);
    t.diagnostic(`process CPU while parked: ${(frac * 100).toFixed(1)}% of one core; parks ${m.loop_parks}, parked ${(m.loop_parked_us / 1000).toFixed(0)} ms`);
    assert.ok(frac < 0.2, `parked worker used ${(frac * 100).toFixed(1)}% CPU`);
    assert.ok(m.loop_ticks > 0, 'ticks continue while parked');
  } finally {
    await set.stop();
  }
});

test('management wakes a parked worker: a command is acked long before the park would time out', async () => {
  const set = await start({ workers: [{ port: 'null' }], config: { mode: 'idle' }, loop: { parkUs: 60_000_000 } });
  try {
    await waitFor('the worker to park', () => set.ipc(0).parked);
    const [ack] = await set.update({ version: 3 }, 5000);
    assert.equal(ack.rc, RC_OK);
    assert.equal(set.metricsOf(0).fx_config, 3);
    await waitFor('the worker to park again', () => set.ipc(0).parked);
  } finally {
    // stop() must wake it too: its 5 s bound is far below the 60 s park.
    const [r] = await set.stop(5000);
    assert.equal(r.error, null);
  }
});

test('a pipeline that fails at creation fails start; one that fails later reports it at stop', async () => {
  await assert.rejects(start({ workers: [{ port: 'null' }], config: { mode: 'fail_create' } }), /worker 0: fixture: refused to start/);
  const failing = await start({ workers: [{ port: 'null' }], config: { mode: 'fail_tick' } });
  await waitFor('the failure to reach management', () => failing.failed().length === 1);
  assert.equal(failing.failed()[0].error, 'fixture: tick failed');
  const [r] = await failing.stop();
  assert.equal(r.stats, null);
  assert.equal(r.error, 'fixture: tick failed');
  assert.equal(failing.metricsOf(0).fx_closed, 1, 'the pipeline was closed after the failure');
});

test('a port that cannot open is reported by start, not a crash', async () => {
  await assert.rejects(start({ workers: [{ port: 'shm' }], config: { mode: 'idle' } }), /shm driver needs a link/);
  await assert.rejects(start({ workers: [{ port: 'bogus:x=1' }], config: { mode: 'idle' } }), /unknown port driver 'bogus'/);
});

test('a worker pins its thread to the CPU it was given', async (t) => {
  const addon = loadNative();
  if (addon === null) return t.skip('the native addon is not built: no pinThread');
  const cpus = addon.getAffinity();
  const cpu = cpus[cpus.length - 1];
  const set = await start({ workers: [{ port: 'null', cpu }, { port: 'null' }], config: { mode: 'idle' } });
  await set.stop();
  assert.deepEqual(set.pinnedCpus, [cpu, -1]);
  assert.equal(set.metricsOf(0).fx_affinity, 2 ** cpu, 'the pinned worker runs only on its CPU');
  assert.equal(set.metricsOf(1).fx_affinity, cpus.reduce((m, c) => m + 2 ** c, 0), 'the other keeps the whole mask');
});

test('latency histograms of all workers merge on the management side', async () => {
  const set = await start({
    workers: [
      { port: 'null', config: { mode: 'idle', latency: [100, 200, 300] } },
      { port: 'null', config: { mode: 'idle', latency: [1000, 2000] } },
    ],
    histogram: { lowest: 1, highest: 60_000_000, digits: 3 },
  });
  await set.stop();
  const h = set.histogram();
  assert.ok(h !== null);
  assert.equal(h.totalCount, 5);
  assert.equal(h.countAt(100), 1);
  assert.equal(h.countAt(2000), 1);
  assert.equal(h.min, 100);
  assert.equal(h.valueAtPercentile(100), 2000);
  assert.equal(h.valueAtPercentile(50), 300);
});

test('stop releases everything: the process exits by itself', async () => {
  const child = spawn(process.execPath, [fileURLToPath(new URL('./fixtures/exit_child.js', import.meta.url))], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  clearTimeout(killer);
  assert.equal(code, 0, `child did not exit by itself (stderr: ${err})`);
  const res = JSON.parse(out) as { rx: number; results: { error: string | null; stats: { slots_in_use: number } }[] };
  assert.equal(res.rx, 2000);
  for (const r of res.results) {
    assert.equal(r.error, null);
    assert.equal(r.stats.slots_in_use, 0);
  }
});
