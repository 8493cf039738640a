/**
 * Thresholds and the HTML report (issue 22 §5, §6) on real runs against
 * nginx in a namespace this file creates (prefix vgrp-, 198.18.110.0/24):
 * a run whose thresholds pass exits 0, one that fails one exits 4, with the
 * `thresholds` entries of --json (a tcp:// load's too); --abort-on-fail ends
 * a run early; bad expressions are refused before any request reaches
 * nginx. The reports
 * (--report at the end of a run, `vaigai report` from a saved --json) open
 * in headless Chromium with no console error and no request but their own
 * file, each chart holding the result's points; screenshots go to
 * test-artifacts/.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromiumSkipReason, openFile } from '../helpers/chromium.js';
import { FrontLab, frontSkipReason } from './lab.js';

const NGINX_IP = '198.18.110.1';
const SRC_IP = '198.18.110.10';
const ARTIFACTS = fileURLToPath(new URL('../../../test-artifacts/', import.meta.url));

interface Entry {
  expr: string;
  metric: string;
  op: string;
  limit: number;
  value: number | null;
  ok: boolean;
}
interface Result {
  seconds: number;
  app: { seconds: number; requests: number; responses: number };
  thresholds?: Entry[];
  series?: { t: number; rps: number; cps: number; concurrency: number; latency: Record<string, { count: number }>; flows?: { rps: number }[] }[];
  phases?: Record<string, { count: number }>;
  flows: { name: string }[];
}

const readResult = (path: string): Result => JSON.parse(readFileSync(path, 'utf8')) as Result;

interface Drawn {
  id: string;
  points: number;
  lines: number;
  canvas: boolean;
  first: (number | null)[];
}

/**
 * Opens the report in Chromium and checks it against its result: nothing
 * logged as an error, no request but the file, every chart drawn with the
 * series' seconds (or the distribution's percentiles), the thresholds listed
 * with pass or fail; saves a full-page screenshot.
 */
async function checkReport(html: string, r: Result, shot: string): Promise<void> {
  const p = await openFile(html);
  try {
    assert.deepEqual(p.consoleErrors, [], 'console errors');
    assert.deepEqual(p.failedRequests, [], 'failed requests');
    assert.deepEqual(p.requests, [pathToFileURL(html).href], 'the page loads nothing but itself');
    const drawn = (await p.page.evaluate(`window.vaigaiReport.charts.map((c) => ({
      id: c.id, points: c.points, lines: c.lines,
      canvas: document.querySelector('#chart-' + c.id + ' canvas') !== null,
      first: c.plot.data[1],
    }))`)) as Drawn[];
    const series = r.series ?? [];
    const phasesOverTime = [...new Set(series.flatMap((s) => Object.keys(s.latency)))];
    const phases = Object.entries(r.phases ?? {}).filter(([, s]) => s.count > 0).map(([k]) => k);
    assert.ok(series.length >= 2, `a series of ${series.length} seconds`);
    assert.ok(phases.includes('response'), `phases ${phases.join(',')}`);
    const ids = drawn.map((d) => d.id).sort();
    // A load of several flows adds each flow's rate and response p99 over time.
    const byFlow = r.flows.length > 1 ? ['flow-latency', 'flow-rates'] : [];
    assert.deepEqual(ids, ['concurrency', 'distribution', 'errors', 'rates', ...byFlow, ...phasesOverTime.map((ph) => `latency-${ph}`)].sort());
    for (const d of drawn) {
      assert.ok(d.canvas, `${d.id}: drawn`);
      assert.equal(d.points, d.id === 'distribution' ? 41 : series.length, `${d.id}: points`);
    }
    assert.deepEqual(drawn.find((d) => d.id === 'rates')?.first, series.map((s) => s.rps), 'the rates chart holds the series');
    if (byFlow.length > 0) {
      assert.deepEqual(drawn.find((d) => d.id === 'flow-rates')?.first, series.map((s) => s.flows?.[0].rps), 'the by-flow rates chart holds the first flow\'s series');
      assert.equal(drawn.find((d) => d.id === 'flow-rates')?.lines, r.flows.length, 'a line per flow');
    }
    assert.equal(drawn.find((d) => d.id === 'distribution')?.lines, phases.length, 'a distribution line per phase');
    const flows = (await p.page.evaluate(`[...document.querySelectorAll('h3 + table tbody tr td:first-child')].map((td) => td.textContent)`)) as string[];
    assert.deepEqual(flows, r.flows.length > 1 ? r.flows.map((fl) => fl.name) : [], 'the table by flow');
    const rows = (await p.page.evaluate(`[...document.querySelectorAll('table.thresholds tbody tr')].map((tr) => tr.textContent)`)) as string[];
    assert.equal(rows.length, r.thresholds?.length ?? 0);
    rows.forEach((row, i) => {
      const t = r.thresholds?.[i];
      assert.ok(row.startsWith(t?.ok === true ? 'pass' : 'FAIL') && row.includes(t?.expr ?? '?'), row);
    });
    mkdirSync(ARTIFACTS, { recursive: true });
    await p.page.screenshot({ path: join(ARTIFACTS, shot), fullPage: true });
  } finally {
    await p.close();
  }
}

test('thresholds pass (exit 0) and fail (exit 4), --abort-on-fail, refusals before traffic; the HTML report in Chromium', { timeout: 180_000 }, async (t) => {
  const skip = (await frontSkipReason(['nginx', 'curl', 'ethtool'])) ?? chromiumSkipReason();
  if (skip !== null) return t.skip(skip);
  const f = new FrontLab('vgrp-');
  t.after(() => f.cleanup());
  const { gen, peer, genIf } = f.pair(NGINX_IP);
  f.randomFile('small.bin', 256);
  const accessLog = join(f.dir, 'access.log');
  await f.nginx(peer, NGINX_IP, null, accessLog);
  const logged = (): number => readFileSync(accessLog, 'utf8').split('\n').filter((l) => l !== '').length;
  const base = ['--port', `af_packet:iface=${genIf}`, '--src-ip', `${SRC_IP}/24`, '--client', `http://${NGINX_IP}:8080/small.bin`, '--connections', '4'];
  const passJson = join(f.dir, 'pass.json');
  const passHtml = join(f.dir, 'pass.html');
  const failJson = join(f.dir, 'fail.json');

  await t.test('passing thresholds: exit 0, each entry ok with its measured value', async () => {
    const r = await f.vaigai(gen, [...base, '--duration', '3', '--threshold', 'http.p99<2s', '--threshold', 'errors<1%', '--threshold', 'rps>10', '--json', passJson, '--report', passHtml], 60_000);
    assert.equal(r.code, 0, r.out);
    const j = readResult(passJson);
    assert.ok(j.app.responses > 30, `${j.app.responses} responses`);
    assert.deepEqual(j.thresholds?.map((e) => [e.expr, e.metric, e.op, e.limit, e.ok]), [
      ['http.p99<2s', 'response.p99', '<', 2e6, true],
      ['errors<1%', 'errors', '<', 0.01, true],
      ['rps>10', 'rps', '>', 10, true],
    ]);
    const [p99, errors, rps] = (j.thresholds ?? []).map((e) => e.value ?? NaN);
    assert.ok(p99 > 0 && p99 < 2e6, `p99 ${p99}`);
    assert.equal(errors, 0);
    // Over the load's time (app.seconds), as the summary's rate: the run's `seconds` add the drain and the close.
    assert.ok(Math.abs(rps - j.app.responses / j.app.seconds) < 1e-6, `rps ${rps} against ${j.app.responses} in ${j.app.seconds} s`);
    assert.match(r.out, /thresholds +pass http\.p99<2s/);
  });

  await t.test("a failing threshold (the profile's) beside a passing one (--threshold): exit 4, each entry as it went", async () => {
    // Two flows, for the report's table by flow below.
    const profile = join(f.dir, 'two-flows.json');
    const flow = (name: string) => ({ name, dst_ip: NGINX_IP, dst_port: 8080, requests: [{ url: `/small.bin?${name}` }] });
    writeFileSync(profile, JSON.stringify({ flows: [flow('a'), flow('b')], load: { connections: 4, duration_secs: 2 }, thresholds: ['http.p50<1us'] }));
    const r = await f.vaigai(gen, ['--port', `af_packet:iface=${genIf}`, '--src-ip', `${SRC_IP}/24`, '--config', profile, '--threshold', 'rps>1', '--json', failJson], 60_000);
    assert.equal(r.code, 4, r.out);
    const [p50, rps] = readResult(failJson).thresholds ?? [];
    assert.deepEqual([p50.expr, rps.expr], ['http.p50<1us', 'rps>1']);
    assert.equal(p50.ok, false);
    assert.ok((p50.value ?? 0) >= 1, `p50 ${p50.value}`);
    assert.equal(rps.ok, true);
    assert.match(r.out, /FAIL http\.p50<1us/);
    assert.match(r.out, /1 of 2 thresholds failed/);
  });

  await t.test('--abort-on-fail stops the run once a maximum is past its limit', async () => {
    const json = join(f.dir, 'abort.json');
    const r = await f.vaigai(gen, [...base, '--duration', '30', '--threshold', 'http.max<1us', '--abort-on-fail', '--json', json], 60_000);
    assert.equal(r.code, 4, r.out);
    assert.match(r.out, /threshold http\.max<1us failed at \d+ s \(--abort-on-fail\)/);
    const j = readResult(json);
    assert.ok(j.seconds < 15, `stopped after ${j.seconds} s of 30`);
    assert.equal(j.thresholds?.[0].ok, false);
  });

  await t.test('a tcp:// connect-rate load: thresholds on its connect phase, rate and ratio', async () => {
    const json = join(f.dir, 'tcp.json');
    const r = await f.vaigai(gen, [
      '--port', `af_packet:iface=${genIf}`, '--src-ip', `${SRC_IP}/24`, '--client', `tcp://${NGINX_IP}:8080`, '--connections', '4', '--rate', '100', '--duration', '2',
      '--threshold', 'connect.p99<1s', '--threshold', 'cps>10', '--threshold', 'connect_errors==0', '--json', json,
    ], 60_000);
    assert.equal(r.code, 0, r.out);
    const entries = readResult(json).thresholds ?? [];
    assert.deepEqual(entries.map((e) => [e.metric, e.ok]), [['connect.p99', true], ['cps', true], ['connect_errors', true]]);
    assert.ok((entries[0].value ?? 0) > 0 && (entries[1].value ?? 0) > 10, JSON.stringify(entries));
  });

  await t.test('bad expressions are refused before any traffic, by the option or the profile pointer', async () => {
    const before = logged();
    // The grammar's refusals are test/run/threshold.test.ts's; here, that the command refuses before sending.
    for (const [expr, part] of [['http.p99<5', '5'], ['latency.p99<5ms', 'latency']]) {
      const r = await f.vaigai(gen, [...base, '--duration', '2', '--threshold', expr], 30_000);
      assert.equal(r.code, 1, r.out);
      assert.match(r.out, new RegExp(`vaigai: --threshold: "${expr.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"`), r.out);
      assert.ok(r.out.includes(`at "${part}"`), `${expr}: names ${part}: ${r.out}`);
    }
    const profile = join(f.dir, 'bad.json');
    writeFileSync(profile, JSON.stringify({ flows: [{ name: 'f', dst_ip: NGINX_IP, dst_port: 8080 }], load: { duration_secs: 2 }, thresholds: ['http.p99<5ms', 'http.p99<'] }));
    const r = await f.vaigai(gen, ['--port', `af_packet:iface=${genIf}`, '--src-ip', `${SRC_IP}/24`, '--config', profile], 30_000);
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /--config \S+bad\.json: \/thresholds\/1: "http\.p99<"/);
    const server = await f.vaigai(gen, ['--port', `af_packet:iface=${genIf}`, '--src-ip', `${SRC_IP}/24`, '--server', '--duration', '1', '--threshold', 'rps>1'], 30_000);
    assert.equal(server.code, 1, server.out);
    assert.match(server.out, /--threshold: needs a client load/);
    assert.equal(logged(), before, 'no request reached nginx');
  });

  await t.test('the --report page of the passing run, in Chromium', async () => {
    await checkReport(passHtml, readResult(passJson), 'report-pass.png');
  });

  await t.test('`vaigai report` renders the failing run from its --json', async () => {
    const html = join(f.dir, 'fail.html');
    const r = await f.vaigai(gen, ['report', failJson, '-o', html], 30_000);
    assert.equal(r.code, 0, r.out);
    await checkReport(html, readResult(failJson), 'report-fail.png');
    const bad = await f.vaigai(gen, ['report', accessLog, '-o', join(f.dir, 'x.html')], 30_000);
    assert.equal(bad.code, 1, bad.out);
    assert.match(bad.out, /<result>: .*not JSON/);
  });
});
