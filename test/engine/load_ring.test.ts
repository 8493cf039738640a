/**
 * The load models on two vaigAI hosts over an in-memory ring with a manual
 * clock: think time in the closed model, the open model's arrivals (drops at
 * the concurrency cap, a connection's requests on their schedule), several
 * flows and weighted request entries counted each and in total.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/common/clock.js';
import { Http1Server } from '../../src/app/http11/server.js';
import { LoadRun, type LoadConfig } from '../../src/engine/load.js';
import { RingPair } from '../../src/engine/ring_pair.js';
import { parseIp } from '../../src/wire/ipv4_addr.js';

const CLIENT = parseIp('198.18.72.1');
const SERVER = parseIp('198.18.72.2');
const STEP_US = 1000;

function rig(): { clock: ManualClock; pair: RingPair; server: Http1Server } {
  const clock = new ManualClock(1_000_000);
  const pair = new RingPair({ clock, clientIp: CLIENT, serverIp: SERVER, tcp: { maxConns: 4096 }, poolSlots: 16384 });
  const server = new Http1Server({ transport: pair.server.tcp, port: 80, bodySize: 10 });
  assert.ok(server.listen() >= 0);
  return { clock, pair, server };
}

function load(r: { clock: ManualClock; pair: RingPair }, o: Partial<LoadConfig>): LoadRun {
  return new LoadRun({
    transport: r.pair.client.tcp, clock: r.clock, srcIp: CLIENT, dstIp: SERVER, dstPort: 80, host: 'vaigai', request: { method: 'GET', path: '/' },
    connections: 1, pipeline: 1, requestsPerConnection: 0, totalRequests: 0, durationUs: 1e6, rate: 0, maxConns: 4096, sha256: false,
    expectSha256: null, keepBodies: false, onBody: null, ...o,
  });
}

/** Runs the load to its end in STEP_US steps of manual time (bounded); `serve` false: the server never polls. */
function drive(r: { clock: ManualClock; pair: RingPair }, l: LoadRun, serve = true): void {
  l.start();
  for (let i = 0; i < 20_000 && !l.done; i++) {
    if (serve) r.pair.poll();
    else r.pair.client.poll(r.clock.nowUs());
    r.clock.advance(STEP_US);
    l.tick(r.clock.nowUs());
  }
}

test('closed model: think time spaces a connection\'s requests', () => {
  const r = rig();
  const l = load(r, { connections: 2 });
  drive(r, l);
  const busy = l.snapshot().responses;
  const r2 = rig();
  const t = load(r2, {
    connections: 2,
    flows: [{ name: 'f', weight: 1, srcLo: 0, srcHi: 0, dstIp: SERVER, dstPort: 80, dscp: 0, cc: -1, host: 'vaigai', requests: [{ method: 'GET', path: '/' }], weights: [1], pipeline: 1, requestsPerConnection: 0, thinkTimeUs: 100_000 }],
  });
  drive(r2, t);
  const s = t.snapshot();
  // 1 s, each connection a request then 100 ms of thought: about 10 each.
  assert.ok(s.responses >= 16 && s.responses <= 22, `${s.responses} answers with think time, ${busy} without`);
  assert.ok(busy > s.responses * 5);
  r.pair.close();
  r2.pair.close();
});

test('open model: arrivals that find max_concurrent connections opening are dropped and counted', () => {
  const r = rig();
  const l = load(r, { rate: 1000, durationUs: 100_000, open: { cps: 0, perConn: 1, maxConcurrent: 2, poisson: false } });
  drive(r, l, false);
  const s = l.snapshot();
  assert.equal(s.arrivals, 100);
  assert.equal(s.dropped, 98);
  assert.equal(s.peakOpen, 2);
  assert.equal(s.requests, 0);
  assert.equal(s.attempts, 2);
  r.pair.close();
});

test('open model, both targets: connections at target_cps carry target_rps / target_cps requests each, on their schedule', () => {
  const r = rig();
  const l = load(r, { rate: 1000, open: { cps: 100, perConn: 10, maxConcurrent: 100, poisson: false } });
  drive(r, l);
  const s = l.snapshot();
  // 100 in 1 s: the last falls on the bound, in or out.
  assert.ok(s.arrivals === 99 || s.arrivals === 100, `${s.arrivals} arrivals`);
  assert.equal(s.connects, s.arrivals);
  // 10 ms apart, a connection's 10 requests take 90 ms: those due past the 1 s bound are not sent.
  assert.ok(s.requests >= 950 && s.requests < 1000, `${s.requests} requests`);
  assert.equal(s.responses, s.requests);
  // Each request timed from its intended start, 10 ms apart: none waited behind another.
  assert.ok(l.latency.max < 20_000, `max ${l.latency.max} us`);
  r.pair.close();
});

test('two flows by weight, entries by weight: counted each and in total', () => {
  const r = rig();
  const flow = (name: string, weight: number, paths: string[], weights: number[]) => ({
    name, weight, srcLo: 0, srcHi: 0, dstIp: SERVER, dstPort: 80, dscp: 0, cc: -1, host: 'vaigai', requests: paths.map((path) => ({ method: 'GET', path })), weights, pipeline: 1,
    requestsPerConnection: 0, thinkTimeUs: 0,
  });
  const l = load(r, { rate: 2000, seed: 5, open: { cps: 0, perConn: 1, maxConcurrent: 100, poisson: false }, flows: [flow('a', 3, ['/x', '/y'], [9, 1]), flow('b', 1, ['/z'], [1])] });
  drive(r, l);
  const [a, b] = l.flowSnapshots();
  const s = l.snapshot();
  assert.equal(s.responses, 2000);
  assert.equal(a.responses + b.responses, 2000);
  assert.ok(Math.abs(a.responses / 2000 - 0.75) < 0.04, `a ${a.responses}`);
  assert.equal(a.entries[0].responses + a.entries[1].responses, a.responses);
  assert.ok(Math.abs(a.entries[0].responses / a.responses - 0.9) < 0.03, `a's first entry ${a.entries[0].responses}`);
  assert.equal(l.flowLatency[0].totalCount + l.flowLatency[1].totalCount, l.latency.totalCount);
  assert.equal(l.entryLatency[0][0].totalCount, a.entries[0].responses);
  assert.equal(r.server.stats.responses, 2000);
  r.pair.close();
});

test('closed model: stages scale the connections, up to the target and down to none', () => {
  const r = rig();
  const l = load(r, { connections: 8, durationUs: 3e6, stages: [{ durationUs: 1e6, from: 0, to: 1 }, { durationUs: 1e6, from: 1, to: 1 }, { durationUs: 1e6, from: 1, to: 0 }] });
  const seen: number[] = [];
  l.start();
  for (let i = 0; i < 20_000 && !l.done; i++) {
    r.pair.poll();
    r.clock.advance(STEP_US);
    l.tick(r.clock.nowUs());
    if (i % 250 === 249) seen.push(l.openConns);
  }
  // Every 250 ms: the ramp up (2, 4, 6, 8), the steady second at 8, the ramp down (6, 4, 2, 0).
  assert.deepEqual(seen.slice(0, 12), [2, 4, 6, 8, 8, 8, 8, 8, 6, 4, 2, 0]);
  assert.equal(l.peakOpen, 8);
  const s = l.snapshot();
  assert.equal(s.responses, s.requests);
  assert.equal(s.failedRequests + s.connectFailures, 0);
  r.pair.close();
});
