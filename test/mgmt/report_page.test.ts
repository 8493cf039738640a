/**
 * The HTML report's page, without a browser (test/front/thresholds_report
 * opens real ones in Chromium): self-contained (uPlot inlined, nothing
 * fetched), text from the result cannot close its script elements, and the
 * embedded chart data holds the series' seconds and each phase's
 * distribution decoded from its HdrHistogram.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderReport } from '../../src/mgmt/report/render.js';
import { notAResult } from '../../src/mgmt/report/result_view.js';
import type { PhaseStats, RunResult, SeriesEntry } from '../../src/run/result_schema.js';
import { phaseStats } from '../../src/run/run_record.js';
import { Histogram } from '../../src/telemetry/histogram.js';

function phase(values: number[]): PhaseStats {
  const h = new Histogram({ lowest: 1, highest: 60e6, digits: 3 });
  for (const v of values) h.record(v);
  return phaseStats(h) as PhaseStats;
}

const HOSTILE = '</script><script>window.pwned = 1</script>';

function result(): RunResult {
  const series = [1, 2, 3].map((t) => ({
    t, requests: 10, responses: 10, connects: t === 1 ? 2 : 0, rps: 10, cps: t === 1 ? 2 : 0, concurrency: 2, bytesIn: 1000, bytesOut: 500,
    errors: (t === 2 ? { responseTimeout: 1 } : {}) as Record<string, number>,
    latency: { response: { count: 10, p50: 100 * t, p90: 150, p99: 200, max: 250 } },
  }));
  const now = new Date().toISOString();
  return {
    seconds: 3, workers: 1, counters: { rxFrames: 40 }, port: {}, tcp: null, udp: null, app: { requests: 30 }, loop: {}, perWorker: [],
    meta: { tool: 'vaigai', version: '0', startedAt: now, endedAt: now, argv: ['--client', HOSTILE], host: { hostname: 'h', cpus: 2, node: 'v20', kernel: '6' }, clocks: { response: 'stack' } },
    profile: { flows: [{ name: 'f', headers: { 'X-Test': HOSTILE } }] },
    phases: { response: phase(Array.from({ length: 30 }, (_, i) => 100 + i * 10)), connect: phase([40, 60]) },
    flows: [],
    series,
    thresholds: [{ expr: 'http.p99<1ms', metric: 'response.p99', op: '<', limit: 1000, value: 390, ok: true }],
  };
}

test('the report page is self-contained, escapes the result, and embeds each chart with its points', () => {
  const r = result();
  assert.equal(notAResult(r), null);
  const html = renderReport(r);
  assert.equal(html.match(/<\/script>/g)?.length, 3, 'uPlot, the data and the page script: no script closed by the result');
  assert.ok(!html.includes('<script>window.pwned'), 'the hostile text is escaped');
  assert.doesNotMatch(html, /(src|href)=["']?(https?:)?\/\//, 'nothing to fetch');
  assert.match(html, /var uPlot=/, 'uPlot inlined');
  const json = /<script type="application\/json" id="report-data">(.*?)<\/script>/s.exec(html)?.[1] ?? '';
  const data = JSON.parse(json) as { charts: { id: string; xs: number[]; lines: { label: string; values: (number | null)[] }[] }[] };
  const byId = new Map(data.charts.map((c) => [c.id, c]));
  assert.deepEqual([...byId.keys()], ['rates', 'concurrency', 'errors', 'latency-response', 'distribution']);
  for (const id of ['rates', 'concurrency', 'errors', 'latency-response']) assert.deepEqual(byId.get(id)?.xs, [1, 2, 3], id);
  assert.deepEqual(byId.get('errors')?.lines, [{ label: 'responseTimeout', values: [0, 1, 0] }]);
  assert.deepEqual(byId.get('latency-response')?.lines[0].values, [100, 200, 300]);
  const dist = byId.get('distribution');
  assert.deepEqual(dist?.lines.map((l) => l.label), ['connect', 'response'], 'in the order a request lives them');
  const response = dist?.lines[1].values ?? [];
  assert.equal(response[0], r.phases.response.min, 'the distribution starts at the minimum');
  assert.equal(response[response.length - 1], r.phases.response.max, 'and ends at the maximum');
  assert.ok(response.every((v, i) => i === 0 || (v ?? 0) >= (response[i - 1] ?? 0)), 'rising');
});

test('a load of several flows: each flow\'s rate and response p99 over time, a chart each', () => {
  const r = result();
  r.flows = ['a', 'b'].map((name) => ({ name, counters: {}, phases: {} }));
  r.series = r.series.map((e, k) => ({
    ...e,
    flows: [
      { name: 'a', requests: 7, responses: 7, connects: 0, connectFailures: 0, failedRequests: 0, dropped: 0, rps: 7, cps: 0, latency: { response: { count: 7, p50: 90, p90: 95, p99: 100 + k, max: 120 } } },
      { name: 'b', requests: 3, responses: k === 1 ? 0 : 3, connects: 0, connectFailures: 0, failedRequests: 0, dropped: 0, rps: k === 1 ? 0 : 3, cps: 0, latency: (k === 1 ? {} : { response: { count: 3, p50: 190, p90: 195, p99: 200, max: 220 } }) as SeriesEntry['latency'] },
    ],
  }));
  assert.equal(notAResult(r), null);
  const json = /<script type="application\/json" id="report-data">(.*?)<\/script>/s.exec(renderReport(r))?.[1] ?? '';
  const byId = new Map((JSON.parse(json) as { charts: { id: string; lines: { label: string; values: (number | null)[] }[] }[] }).charts.map((c) => [c.id, c]));
  assert.deepEqual(byId.get('flow-rates')?.lines, [{ label: 'a', values: [7, 7, 7] }, { label: 'b', values: [3, 0, 3] }]);
  assert.deepEqual(byId.get('flow-latency')?.lines, [{ label: 'a', values: [100, 101, 102] }, { label: 'b', values: [200, null, 200] }], 'a second without answers breaks the line');
});

test('a file that is not a run result is refused with the field at fault', () => {
  assert.equal(notAResult([]), 'not a JSON object');
  const { series: _, ...noSeries } = result();
  assert.match(notAResult(noSeries) ?? '', /^not a vaigai --json result: \/series: /);
  assert.match(notAResult({ ...result(), seconds: 'x' }) ?? '', /\/seconds: expected number/);
});
