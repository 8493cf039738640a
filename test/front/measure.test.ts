/**
 * What a run tells, checked from the files it writes, against nginx in
 * namespaces this file creates (prefix vgms-, 198.18.100.0/24): on two
 * workers, the --json result's phase histograms decode with hdr-histogram-js
 * to the same percentiles vaigAI computed; the --hdr-log file, read back by a
 * parser written here from the interval log format (and by hdr-histogram-js's
 * log reader), holds every phase's intervals and their counts add up to the
 * result's; the per-second series sums to the totals; two HTTPS flows in the
 * open model have TLS and schedule phases, each flow's histograms merging into
 * the total's; a tcp:// load's connect phase and series count its connections; a server stalled (its worker stopped ~2 s) shows in the series at
 * the seconds it was stopped and in the response p99 of the second after; the
 * --out ndjson stream has its events in order; and a run on a terminal
 * redraws a table in place.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import * as hdr from 'hdr-histogram-js';
import { FrontLab, MAIN, frontSkipReason, type Proc } from './lab.js';
import { Value } from '@sinclair/typebox/value';
import { RunResult } from '../../src/run/result_schema.js';

const NGINX_IP = '198.18.100.1';
const GEN_IP = '198.18.100.10';

/** One interval of an HdrHistogram interval log. */
interface LogInterval {
  tag: string;
  start: number;
  length: number;
  max: number;
  /** Counts by bucket index, and their total. */
  total: number;
  maxValue: number;
}

/**
 * Reads an HdrHistogram interval log (format 1.3): '#' lines are comments
 * (StartTime and BaseTime among them), one legend line of quoted names, then
 * `[Tag=<tag>,]<start s>,<length s>,<max>,<base64 histogram>` lines. Each
 * histogram is the V2 compressed encoding: cookie 0x1c849314, payload length,
 * a zlib stream of the V2 encoding (cookie 0x1c849313, payload length,
 * normalizing offset, significant digits, lowest, highest, ratio, then ZigZag
 * LEB128 counts where a negative count -n stands for n empty buckets).
 */
function readIntervalLog(text: string): { startTime: number; baseTime: number; intervals: LogInterval[] } {
  let startTime = NaN;
  let baseTime = NaN;
  const intervals: LogInterval[] = [];
  let legend = false;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      const st = /^#\[StartTime: ([\d.]+) /.exec(line);
      if (st !== null) startTime = Number(st[1]);
      const bt = /^#\[BaseTime: ([\d.]+) /.exec(line);
      if (bt !== null) baseTime = Number(bt[1]);
      continue;
    }
    if (line.startsWith('"StartTimestamp"')) {
      legend = true;
      continue;
    }
    const m = /^(?:Tag=([^,]+),)?([\d.]+),([\d.]+),([\d.]+),(HISTF\S+)$/.exec(line);
    assert.ok(m !== null, `not an interval line: ${line}`);
    const h = decodeV2(m[5]);
    intervals.push({ tag: m[1] ?? '', start: Number(m[2]), length: Number(m[3]), max: Number(m[4]), ...h });
  }
  assert.ok(legend, 'the log has its legend line');
  return { startTime, baseTime, intervals };
}

/** The total count and the highest bucket's lowest value of a V2 compressed histogram (unit magnitude 0: lowest 1). */
function decodeV2(b64: string): { total: number; maxValue: number } {
  const buf = Buffer.from(b64, 'base64');
  assert.equal(buf.readUInt32BE(0), 0x1c849314, 'compressed V2 cookie');
  const raw = inflateSync(buf.subarray(8, 8 + buf.readInt32BE(4)));
  assert.equal(raw.readUInt32BE(0), 0x1c849313, 'V2 cookie');
  const len = raw.readInt32BE(4);
  const digits = raw.readInt32BE(12);
  assert.equal(Number(raw.readBigInt64BE(16)), 1, 'lowest trackable value 1');
  // Buckets of 2^(sub bits) sub-buckets; the first bucket's whole range is at resolution 1.
  const subBits = Math.ceil(Math.log2(2 * 10 ** digits));
  const subCount = 2 ** subBits;
  const half = subCount / 2;
  const valueAt = (i: number): number => {
    const b = Math.floor(i / half) - 1;
    return b < 0 ? i : (i - (b + 1) * half + half) * 2 ** b;
  };
  let total = 0;
  let maxValue = 0;
  let idx = 0;
  for (let pos = 40; pos < 40 + len; ) {
    let z = 0;
    let shift = 1;
    let byte: number;
    do {
      byte = raw[pos++];
      z += (byte & 0x7f) * shift;
      shift *= 128;
    } while (byte & 0x80);
    const v = z % 2 === 0 ? z / 2 : -(z + 1) / 2;
    if (v < 0) {
      idx += -v;
      continue;
    }
    if (v > 0) {
      total += v;
      maxValue = valueAt(idx);
    }
    idx++;
  }
  return { total, maxValue };
}

function ndjsonEvents(path: string): { type: string; [k: string]: unknown }[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as { type: string });
}

function sum(r: RunResult, k: 'requests' | 'responses' | 'connects'): number {
  return r.series.reduce((n, e) => n + e[k], 0);
}

test('the run result: phases, series, --hdr-log, --out ndjson, a stall, the terminal table', { timeout: 180_000 }, async (t) => {
  const skip = await frontSkipReason(['nginx', 'script']);
  if (skip !== null) return t.skip(skip);
  const f = new FrontLab('vgms-');
  t.after(() => f.cleanup());
  const { gen, peer, genIf } = f.pair(NGINX_IP);
  f.randomFile('small.bin', 2000);
  const nginx = await f.nginx(peer, NGINX_IP, f.cert('vgms.test'));
  const base = ['--port', `af_packet:iface=${genIf}`, '--src-ip', GEN_IP, '--client', `http://${NGINX_IP}:8080/small.bin`];

  await t.test('on two workers: --json phases decode with hdr-histogram-js to the same percentiles; the series and the --hdr-log add up to the totals', async () => {
    const json = join(f.dir, 'r.json');
    const log = join(f.dir, 'r.hlog');
    const nd = join(f.dir, 'r.ndjson');
    const r = await f.vaigai(gen, [...base, '--workers', '2', '--conn-per-request', '--connections', '4', '--duration', '3', '--json', json, '--hdr-log', log, '--out', `ndjson=${nd}`], 60_000);
    assert.equal(r.code, 0, r.out);
    const res = JSON.parse(readFileSync(json, 'utf8')) as RunResult;
    assert.deepEqual([...Value.Errors(RunResult, res)].map((e) => `${e.path}: ${e.message}`), [], 'the result has the schema\'s shape');
    const app = res.app as { requests: number; responses: number; connections: { ok: number }; failedRequests: number };
    assert.ok(app.responses >= 20, r.out);
    // The phases of a plain HTTP load: each connection's SYN -> SYN-ACK, each answer's first byte and last, and the wire split.
    assert.deepEqual(Object.keys(res.phases).sort(), ['connect', 'response', 'server', 'ttfb', 'wire_rtt']);
    assert.equal(res.phases.response.count, app.responses);
    assert.equal((res.app as { latencyUs: { p99: number } }).latencyUs.p99, res.phases.response.p99, 'the summary\'s latency is the response phase');
    assert.equal(res.phases.ttfb.count, app.responses);
    assert.equal(res.phases.connect.count, app.connections.ok);
    assert.ok(res.phases.ttfb.p50 <= res.phases.response.p50, JSON.stringify(res.phases));
    for (const [name, p] of Object.entries(res.phases)) {
      const h = hdr.decodeFromCompressedBase64(p.hdr, 64, false);
      assert.equal(h.totalCount, p.count, name);
      assert.deepEqual(
        [50, 90, 99, 99.9].map((q) => h.getValueAtPercentile(q)).concat(h.maxValue),
        [p.p50, p.p90, p.p99, p.p999, p.max],
        `${name}: hdr-histogram-js's percentiles and max`,
      );
    }
    // The flow's phases are the total's (one flow), and its counters the run's.
    assert.equal(res.flows.length, 1);
    assert.equal(res.flows[0].counters.responses, app.responses);
    assert.equal(res.flows[0].phases.response.hdr, res.phases.response.hdr);
    // The series: one entry a second, in order, whose counts add up to the totals.
    assert.deepEqual(res.series.map((e) => e.t), res.series.map((_, i) => i + 1));
    assert.ok(res.series.every((e) => e.flows === undefined), 'one flow: the entries are the flow\'s');
    assert.ok(res.series.length >= 3, `${res.series.length} entries`);
    assert.equal(sum(res, 'requests'), app.requests);
    assert.equal(sum(res, 'responses'), app.responses);
    assert.equal(sum(res, 'connects'), app.connections.ok);
    assert.equal(res.series.reduce((n, e) => n + (e.latency.response?.count ?? 0), 0), app.responses);
    assert.equal(res.series.reduce((n, e) => n + e.bytesIn, 0), res.port.rxBytes);
    assert.equal(res.series.reduce((n, e) => n + Object.values(e.errors).reduce((a, b) => a + b, 0), 0), app.failedRequests);
    assert.equal(res.meta.tool, 'vaigai');
    assert.ok(res.meta.argv.includes('--hdr-log'));
    // Two workers pass each other replies, which carry no kernel stamp: the stack's clock.
    assert.deepEqual(res.meta.clocks, { connect: 'stack', ttfb: 'stack', response: 'stack', wire_rtt: 'stack', server: 'stack' });
    assert.equal((res.profile as { flows: unknown[] }).flows.length, 1);

    // The interval log: every phase's intervals, consecutive, adding up to the result's counts.
    const hl = readIntervalLog(readFileSync(log, 'utf8'));
    assert.ok(Math.abs(hl.startTime - Date.parse(res.meta.startedAt) / 1000) < 1, `StartTime ${hl.startTime}`);
    assert.equal(hl.baseTime, hl.startTime);
    for (const [name, p] of Object.entries(res.phases)) {
      const iv = hl.intervals.filter((i) => i.tag === name);
      assert.equal(iv.reduce((n, i) => n + i.total, 0), p.count, `${name}: the log's counts`);
      assert.ok(Math.max(...iv.map((i) => i.maxValue)) <= p.max, name);
      for (const i of iv) assert.ok(i.start >= 0 && i.length > 0 && i.max * 1000 >= i.maxValue, JSON.stringify(i));
    }
    assert.deepEqual([...new Set(hl.intervals.map((i) => i.tag))].sort(), ['connect', 'response', 'server', 'ttfb', 'wire_rtt']);
    // And HdrHistogram's own log reader takes it: the same intervals, absolute times from the base time.
    const reader = new hdr.HistogramLogReader(readFileSync(log, 'utf8'), 64, false);
    const read: { tag: string; count: number; start: number }[] = [];
    for (let h = reader.nextIntervalHistogram(); h !== null; h = reader.nextIntervalHistogram()) read.push({ tag: h.tag ?? '', count: h.totalCount, start: h.startTimeStampMsec });
    assert.deepEqual(read.map((i) => [i.tag, i.count]), hl.intervals.map((i) => [i.tag, i.total]));
    assert.ok(Math.abs(read[0].start - (hl.baseTime + hl.intervals[0].start) * 1000) < 1, `${read[0].start}`);

    // The event stream: meta, config, start, a progress event per series entry, result, end.
    const ev = ndjsonEvents(nd);
    const types = ev.map((e) => e.type);
    assert.deepEqual(types.slice(0, 3), ['meta', 'config', 'start']);
    assert.deepEqual(types.slice(-2), ['result', 'end']);
    const progress = ev.filter((e) => e.type === 'progress') as unknown as RunResult['series'];
    assert.equal(progress.length + 1, res.series.length, 'a progress event each second; the last entry comes with the result');
    assert.deepEqual(progress.map((e) => e.responses), res.series.slice(0, -1).map((e) => e.responses));
    assert.equal((ev.at(-2) as unknown as { result: RunResult }).result.phases.response.hdr, res.phases.response.hdr);
  });

  await t.test('two HTTPS flows in the open model: TLS and schedule phases, each flow its own histograms adding up to the total', async () => {
    const profile = join(f.dir, 'open.json');
    const json = join(f.dir, 'o.json');
    const flow = (name: string, weight: number): Record<string, unknown> => ({ name, weight, dst_ip: NGINX_IP, dst_port: 8443, proto: 'https', requests: [{ url: '/small.bin' }], requests_per_conn: 2 });
    writeFileSync(profile, JSON.stringify({
      flows: [flow('a', 3), flow('b', 1)],
      load: { model: 'open', target_rps: 200, max_concurrent: 50, duration_secs: 3 },
      tls: { verify: false },
    }));
    const log = join(f.dir, 'o.hlog');
    const r = await f.vaigai(gen, ['--port', `af_packet:iface=${genIf}`, '--src-ip', GEN_IP, '--config', profile, '--json', json, '--hdr-log', log], 60_000);
    assert.equal(r.code, 0, r.out);
    const res = JSON.parse(readFileSync(json, 'utf8')) as RunResult;
    assert.deepEqual([...Value.Errors(RunResult, res)].map((e) => `${e.path}: ${e.message}`), [], 'the result has the schema\'s shape');
    const app = res.app as { requests: number; responses: number; connections: { ok: number }; tls: { handshakes: number } };
    assert.ok(app.responses >= 50, r.out);
    assert.deepEqual(Object.keys(res.phases).sort(), ['connect', 'response', 'schedule', 'server', 'tls', 'ttfb', 'wire_rtt']);
    assert.equal(res.phases.tls.count, app.tls.handshakes);
    // The wire split over TLS: each answer's server time (its request's last record out -> its first in), and the
    // network's round trips (the handshake's segments' too; a resent segment gives none, Karn).
    assert.equal(res.phases.server.count, app.responses);
    assert.ok(res.phases.server.p50 <= res.phases.response.p50, JSON.stringify(res.phases));
    assert.ok(res.phases.wire_rtt.count > 0 && res.phases.wire_rtt.p50 <= res.phases.tls.p50, JSON.stringify(res.phases));
    assert.equal(res.phases.connect.count, app.connections.ok);
    // Every request sent was scheduled: its delay from its intended start is counted once.
    assert.equal(res.phases.schedule.count, app.requests);
    assert.equal(res.phases.response.count, app.responses);
    // A TLS connection's handshake takes longer than its SYN -> SYN-ACK.
    assert.ok(res.phases.tls.p50 > res.phases.connect.p50, JSON.stringify(res.phases));
    assert.deepEqual(res.flows.map((fl) => fl.name), ['a', 'b']);
    for (const [name, p] of Object.entries(res.phases)) {
      assert.equal(res.flows.reduce((n, fl) => n + (fl.phases[name]?.count ?? 0), 0), p.count, `${name}: the flows' counts add up to the total`);
      const merged = hdr.decodeFromCompressedBase64(res.flows[0].phases[name].hdr, 64, false);
      merged.add(hdr.decodeFromCompressedBase64(res.flows[1].phases[name].hdr, 64, false));
      assert.equal(merged.getValueAtPercentile(99), p.p99, `${name}: the flows' histograms merge into the total's`);
    }
    assert.equal(res.flows.reduce((n, fl) => n + fl.counters.responses, 0), app.responses);
    // The summary's flows (app.flows) tell the same latencies: a flow's and its one request entry's are its response phase.
    const summary = (res.app as { flows: { latencyUs: { p50: number; p99: number }; entries: { latencyUs: { p99: number } }[] }[] }).flows;
    for (const [i, fl] of res.flows.entries()) {
      assert.deepEqual([summary[i].latencyUs.p50, summary[i].latencyUs.p99, summary[i].entries[0].latencyUs.p99], [fl.phases.response.p50, fl.phases.response.p99, fl.phases.response.p99]);
    }
    assert.ok(res.flows[0].counters.responses > res.flows[1].counters.responses, 'flow a has 3 times the weight of b');
    // Each second's entry has each flow's part: over the series, a flow's counts add up to its counters and its
    // interval latencies to its phases; the interval log holds the same, tagged FLOW/PHASE.
    const hl = readIntervalLog(readFileSync(log, 'utf8'));
    for (const [i, fl] of res.flows.entries()) {
      const parts = res.series.map((e) => e.flows?.[i]);
      assert.ok(parts.every((p) => p?.name === fl.name), JSON.stringify(res.series[0]));
      for (const k of ['requests', 'responses', 'connects', 'failedRequests', 'dropped'] as const) {
        assert.equal(parts.reduce((n, p) => n + (p?.[k] ?? 0), 0), fl.counters[k], `flow ${fl.name}: ${k} over the series`);
      }
      for (const [name, p] of Object.entries(fl.phases)) {
        assert.equal(parts.reduce((n, e) => n + (e?.latency[name]?.count ?? 0), 0), p.count, `flow ${fl.name}: ${name} over the series`);
        assert.equal(hl.intervals.filter((iv) => iv.tag === `${fl.name}/${name}`).reduce((n, iv) => n + iv.total, 0), p.count, `flow ${fl.name}: ${name} in the log`);
      }
    }
    assert.match(r.out, /^ {4}tls +\d+ /m, 'the final report lists the TLS phase');
    assert.match(r.out, /^ {4}schedule +\d+ /m, 'and the schedule phase');
  });

  await t.test('tcp:// connects: the connect phase and the series of connections', async () => {
    const json = join(f.dir, 't.json');
    const r = await f.vaigai(gen, ['--port', `af_packet:iface=${genIf}`, '--src-ip', GEN_IP, '--client', `tcp://${NGINX_IP}:8080`, '--rate', '300', '--requests', '600', '--connections', '8', '--json', json], 60_000);
    assert.equal(r.code, 0, r.out);
    const res = JSON.parse(readFileSync(json, 'utf8')) as RunResult;
    const app = res.app as { established: number };
    assert.equal(app.established, 600, r.out);
    assert.deepEqual(Object.keys(res.phases), ['connect']);
    assert.equal(res.phases.connect.count, 600);
    assert.equal(sum(res, 'connects'), 600);
    assert.equal(res.series.reduce((n, e) => n + (e.latency.connect?.count ?? 0), 0), 600);
    assert.deepEqual(res.flows, []);
  });

  await t.test('a server stall shows in the series at the seconds it lasted, and in the p99 of the second after', async (st) => {
    const json = join(f.dir, 's.json');
    const nd = join(f.dir, 's.ndjson');
    const worker = execFileSync('pgrep', ['-P', String(nginx.child.pid)], { encoding: 'utf8' }).trim().split('\n')[0];
    assert.match(worker, /^\d+$/, 'the nginx worker');
    // A paced load: ~100 answers a second, so that the 4 held through the stall are more than 1% of the second after.
    const v = await f.startVaigai(gen, [...base, '--connections', '4', '--rate', '100', '--duration', '7', '--json', json, '--out', `ndjson=${nd}`]);
    st.after(() => v.stop());
    await waitForProgress(v, nd, 2);
    const before = ndjsonEvents(nd).filter((e) => e.type === 'progress').length;
    const stoppedAt = Date.now();
    process.kill(Number(worker), 'SIGSTOP');
    await new Promise((r) => setTimeout(r, 2200));
    process.kill(Number(worker), 'SIGCONT');
    const stallUs = (Date.now() - stoppedAt) * 1000;
    await waitExit(v);
    const res = JSON.parse(readFileSync(json, 'utf8')) as RunResult;
    const s = res.series;
    // Answers every second before the stall; none in a whole second of it (entries before+1 .. before+3 hold the stall).
    for (const e of s.slice(0, before)) assert.ok(e.responses > 0, JSON.stringify(s));
    const silent = s.findIndex((e, i) => i >= before && e.responses === 0);
    assert.ok(silent >= before && silent <= before + 1, `a second without answers right after the stop (entry ${before + 1}): ${JSON.stringify(s.map((e) => e.responses))}`);
    const after = s.findIndex((e, i) => i > silent && e.responses > 0);
    assert.ok(after > silent && after <= silent + 3, JSON.stringify(s.map((e) => e.responses)));
    // The answers held through the stall took it all: the second they came in, its p99 is above the stall's length.
    const p99 = s[after].latency.response?.p99 ?? 0;
    assert.ok(p99 >= stallUs - 300_000, `p99 ${p99} us in entry ${after + 1}, stall ${stallUs} us`);
    for (const e of s.slice(0, before)) assert.ok((e.latency.response?.p99 ?? 0) < 1_000_000, JSON.stringify(e.latency));
    assert.equal(sum(res, 'responses'), (res.app as { responses: number }).responses);
  });

  await t.test('on a terminal, a table redrawn in place each second and the latency distribution at the end', async () => {
    const cmd = [process.execPath, MAIN, ...base, '--connections', '2', '--duration', '3'].map((a) => `'${a}'`).join(' ');
    const p = f.lab.spawn(gen, 'script', ['-qfec', cmd, '/dev/null']);
    let out = '';
    p.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number>((res) => p.once('exit', (c) => res(c ?? -1)));
    await new Promise((res) => setTimeout(res, 100));
    assert.equal(code, 0, out);
    const heads = out.match(/^phase {5} +count\/s/gm) ?? [];
    assert.ok(heads.length >= 2, `the table drawn each second:\n${out}`);
    const esc = String.fromCharCode(27);
    assert.match(out, new RegExp(`${esc}\\[\\d+A\r${esc}\\[J`), 'moved back over the last table and cleared it');
    assert.doesNotMatch(out, /^\[\s+1s\] conn/m, 'no plain live lines on a terminal');
    assert.match(out, /^ {2}by phase +count +p50 +p75 +p90 +p99 +p99\.9 +max\r?$/m, out);
    assert.match(out, /vaigai +2s \| last second: conns \d+ new .* \| req \d+ resp \d+ /m, out);
    assert.match(out, /^errors so far: none\r?$/m, out);
    assert.match(out, /^ {4}response +\d+ /m, out);
    assert.match(out, /^ {4}connect +\d+ /m, out);
  });
});

async function waitForProgress(v: Proc, path: string, n: number): Promise<void> {
  const end = Date.now() + 20_000;
  for (;;) {
    try {
      if (ndjsonEvents(path).filter((e) => e.type === 'progress').length >= n) return;
    } catch {
      // A line being written: read again.
    }
    if (v.child.exitCode !== null || Date.now() > end) throw new Error(`no ${n} progress events: ${v.out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function waitExit(v: Proc): Promise<void> {
  const end = Date.now() + 30_000;
  while (v.child.exitCode === null) {
    if (Date.now() > end) throw new Error(`vaigai did not end: ${v.out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(v.child.exitCode, 0, v.out);
}
