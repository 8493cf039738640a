/**
 * Worker threads on a real driver: a generator worker and two echo workers
 * sharing one two-queue af_packet port (opened once by management, attached
 * by handle in each worker) exchange frames across a veth pair between two
 * network namespaces.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkerSet } from '../../src/run/workers.js';
import { nativeDrivers } from '../../src/port/native.js';
import { NetnsLab, netTestSkipReason } from '../helpers/netns.js';
import { metricNames } from './fixtures/test_pipeline.js';

test('af_packet: gen worker -> veth -> two echo workers on one shared port -> back, byte-exact', async (t) => {
  const reason = netTestSkipReason() ?? (nativeDrivers().includes('af_packet') ? null : 'the af_packet driver is not built');
  if (reason !== null) return t.skip(reason);
  const lab = new NetnsLab('vgcore-');
  t.after(() => lab.cleanup());
  const a = lab.addNs('a');
  const b = lab.addNs('b');
  lab.addVeth({ name: 'vgcore-a', ns: a }, { name: 'vgcore-b', ns: b });
  const N = 2000;
  // Frames lost before the echo workers' sockets exist (or before the veth's carrier settles) would
  // stall the generator's window: it starts after ~1 s of ticks.
  const echoPort = `af_packet:iface=vgcore-b,netns=${b},queues=2`;
  const set = await WorkerSet.start({
    workers: [
      { port: `af_packet:iface=vgcore-a,netns=${a}`, config: { mode: 'gen', frames: N, perTick: 32, len: 128, startTicks: 1000 } },
      { port: echoPort, queueId: 0, config: { mode: 'echo' } },
      { port: echoPort, queueId: 1, config: { mode: 'echo' } },
    ],
    pipeline: new URL('./fixtures/test_pipeline.js', import.meta.url),
    metrics: metricNames,
  });
  try {
    const deadline = Date.now() + 20_000;
    while (set.metricsOf(0).fx_rx < N && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  } finally {
    const results = await set.stop();
    for (const r of results) assert.equal(r.error, null, `worker ${r.workerIdx}`);
    for (const r of results) assert.equal(r.stats?.slots_in_use, 0, `worker ${r.workerIdx} leaked slots`);
  }
  const gen = set.metricsOf(0);
  t.diagnostic(`echoed per queue: ${set.metricsOf(1).fx_echoed} / ${set.metricsOf(2).fx_echoed}; other frames seen: ${gen.fx_other}`);
  assert.equal(gen.fx_tx, N);
  assert.equal(gen.fx_rx, N, `${N - gen.fx_rx} frames did not come back`);
  assert.equal(gen.fx_bad, 0);
  assert.equal(set.metricsOf(1).fx_echoed + set.metricsOf(2).fx_echoed, N, 'the two queues together echoed every frame once');
  assert.equal(lab.counter(b, 'vgcore-b', 'rx_packets') >= N, true);
});
