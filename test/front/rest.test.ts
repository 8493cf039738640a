/**
 * The long-running generator's REST API and /metrics, over real HTTP to a
 * real `vaigai -R` with two workers against nginx, in namespaces this file
 * creates (prefix vgrs-, 198.18.130.0/24). The API listens on the generator
 * namespace's loopback; socat carries it to the root namespace's loopback
 * (127.0.0.1:19101) through a Unix socket, where this test and Prometheus
 * reach it. Every endpoint and every error path; 1,000 randomly mutated
 * bodies each refused with the config unchanged; a live connection-rate
 * change seen in the per-second counters; Prometheus scraping the generator
 * for 10 s and its query answering the JSON stats' request count; promtool.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import hdr from 'hdr-histogram-js';
import { FrontLab, Proc, frontSkipReason } from './lab.js';
import { exited } from '../helpers/netns.js';

const NGINX_IP = '198.18.130.1';
const SRC = '198.18.130.10-198.18.130.19/24';
/** The API in the generator's namespace, its bridge in the root namespace, and Prometheus. */
const REST_PORT = 19100;
const BRIDGE_PORT = 19101;
const PROM_PORT = 19102;
const TOKEN = randomBytes(12).toString('hex');
const BASE = `http://127.0.0.1:${BRIDGE_PORT}`;

interface Answer {
  status: number;
  body: unknown;
  text: string;
}

async function call(method: string, path: string, body?: string | object, headers: Record<string, string> = {}): Promise<Answer> {
  const h: Record<string, string> = { authorization: `Bearer ${TOKEN}`, ...headers };
  let payload: string | undefined;
  if (body !== undefined) {
    payload = typeof body === 'string' ? body : JSON.stringify(body);
    h['content-type'] ??= 'application/json';
  }
  const r = await fetch(`${BASE}${path}`, { method, headers: h, body: payload });
  const text = await r.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = null;
  }
  return { status: r.status, body: parsed, text };
}

/** A coded error answer: its status, code and pointer. */
function assertError(a: Answer, status: number, code: string, pointer?: string): void {
  assert.equal(a.status, status, a.text);
  const b = a.body as { code: string; message: string; pointer?: string };
  assert.equal(b.code, code, a.text);
  assert.equal(typeof b.message, 'string');
  if (pointer !== undefined) assert.equal(b.pointer, pointer, a.text);
}

const web = (load: object): object => ({
  flows: [{ name: 'web', dst_ip: NGINX_IP, dst_port: 8080, requests: [{ url: '/s.bin' }] }],
  load,
  seed: 7,
});

async function waitState(state: string, ms: number): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    const s = (await call('GET', '/api/v1/status')).body as { state: string };
    if (s.state === state) return;
    if (Date.now() > end) throw new Error(`state ${s.state}, not ${state} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('vaigai -R: the REST API, live changes and /metrics over real HTTP', { timeout: 180_000 }, async (t) => {
  const skip = await frontSkipReason(['nginx', 'ethtool', 'socat', 'prometheus', 'promtool']);
  if (skip !== null) return t.skip(skip);
  const f = new FrontLab('vgrs-');
  t.after(() => f.cleanup());
  const { gen, peer, genIf } = f.pair(NGINX_IP);
  f.randomFile('s.bin', 200);
  await f.nginx(peer, NGINX_IP, null);
  const v = await f.startVaigai(gen, ['--port', `af_packet:iface=${genIf}`, '--src-ip', SRC, '--workers', '2', '-R', String(REST_PORT), '--rest-token', TOKEN, '--drain', '1']);
  t.after(() => v.stop());
  await v.waitFor(/REST API on http:\/\/127\.0\.0\.1:19100\/api\/v1/, 10_000);
  const sock = join(f.dir, 'rest.sock');
  const inner = new Proc(f.lab.spawn(gen, 'socat', [`UNIX-LISTEN:${sock},fork`, `TCP:127.0.0.1:${REST_PORT}`]));
  const outer = new Proc(f.lab.spawn(null, 'socat', [`TCP-LISTEN:${BRIDGE_PORT},bind=127.0.0.1,fork,reuseaddr`, `UNIX-CONNECT:${sock}`]));
  for (let i = 0; ; i++) {
    try {
      await fetch(`${BASE}/api/v1/status`);
      break;
    } catch (e) {
      if (i > 50) throw new Error(`bridge did not come up: ${inner.out} ${outer.out}`, { cause: e });
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  await t.test('the bearer token: missing or wrong is 401, right is 200; an unknown route is 404', async () => {
    const none = await fetch(`${BASE}/api/v1/status`);
    assert.equal(none.status, 401);
    assert.equal(((await none.json()) as { code: string }).code, 'VG_ERR_UNAUTHORIZED');
    assertError(await call('GET', '/api/v1/status', undefined, { authorization: `Bearer ${TOKEN}x` }), 401, 'VG_ERR_UNAUTHORIZED');
    assertError(await call('GET', '/metrics', undefined, { authorization: 'Basic eDp5' }), 401, 'VG_ERR_UNAUTHORIZED');
    assertError(await call('GET', '/api/v1/nope'), 404, 'VG_ERR_NOT_FOUND');
    assertError(await call('DELETE', '/api/v1/config'), 404, 'VG_ERR_NOT_FOUND');
    const ok = await call('GET', '/api/v1/status');
    assert.equal(ok.status, 200);
    assert.deepEqual((ok.body as { state: string; workers: number }).state, 'idle');
    // No CORS: nothing lets another origin's page read the answers.
    const pre = await fetch(`${BASE}/api/v1/stats`, { headers: { authorization: `Bearer ${TOKEN}`, origin: 'http://evil.example' } });
    assert.equal(pre.headers.get('access-control-allow-origin'), null);
  });

  await t.test('idle: stats, workers, config, histograms, openapi; stop and reset have nothing to act on', async () => {
    const stats = (await call('GET', '/api/v1/stats')).body as { state: string; workers: number; counters: { arpTxGratuitous: number }; perWorker: unknown[]; app: unknown };
    assert.equal(stats.state, 'idle');
    assert.equal(stats.workers, 2);
    assert.equal(stats.perWorker.length, 2);
    assert.ok(stats.counters.arpTxGratuitous >= 1, 'the idle stack announced its addresses');
    assert.equal(stats.app, null);
    const workers = (await call('GET', '/api/v1/workers')).body as { worker: number; polls: number }[];
    assert.deepEqual(workers.map((w) => w.worker), [0, 1]);
    assert.ok(workers.every((w) => w.polls > 0));
    assert.equal((await call('GET', '/api/v1/config')).body, null);
    assert.deepEqual((await call('GET', '/api/v1/histograms')).body, { unit: 'us', histograms: {} });
    const doc = (await call('GET', '/api/v1/openapi.json')).body as { openapi: string; paths: Record<string, Record<string, unknown>> };
    assert.match(doc.openapi, /^3\./);
    for (const [path, method] of [['/api/v1/stats', 'get'], ['/api/v1/config', 'get'], ['/api/v1/config', 'put'], ['/api/v1/config', 'patch'], ['/api/v1/start', 'post'], ['/api/v1/stop', 'post'], ['/api/v1/histograms', 'get'], ['/api/v1/workers', 'get'], ['/metrics', 'get']]) {
      assert.ok(doc.paths[path]?.[method] !== undefined, `${method} ${path} in the OpenAPI document`);
    }
    assertError(await call('POST', '/api/v1/stop'), 409, 'VG_ERR_STATE');
    assertError(await call('POST', '/api/v1/start'), 409, 'VG_ERR_STATE');
    assert.equal((await call('POST', '/api/v1/reset')).status, 204);
  });

  const profile = web({ model: 'closed', connections: 2, target_rps: 200, duration_secs: 30 });
  await t.test('config while stopped: bad JSON, unknown field, wrong type, oversized body are refused whole; PUT and PATCH apply', async () => {
    assertError(await call('PUT', '/api/v1/config', '{"flows": ['), 400, 'VG_ERR_BAD_JSON');
    assertError(await call('PATCH', '/api/v1/config', '{"load": {"connections": 3}'), 400, 'VG_ERR_BAD_JSON');
    assertError(await call('PUT', '/api/v1/config', { ...profile, extra: 1 }), 400, 'VG_ERR_INVALID_PROFILE', '/extra');
    assertError(await call('PUT', '/api/v1/config', web({ model: 'closed', connections: 'two', duration_secs: 5 })), 400, 'VG_ERR_INVALID_PROFILE', '/load/connections');
    // curl: the server answers 413 before the body is all sent, which fetch reports as a failed request.
    const big = join(f.dir, 'big.json');
    writeFileSync(big, JSON.stringify({ ...profile, pad: 'x'.repeat(2 << 20) }));
    const curl = spawnSync('curl', ['-s', '-X', 'PUT', '-H', `authorization: Bearer ${TOKEN}`, '-H', 'content-type: application/json', '--data-binary', `@${big}`, '-w', '\n%{http_code}', `${BASE}/api/v1/config`], { encoding: 'utf8' });
    const [bigBody, bigStatus] = curl.stdout.split('\n');
    assertError({ status: Number(bigStatus), body: JSON.parse(bigBody) as unknown, text: curl.stdout }, 413, 'VG_ERR_TOO_LARGE');
    assertError(await call('PUT', '/api/v1/config', '{"__proto__": {"x": 1}}'), 400, 'VG_ERR_BAD_JSON');
    // Beyond the schema: a destination no owned subnet nor route reaches.
    assertError(await call('PUT', '/api/v1/config', { ...web({ duration_secs: 5 }), flows: [{ name: 'far', dst_ip: '203.0.113.9', dst_port: 80 }] }), 400, 'VG_ERR_INVALID_PROFILE', '/flows/0/dst_ip');
    assert.equal((await call('GET', '/api/v1/config')).body, null, 'nothing was applied');
    const put = await call('PUT', '/api/v1/config', profile);
    assert.equal(put.status, 200, put.text);
    assert.equal((put.body as { live: boolean }).live, false);
    const patched = await call('PATCH', '/api/v1/config', { load: { connections: 4 }, seed: null }, { 'content-type': 'application/merge-patch+json' });
    assert.equal(patched.status, 200, patched.text);
    const cfg = (await call('GET', '/api/v1/config')).body as { load: { connections: number; target_rps: number }; seed?: number };
    assert.equal(cfg.load.connections, 4);
    assert.equal(cfg.load.target_rps, 200);
    assert.equal(cfg.seed, undefined, 'null deletes a member (RFC 7396)');
    assertError(await call('PATCH', '/api/v1/config', { load: { connections: -1 } }), 400, 'VG_ERR_INVALID_PROFILE', '/load/connections');
    assertError(await call('PATCH', '/api/v1/config', [1]), 400, 'VG_ERR_INVALID_PROFILE');
    assert.equal(((await call('GET', '/api/v1/config')).body as { load: { connections: number } }).load.connections, 4);
  });

  await t.test('1,000 randomly mutated bodies: each answered 4xx, the config unchanged', async () => {
    const before = (await call('GET', '/api/v1/config')).text;
    const valid = JSON.parse(before) as Record<string, unknown>;
    // Where a wrong value goes, and the wrong values.
    const paths: string[][] = [['load', 'connections'], ['load', 'model'], ['load', 'target_rps'], ['load', 'duration_secs'], ['flows'], ['flows', '0', 'dst_ip'], ['flows', '0', 'dst_port'], ['flows', '0', 'name'], ['flows', '0', 'requests', '0', 'url'], ['flows', '0', 'pipeline'], ['tls', 'version'], ['seed'], ['load', 'stages']];
    // Each wrong for every one of those fields.
    const wrong = fc.oneof(fc.string({ maxLength: 8 }).map((s) => `~${s}`), fc.constant(-1), fc.double({ min: 1e13, max: 1e300 }), fc.constant(true), fc.constant([]), fc.constant({ zz: 1 }));
    const set = (doc: unknown, path: string[], value: unknown): unknown => {
      const copy = structuredClone(doc) as Record<string, unknown>;
      let o = copy as Record<string, unknown>;
      for (const k of path.slice(0, -1)) o = o[k] as Record<string, unknown>;
      o[path[path.length - 1]] = value;
      return copy;
    };
    const body = fc.oneof(
      // A wrong value where a valid one was.
      fc.tuple(fc.constantFrom(...paths), wrong).map(([p, w]) => ({ method: 'PUT', text: JSON.stringify(set(valid, p, w)) })),
      fc.tuple(fc.constantFrom(...paths), wrong).map(([p, w]) => ({ method: 'PATCH', text: JSON.stringify(set({}, p.slice(0, 1), p.length === 1 ? w : set(valid[p[0]], p.slice(1), w))) })),
      // A field the schema does not have, at any level.
      fc.tuple(fc.constantFrom([], ['load'], ['flows', '0'], ['tls'], ['flows', '0', 'requests', '0']), fc.stringMatching(/^[a-z]{3,8}$/)).map(([p, k]) => ({
        method: 'PUT',
        text: JSON.stringify(p.length === 0 ? { ...valid, [`x_${k}`]: 1 } : set(valid, [...p, `x_${k}`], 1)),
      })),
      // Broken JSON: the valid text cut short or with a byte changed.
      fc.nat({ max: before.length - 2 }).map((n) => ({ method: 'PATCH', text: before.slice(0, n + 1) })),
      fc.tuple(fc.nat({ max: before.length - 1 }), fc.constantFrom('{', ']', ',', ':', '"')).map(([n, c]) => ({ method: 'PUT', text: before.slice(0, n) + c + before.slice(n + 1) })),
    );
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(body, async ({ method, text }) => {
        const a = await call(method, '/api/v1/config', text);
        // A changed byte can leave valid JSON of the same profile: that is no mutation.
        if (a.status === 200 && JSON.stringify(JSON.parse(text)) === JSON.stringify(valid)) return;
        assert.ok(a.status >= 400 && a.status < 500, `${method} ${text.slice(0, 200)} -> ${a.status} ${a.text.slice(0, 200)}`);
        assert.match((a.body as { code: string }).code, /^VG_ERR_/);
        refused++;
      }),
      { numRuns: 1000, seed: 23 },
    );
    assert.ok(refused > 950, `${refused} refused`);
    assert.equal((await call('GET', '/api/v1/config')).text, before);
  });

  await t.test('a live connection rate on 2 workers: acked by both, seen in the per-second counters within 2 s; a field the load fixed is refused', async (st) => {
    // A failed check must not leave the load running into the next subtest.
    st.after(async () => {
      if (((await call('GET', '/api/v1/status')).body as { state: string }).state === 'running') await call('POST', '/api/v1/stop');
    });
    const open = web({ model: 'open', target_cps: 40, max_concurrent: 512, duration_secs: 30 });
    const started = await call('POST', '/api/v1/start', { config: open });
    assert.equal(started.status, 200, started.text);
    assert.equal((started.body as { state: string }).state, 'running');
    assertError(await call('POST', '/api/v1/start'), 409, 'VG_ERR_STATE');
    assertError(await call('POST', '/api/v1/reset'), 409, 'VG_ERR_STATE');
    await new Promise((r) => setTimeout(r, 3200));
    const series = async (): Promise<{ t: number; cps: number }[]> => ((await call('GET', '/api/v1/stats')).body as { series: { t: number; cps: number }[] }).series;
    const before = await series();
    const at = before[before.length - 1].t;
    const change = await call('PATCH', '/api/v1/config', { load: { target_cps: 400 } });
    assert.equal(change.status, 200, change.text);
    const r = change.body as { live: boolean; acks: { worker: number; rc: number; status: string }[]; late: number[]; config: { load: { target_cps: number } } };
    assert.equal(r.live, true);
    // Each worker acks rc 0; one that a busy machine kept from acking within 100 ms is named late (its record is in its ring).
    assert.deepEqual(r.acks.map((a) => a.worker), [0, 1]);
    for (const a of r.acks) assert.ok((a.rc === 0 && a.status === 'applied') || (a.rc === null && a.status === 'late' && r.late.includes(a.worker)), JSON.stringify(r));
    assert.equal(r.config.load.target_cps, 400);
    // While it runs: a field the workers fixed at start is refused whole, by its pointer.
    assertError(await call('PATCH', '/api/v1/config', { load: { target_cps: 80 }, flows: [{ name: 'web', dst_ip: NGINX_IP, dst_port: 8081 }] }), 409, 'VG_ERR_NOT_LIVE', '/flows/0/dst_port');
    assertError(await call('PATCH', '/api/v1/config', { load: { connections: 9 } }), 409, 'VG_ERR_NOT_LIVE', '/load/connections');
    assert.equal(((await call('GET', '/api/v1/config')).body as { load: { target_cps: number } }).load.target_cps, 400);
    // The first two seconds after the change (a busy machine may run the 1 s timer late: wait for the entries, not the clock).
    let after: { t: number; cps: number }[] = [];
    for (let i = 0; i < 100 && after.length < 2; i++) {
      await new Promise((r) => setTimeout(r, 200));
      after = (await series()).filter((e) => e.t > at);
    }
    const steady = before.filter((e) => e.t >= 2);
    // 40/s before, 400/s after: a second at twice the old rate within 2 s shows the change (a busy machine may not give all of 400).
    assert.ok(steady.every((e) => e.cps <= 50), `before: ${JSON.stringify(before)}`);
    assert.ok(after.slice(0, 2).some((e) => e.cps >= 80), `within 2 s of the change: ${JSON.stringify(after)}\n${v.out.slice(-3000)}`);
    const stopped = await call('POST', '/api/v1/stop');
    assert.equal(stopped.status, 200, stopped.text);
    const fin = stopped.body as { app: { requests: number; responses: number; connections: { ok: number } } };
    assert.ok(fin.app.responses > 0 && fin.app.responses === fin.app.requests, JSON.stringify(fin.app));
    await waitState('idle', 10_000);
    // The last load's counters stay until reset.
    const kept = (await call('GET', '/api/v1/stats')).body as { app: { responses: number } };
    assert.equal(kept.app.responses, fin.app.responses);
    assert.equal((await call('POST', '/api/v1/reset')).status, 204);
    assert.equal(((await call('GET', '/api/v1/stats')).body as { app: unknown }).app, null);
  });

  await t.test('Prometheus scrapes /metrics for 10 s: its request counter equals the JSON stats; promtool passes; the histogram decodes', async () => {
    const dir = join(f.dir, 'prom');
    mkdirSync(dir);
    const conf = join(dir, 'prometheus.yml');
    writeFileSync(
      conf,
      `global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: vaigai\n    authorization:\n      credentials: ${TOKEN}\n    static_configs:\n      - targets: ['127.0.0.1:${BRIDGE_PORT}']\n`,
    );
    const prom = new Proc(f.lab.spawn(null, 'prometheus', [`--config.file=${conf}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${PROM_PORT}`]));
    const query = async (q: string): Promise<{ value: [number, string] }[]> => {
      const r = await fetch(`http://127.0.0.1:${PROM_PORT}/api/v1/query?query=${encodeURIComponent(q)}`);
      return ((await r.json()) as { data: { result: { value: [number, string] }[] } }).data.result;
    };
    try {
      await scrapeAndCompare(prom, query);
    } finally {
      // By PID; the lab's cleanup would SIGKILL it.
      if (prom.child.exitCode === null && prom.child.pid !== undefined) process.kill(prom.child.pid, 'SIGTERM');
      await exited(prom.child, 10_000, 'prometheus');
    }
  });
});

type Query = (q: string) => Promise<{ value: [number, string] }[]>;

/** Once Prometheus scrapes: a bounded load, 10 s of scrapes in all, then its counters against the JSON stats. */
async function scrapeAndCompare(prom: Proc, query: Query): Promise<void> {
    await prom.waitFor(/Server is ready to receive web requests/, 20_000);
    // Its discovery hands the target over some seconds after start: the 10 s count from the first scrape.
    for (let i = 0; (await query('up{job="vaigai"}')).length === 0; i++) {
      if (i > 150) throw new Error(`no scrape: ${prom.out.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const t0 = Date.now();
    // A bounded load: 2,000 requests at 500/s over 4 connections, then its counters hold still.
    const started = await call('POST', '/api/v1/start', { config: web({ model: 'closed', connections: 4, target_rps: 500, requests: 2000 }) });
    assert.equal(started.status, 200, started.text);
    await new Promise((r) => setTimeout(r, 1500));
    const text = (await call('GET', '/metrics')).text;
    assert.match(text, /^vaigai_app_requests_total\{worker="0"\} \d+$/m);
    assert.match(text, /^vaigai_app_flow_responses_total\{worker="1",flow="web"\} \d+$/m);
    assert.match(text, /^vaigai_latency_seconds_bucket\{phase="response",le="\+Inf"\} \d+$/m);
    const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.equal(check.status, 0, `promtool: ${check.stdout}${check.stderr}`);
    await waitState('idle', 20_000);
    await new Promise((r) => setTimeout(r, Math.max(2500, 10_000 - (Date.now() - t0))));
    const stats = (await call('GET', '/api/v1/stats')).body as { app: { requests: number; responses: number } };
    assert.equal(stats.app.requests, 2000);
    const up = await query('up{job="vaigai"}');
    assert.equal(up[0]?.value[1], '1', prom.out.slice(-2000));
    const scrapes = await query('count_over_time(up{job="vaigai"}[1m])');
    const range = await query('up{job="vaigai"}[1m]');
    assert.ok(Number(scrapes[0]?.value[1]) >= 8, `scrapes: ${JSON.stringify(scrapes)} ${JSON.stringify(range)} ${Date.now() - t0}`);
    assert.equal(Number((await query('sum(vaigai_app_requests_total)'))[0]?.value[1]), stats.app.requests);
    assert.equal(Number((await query('sum(vaigai_app_responses_total)'))[0]?.value[1]), stats.app.responses);
    assert.equal(Number((await query('sum(vaigai_latency_seconds_count{phase="response"})'))[0]?.value[1]), stats.app.responses);
    const hist = (await call('GET', '/api/v1/histograms')).body as { unit: string; histograms: Record<string, string> };
    assert.equal(hist.unit, 'us');
    assert.ok(['connect', 'ttfb', 'response'].every((p) => hist.histograms[p] !== undefined), Object.keys(hist.histograms).join());
    assert.equal(hdr.decodeFromCompressedBase64(hist.histograms.response).totalCount, stats.app.responses);
    assert.equal(hdr.decodeFromCompressedBase64(hist.histograms.ttfb).totalCount, stats.app.responses);
    // Each phase is a Prometheus histogram of its own.
    assert.equal(Number((await query('sum(vaigai_latency_seconds_count{phase="connect"})'))[0]?.value[1]), hdr.decodeFromCompressedBase64(hist.histograms.connect).totalCount);
}
