/**
 * The HTTP client's connection accounting and response times on the
 * user-space TCP (two stacks on a ring pair, fake clock): it opens one
 * connection per request it needs and no more, stop() cancels connections
 * still opening rather than counting them as failed, and with a request rate
 * the response time starts when the request is written, not when it began
 * waiting for its pacing token.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../src/common/clock.js';
import { Http1Client, type ClientOptions } from '../../src/app/http11/client.js';
import { DEFAULT_PATTERN, Http1Server } from '../../src/app/http11/server.js';
import type { StreamTransport } from '../../src/net/tcp/stream.js';
import { PacedTransport } from '../../src/engine/pacer.js';
import { RingPair } from '../../src/engine/ring_pair.js';
import { parseIp } from '../../src/wire/ipv4_addr.js';

const CLIENT = parseIp('198.18.8.1');
const SERVER = parseIp('198.18.8.2');
const STEP_US = 10;

interface Rig {
  clock: ManualClock;
  pair: RingPair;
  server: Http1Server;
}

function rig(): Rig {
  const clock = new ManualClock(1_000_000);
  const pair = new RingPair({ clock, clientIp: CLIENT, serverIp: SERVER, tcp: { maxConns: 1024, isnKey: Uint32Array.of(8, 9) }, poolSlots: 16384 });
  const server = new Http1Server({ transport: pair.server.tcp, port: 80, bodySize: 32 });
  assert.ok(server.listen() >= 0);
  return { clock, pair, server };
}

function client(r: Rig, transport: StreamTransport, o: Partial<ClientOptions>): Http1Client {
  return new Http1Client({ transport, clock: r.clock, srcIp: CLIENT, dstIp: SERVER, dstPort: 80, host: 'v', requests: [{ method: 'GET', path: '/' }], pattern: DEFAULT_PATTERN, ...o });
}

/** Polls both ends (and the pacer) until the client is done; bounded in polls. */
function drive(r: Rig, c: Http1Client, pacer: PacedTransport | null = null): void {
  for (let i = 0; i < 500_000 && !c.done; i++) {
    pacer?.tick(r.clock.nowUs());
    r.pair.poll();
    r.clock.advance(STEP_US);
  }
  assert.ok(c.done, 'the client finished');
}

describe('HTTP client on the user-space TCP', () => {
  it('connection per request: opens exactly one connection per request', () => {
    const r = rig();
    try {
      const c = client(r, r.pair.client.tcp, { totalRequests: 300, connections: 8, requestsPerConnection: 1 });
      c.start();
      drive(r, c);
      const s = c.stats;
      assert.deepEqual([s.responses, s.verifyOk, s.connects, s.connectFailures, s.failedRequests], [300, 300, 300, 0, 0]);
      assert.equal(r.server.stats.accepted, 300, 'connections the server saw');
    } finally {
      r.pair.close();
    }
  });

  it('keep-alive: never more connections than requests', () => {
    const r = rig();
    try {
      const c = client(r, r.pair.client.tcp, { totalRequests: 5, connections: 16 });
      c.start();
      drive(r, c);
      assert.deepEqual([c.stats.responses, c.stats.connects, r.server.stats.accepted], [5, 5, 5]);
    } finally {
      r.pair.close();
    }
  });

  it('stop() while connections are opening: cancelled, not failed', () => {
    const r = rig();
    try {
      const c = client(r, r.pair.client.tcp, { totalRequests: 1000, connections: 8, requestsPerConnection: 1 });
      c.start();
      c.stop(); // all 8 are still in SYN-SENT
      drive(r, c);
      const s = c.stats;
      assert.deepEqual([s.cancelled, s.connectFailures, s.connects, s.requests], [8, 0, 0, 0]);
    } finally {
      r.pair.close();
    }
  });

  it('with a request rate, response times exclude the wait for pacing', () => {
    const r = rig();
    try {
      // 2,000 requests/s: a token each 500 µs, while a request takes a few polls on the ring.
      const pacer = new PacedTransport(r.pair.client.tcp, 2000, 1024);
      const rtts: number[] = [];
      const c = client(r, pacer, { totalRequests: 100, connections: 20, onResponse: (_st, _n, rtt) => rtts.push(rtt) });
      pacer.tick(r.clock.nowUs());
      const t0 = r.clock.nowUs();
      c.start();
      drive(r, c, pacer);
      assert.equal(c.stats.responses, 100);
      // The pacing held the run to its rate...
      assert.ok(r.clock.nowUs() - t0 >= 40_000, `run took ${r.clock.nowUs() - t0} µs`);
      // ...while each request, once written, was answered within a few polls.
      assert.ok(Math.max(...rtts) < 20 * STEP_US, `max response time ${Math.max(...rtts)} µs`);
    } finally {
      r.pair.close();
    }
  });
});
