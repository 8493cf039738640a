import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CACHE_LINE, MetricsLayout, MetricsReader, MetricsSlab } from '../../src/telemetry/metrics.js';

test('each worker slab starts on its own cache line and writes stay inside it', () => {
  const names = Array.from({ length: 9 }, (_, i) => `c${i}`);
  const layout = new MetricsLayout(names);
  assert.equal(layout.stride, 16, '9 counters take two 8-cell lines');
  const shared = { sab: layout.allocate(3), names: layout.names };
  const slabs = [0, 1, 2].map((w) => new MetricsSlab(shared, w));
  for (const s of slabs) assert.equal(s.c.byteOffset % CACHE_LINE, 0);
  slabs[1].c.fill(1);
  const r = new MetricsReader(shared);
  assert.equal(Object.values(r.worker(0)).reduce((a, b) => a + b), 0);
  assert.equal(Object.values(r.worker(1)).reduce((a, b) => a + b), 9);
  assert.equal(Object.values(r.worker(2)).reduce((a, b) => a + b), 0);
});

test('management sums every counter over the workers into a plain object', () => {
  const layout = new MetricsLayout(['rx_frames', 'tx_frames', 'open_conns']);
  const shared = { sab: layout.allocate(2), names: layout.names };
  const a = new MetricsSlab(shared, 0);
  const b = new MetricsSlab(shared, 1);
  const RX = a.id('rx_frames');
  const CONNS = a.id('open_conns');
  a.c[RX] += 10;
  b.c[RX] += 32;
  a.c[CONNS] = 3;
  b.c[CONNS] = 4;
  b.c[b.id('tx_frames')] += 2 ** 40;
  assert.deepEqual(new MetricsReader(shared).sum(), { rx_frames: 42, tx_frames: 2 ** 40, open_conns: 7 });
  assert.deepEqual(new MetricsReader(shared).worker(1), { rx_frames: 32, tx_frames: 2 ** 40, open_conns: 4 });
});

test('names are checked at registration and lookups of unknown names throw', () => {
  assert.throws(() => new MetricsLayout(['ok', 'ok']), /registered twice/);
  assert.throws(() => new MetricsLayout(['__proto__']), /snake_case/);
  assert.throws(() => new MetricsLayout(['Bad-Name']), /snake_case/);
  const layout = new MetricsLayout(['a']);
  assert.throws(() => layout.id('b'), /not registered/);
  assert.throws(() => new MetricsSlab({ sab: layout.allocate(1), names: layout.names }, 1), /no metrics slab for worker 1/);
  assert.throws(() => layout.allocate(0), /worker count/);
});
