/**
 * The client load model on two real vaigAI hosts (NetStack + TcpLayer each)
 * over an in-memory ring, with a manual clock: request counts, keep-alive vs
 * connection per request, pipelining with verified bodies, the time bound,
 * rate pacing and latency recording.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/common/clock.js';
import { DEFAULT_PATTERN, Http1Server } from '../../src/app/http11/server.js';
import type { StreamHandler } from '../../src/net/tcp/stream.js';
import { LoadRun, type LoadConfig } from '../../src/engine/load.js';
import { summarize } from '../../src/engine/report.js';
import { RingPair } from '../../src/engine/ring_pair.js';
import { ESTABLISHED } from '../../src/net/tcp/tcb.js';
import { parseIp } from '../../src/wire/ipv4_addr.js';
import { sha256Hex } from './lab.js';

const CLIENT = parseIp('198.18.6.1');
const SERVER = parseIp('198.18.6.2');

function rig(status = 200): { clock: ManualClock; pair: RingPair; server: Http1Server } {
  const clock = new ManualClock(1_000_000);
  const pair = new RingPair({ clock, clientIp: CLIENT, serverIp: SERVER, tcp: { maxConns: 4096, isnKey: Uint32Array.of(7, 9) }, poolSlots: 16384 });
  const server = new Http1Server({ transport: pair.server.tcp, port: 80, status, bodySize: 10 });
  assert.ok(server.listen() >= 0);
  return { clock, pair, server };
}

function load(r: { clock: ManualClock; pair: RingPair }, o: Partial<LoadConfig>): LoadRun {
  return new LoadRun({
    transport: r.pair.client.tcp,
    clock: r.clock,
    srcIp: CLIENT,
    dstIp: SERVER,
    dstPort: 80,
    host: 'vaigai',
    request: { method: 'GET', path: '/' },
    connections: 1,
    pipeline: 1,
    requestsPerConnection: 0,
    totalRequests: 0,
    durationUs: 0,
    rate: 0,
    maxConns: 4096,
    sha256: false,
    expectSha256: null,
    keepBodies: false,
    onBody: null,
    ...o,
  });
}

/** Polls both hosts, `stepUs` of manual time per round, until the load is done (bounded). */
function drive(r: { clock: ManualClock; pair: RingPair }, l: LoadRun, stepUs: number, maxRounds = 200_000): number {
  l.start();
  let rounds = 0;
  while (!l.done && rounds++ < maxRounds) {
    r.pair.poll();
    r.clock.advance(stepUs);
    l.tick(r.clock.nowUs());
  }
  return rounds;
}

test('keep-alive: 1000 requests on 8 connections, all answered, one latency sample each', () => {
  const r = rig();
  const l = load(r, { connections: 8, totalRequests: 1000 });
  drive(r, l, 10);
  assert.ok(l.done);
  const s = l.snapshot();
  assert.deepEqual([s.connects, s.connectFailures, s.requests, s.responses, s.status[2], s.bodyBytes], [8, 0, 1000, 1000, 1000, 10_000]);
  assert.equal(l.latency.totalCount, 1000);
  assert.equal(r.server.stats.accepted, 8);
  assert.equal(r.pair.client.tcp.counters.retransSegs, 0);
  const m = summarize(l.elapsedUs(), s, l.latency, false, null, []);
  assert.equal(m.responses, 1000);
  assert.ok(m.latencyUs.p50 > 0 && m.latencyUs.p50 <= m.latencyUs.p99 && m.latencyUs.p99 <= m.latencyUs.max);
  r.pair.close();
});

test('connection per request: 300 requests make 300 connections, each closed', () => {
  const r = rig();
  const l = load(r, { connections: 16, totalRequests: 300, requestsPerConnection: 1 });
  drive(r, l, 10);
  const s = l.snapshot();
  assert.deepEqual([s.connectFailures, s.requests, s.responses, s.failedRequests, s.inFlight], [0, 300, 300, 0, 0]);
  assert.equal(r.server.stats.requests, 300);
  // Http1Client replaces a closed connection while requests remain unassigned, so near the end a few
  // connections open that find no request left (at most one per concurrent connection).
  assert.ok(s.connects >= 300 && s.connects < 300 + 16, `connections ${s.connects}`);
  assert.equal(r.pair.client.tcp.counters.activeOpens, s.connects);
  r.pair.close();
});

test('pipelining 8 deep: 400 /bytes/3000 answers verified by sha256; non-2xx statuses are classed', () => {
  const body = new Uint8Array(3000).map((_, i) => DEFAULT_PATTERN[i % DEFAULT_PATTERN.length]);
  const r = rig();
  const l = load(r, { connections: 2, pipeline: 8, totalRequests: 400, request: { method: 'GET', path: '/bytes/3000' }, expectSha256: sha256Hex(body) });
  drive(r, l, 10);
  const s = l.snapshot();
  assert.deepEqual([s.responses, s.verifyOk, s.verifyFailed, s.bodyBytes], [400, 400, 0, 1_200_000]);
  r.pair.close();

  const r4 = rig(404);
  const l4 = load(r4, { totalRequests: 5 });
  drive(r4, l4, 10);
  assert.deepEqual(l4.snapshot().status, [0, 0, 0, 0, 5, 0]);
  r4.pair.close();
});

test('the time bound stops new requests; open ones finish', () => {
  const r = rig();
  const l = load(r, { connections: 4, durationUs: 50_000 });
  drive(r, l, 20);
  assert.ok(l.done, 'every connection closed after the bound');
  const s = l.snapshot();
  assert.ok(s.responses > 100, `responses ${s.responses}`);
  assert.equal(s.requests, s.responses, 'no request left unanswered');
  assert.ok(l.elapsedUs() >= 50_000 && l.elapsedUs() < 60_000, `elapsed ${l.elapsedUs()}`);
  r.pair.close();

  // A connection per request: those still opening at the bound are cancelled, not failed.
  const rc = rig();
  const lc = load(rc, { connections: 8, requestsPerConnection: 1, durationUs: 20_000 });
  drive(rc, lc, 20);
  const c = lc.snapshot();
  assert.ok(lc.done);
  assert.equal(c.connectFailures, 0);
  assert.ok(c.cancelled > 0 && c.cancelled <= 8, `cancelled ${c.cancelled}`);
  assert.deepEqual([c.requests, c.failedRequests, c.inFlight], [c.responses, 0, 0]);
  assert.equal(c.attempts, c.connects + c.cancelled, 'every attempt established or cancelled');
  rc.pair.close();
});

test('rate pacing: 2000 requests/s of manual time, and no more than the bound plus what was queued', () => {
  const r = rig();
  const l = load(r, { connections: 32, rate: 2000, durationUs: 200_000 });
  l.start();
  const at: number[] = [];
  for (let round = 0; !l.done && round < 100_000; round++) {
    r.pair.poll();
    r.clock.advance(50);
    l.tick(r.clock.nowUs());
    if (round === 1000 || round === 3000) at.push(l.snapshot().requests);
  }
  assert.ok(l.done);
  // Between 50 ms and 150 ms: 100 ms at 2000/s.
  assert.ok(Math.abs(at[1] - at[0] - 200) <= 2, `requests in 100 ms: ${at[1] - at[0]}`);
  // One token at start and 400 over the 200 ms; each connection may hold one request it was assigned but not yet let send.
  const n = l.snapshot().responses;
  assert.ok(n >= 395 && n <= 401 + 32, `responses ${n}`);
  r.pair.close();
});

test('TCP: TSval never runs backwards when input() runs at a burst time older than a write()', () => {
  const clock = new ManualClock(10_000_500);
  const pair = new RingPair({ clock, clientIp: CLIENT, serverIp: SERVER, tcp: { maxConns: 64, isnKey: Uint32Array.of(3, 4) }, poolSlots: 4096 });
  const quiet: StreamHandler = { onConnected: () => undefined, onData: () => undefined, onWritable: () => undefined, onPeerClosed: () => undefined, onClosed: () => undefined };
  // The server answers the first data it gets, as an HTTP server does, from inside input().
  let answered = false;
  const reply = new Uint8Array(10);
  const onData = (c: number): void => {
    if (answered) return;
    answered = true;
    assert.equal(pair.server.tcp.write(c, reply, 0, reply.length), reply.length);
  };
  assert.ok(pair.server.tcp.listen(0, 80, { ...quiet, onData }) >= 0);
  const cc = pair.client.tcp.connect(CLIENT, SERVER, 80, quiet);
  for (let i = 0; i < 4; i++) pair.poll();
  assert.equal(pair.client.tcp.state(cc), ESTABLISHED);
  const burstUs = clock.nowUs();
  clock.advance(1500); // past the next millisecond
  const data = new Uint8Array(100);
  assert.equal(pair.client.tcp.write(cc, data, 0, 100), 100);
  assert.equal(pair.client.tcp.write(cc, data, 0, 100), 100);
  pair.client.stack.flush();
  // One burst of two segments at the burst's time: the answer to the first goes out with the live
  // clock's TSval from write(), the ACK of the second with the older burst time.
  pair.server.poll(burstUs);
  pair.client.poll(clock.nowUs());
  assert.equal(pair.client.tcp.counters.pawsDrops, 0, 'the server ACK was dropped by PAWS');
  pair.close();
});
