/**
 * The HTTP server's header-read and idle timeouts, its accounting under
 * pipelining abuse, and its free list, over the in-memory transport on a
 * manual clock: a slowloris head is closed at the header timeout however
 * slowly it trickles, an idle keep-alive connection at the idle timeout, a
 * busy one never; every request ends as a response, in progress or a counted
 * drop, every connection as open or closed by one reason.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/common/clock.js';
import { MemStream } from '../../src/app/http11/mem_stream.js';
import { Http1Server, type ServerOptions } from '../../src/app/http11/server.js';
import { CloseReason, type StreamHandler } from '../../src/net/tcp/stream.js';
import { assertReconciled } from './server_stats.js';

const HEADER_US = 1_000_000;
const IDLE_US = 2_000_000;
/** The server checks deadlines every sixteenth of the shortest timeout. */
const SWEEP_US = HEADER_US / 16;
const STEP_US = 10_000;

/** The client end: what it received, and whether the server closed or reset it. */
class Peer implements StreamHandler {
  got = '';
  fin = false;
  closed = -1;
  onConnected(): void {}
  onData(_c: number, u8: Uint8Array, off: number, len: number): void {
    this.got += Buffer.from(u8.buffer, u8.byteOffset + off, len).toString('latin1');
  }
  onWritable(): void {}
  onPeerClosed(): void {
    this.fin = true;
  }
  onClosed(_c: number, reason: number): void {
    this.closed = reason;
  }
  get answers(): number {
    return this.got.split('HTTP/1.1 ').length - 1;
  }
}

class Rig {
  readonly m = new MemStream();
  readonly clock = new ManualClock(5_000_000);
  readonly server: Http1Server;
  constructor(opt: Partial<ServerOptions> = {}) {
    this.server = new Http1Server({ transport: this.m, port: 80, clock: this.clock, headerTimeoutUs: HEADER_US, idleTimeoutUs: IDLE_US, ...opt });
    this.server.listen();
    this.server.tick(this.clock.nowUs());
  }
  open(): { id: number; peer: Peer } {
    const peer = new Peer();
    const id = this.m.connect(0, 0, 80, peer);
    this.m.run();
    return { id, peer };
  }
  send(id: number, text: string): void {
    const b = Buffer.from(text, 'latin1');
    assert.equal(this.m.write(id, b, 0, b.length), b.length);
    this.m.run();
  }
  /** Lets `us` pass in 10 ms ticks, as the poll loop ticks the server. */
  advance(us: number): void {
    const end = this.clock.nowUs() + us;
    while (this.clock.nowUs() < end) {
      this.clock.advance(Math.min(STEP_US, end - this.clock.nowUs()));
      this.server.tick(this.clock.nowUs());
      this.m.run();
    }
  }
  /** Advances until `p` heard the server's FIN; returns the time it took. */
  untilFin(p: Peer, maxUs: number): number {
    const start = this.clock.nowUs();
    while (!p.fin && this.clock.nowUs() - start < maxUs) this.advance(STEP_US);
    return this.clock.nowUs() - start;
  }
  get stats(): Record<string, number> {
    return this.server.stats as unknown as Record<string, number>;
  }
}

const HEAD = 'GET / HTTP/1.1\r\nHost: x\r\nUser-Agent: slow\r\n\r\n';

describe('server timeouts', () => {
  it('slowloris: a head trickling one byte per 300 ms is closed at the header timeout from its first byte', () => {
    const r = new Rig();
    const { id, peer } = r.open();
    r.advance(500_000);
    let sent = 0;
    while (!peer.fin && sent < HEAD.length) {
      r.send(id, HEAD[sent++]);
      r.advance(300_000);
    }
    assert.ok(peer.fin, 'the server closed the connection');
    // First byte at 0, then 300 ms each: closed at the sweep after 1 s, before the 5th byte (1.2 s).
    assert.equal(sent, 4, 'bytes sent before the close');
    assert.equal(peer.answers, 0);
    assert.deepEqual([r.stats.closedHeaderTimeout, r.stats.closedIdleTimeout, r.stats.open, r.stats.requests], [1, 0, 0, 0]);
    assertReconciled(r.stats);
  });

  it('the deadline falls between the header timeout and one sweep period after it', () => {
    const r = new Rig();
    const { id, peer } = r.open();
    r.send(id, 'GET /');
    const t = r.untilFin(peer, 10 * HEADER_US);
    assert.ok(t >= HEADER_US && t <= HEADER_US + SWEEP_US + STEP_US, `closed after ${t} us`);
    assert.equal(r.stats.closedHeaderTimeout, 1);
  });

  it('a head completed within the header timeout is answered; then the idle timeout closes the connection', () => {
    const r = new Rig();
    const { id, peer } = r.open();
    r.send(id, HEAD.slice(0, 10));
    r.advance(900_000);
    r.send(id, HEAD.slice(10));
    assert.equal(peer.answers, 1);
    const t = r.untilFin(peer, 10 * IDLE_US);
    assert.ok(t >= IDLE_US && t <= IDLE_US + SWEEP_US + STEP_US, `idle close after ${t} us`);
    assert.deepEqual([r.stats.closedIdleTimeout, r.stats.closedHeaderTimeout, r.stats.requests, r.stats.responses], [1, 0, 1, 1]);
    assertReconciled(r.stats);
  });

  it('a connection that never sends is closed at the idle timeout; one with a request every 1.5 s is not', () => {
    const r = new Rig();
    const quiet = r.open();
    const busy = r.open();
    for (let i = 0; i < 8; i++) {
      r.send(busy.id, HEAD);
      r.advance(1_500_000);
    }
    assert.ok(quiet.peer.fin, 'the quiet connection was closed');
    assert.ok(!busy.peer.fin, 'the busy connection stays open');
    assert.equal(busy.peer.answers, 8);
    assert.deepEqual([r.stats.closedIdleTimeout, r.stats.open], [1, 1]);
    assertReconciled(r.stats);
  });

  it('a body that stalls is closed at the idle timeout, its request not counted', () => {
    const r = new Rig();
    const { id, peer } = r.open();
    r.send(id, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc');
    r.untilFin(peer, 10 * IDLE_US);
    assert.deepEqual([r.stats.closedIdleTimeout, r.stats.requests, r.stats.bodyBytesIn], [1, 0, 3]);
    assertReconciled(r.stats);
  });

  it('timeouts of 0 close nothing', () => {
    const r = new Rig({ headerTimeoutUs: 0, idleTimeoutUs: 0 });
    const a = r.open();
    const b = r.open();
    r.send(a.id, 'GET /');
    r.advance(100_000_000);
    assert.ok(!a.peer.fin && !b.peer.fin);
    assert.equal(r.stats.open, 2);
  });

  it('refuses a negative timeout', () => {
    assert.throws(() => new Http1Server({ transport: new MemStream(), port: 80, idleTimeoutUs: -1 }), /idleTimeoutUs must be >= 0/);
  });
});

describe('server accounting under pipelining abuse', () => {
  const req = (path: string): string => `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`;

  it('1,000 pipelined requests for 100 kB each to a peer that does not read: shed, the rest of the delivery unread', () => {
    const r = new Rig();
    const { id, peer } = r.open();
    r.send(id, req('/bytes/100000').repeat(1000));
    assert.equal(peer.closed, CloseReason.RESET, 'the server reset the connection');
    const s = r.stats;
    assert.equal(s.closedShed, 1);
    // The queue holds maxPipeline answers; the request that found it full is dropped with them.
    assert.equal(s.droppedShed, 256 + 1);
    assert.ok(s.requests < 1000, `requests counted after the shed: ${s.requests}`);
    assert.deepEqual([s.inProgress, s.open, s.droppedClosed], [0, 0, 0]);
    assertReconciled(s);
  });

  it('good requests then garbage: each answered, the malformed one with 400, then closed', () => {
    const r = new Rig();
    const { id, peer } = r.open();
    r.send(id, req('/').repeat(10) + 'GARBAGE\r\n\r\n' + req('/').repeat(5));
    assert.ok(peer.fin);
    assert.equal(peer.answers, 11);
    assert.match(peer.got, /HTTP\/1\.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n$/);
    assert.deepEqual([r.stats.requests, r.stats.responses, r.stats.errors, r.stats.closedServer], [11, 11, 1, 1]);
    assertReconciled(r.stats);
  });

  it('requests then half a request and FIN: the cut request is answered as an error, the connection counted as closed by the peer', () => {
    const r = new Rig();
    const { id, peer } = r.open();
    r.send(id, req('/').repeat(5) + 'GET /x HTTP/1.1\r\nHo');
    r.m.shutdown(id);
    r.m.run();
    assert.equal(peer.answers, 6);
    assert.deepEqual([r.stats.requests, r.stats.responses, r.stats.errors, r.stats.closedPeer], [6, 6, 1, 1]);
    assertReconciled(r.stats);
  });

  it('a reset with answers owed: they are counted as dropped with their connection', () => {
    const r = new Rig();
    const { id } = r.open();
    const b = Buffer.from(req('/bytes/200000').repeat(20), 'latin1');
    r.m.write(id, b, 0, b.length);
    // One round: the server reads the requests and fills the transport; the peer has read nothing yet.
    r.m.run(1);
    r.m.abort(id);
    r.m.run();
    const s = r.stats;
    assert.equal(s.closedReset, 1);
    assert.ok(s.droppedClosed > 0, `dropped ${s.droppedClosed}`);
    assert.deepEqual([s.requests, s.inProgress, s.open], [20, 0, 0]);
    assertReconciled(s);
  });

  it('Connection: close and HTTP/1.0: closed by the server after the answer', () => {
    const r = new Rig();
    const a = r.open();
    r.send(a.id, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' + req('/'));
    const b = r.open();
    r.send(b.id, 'GET / HTTP/1.0\r\n\r\n');
    assert.ok(a.peer.fin && b.peer.fin);
    assert.deepEqual([a.peer.answers, b.peer.answers], [1, 1]);
    assert.deepEqual([r.stats.requests, r.stats.responses, r.stats.closedServer], [2, 2, 2]);
    assertReconciled(r.stats);
  });
});

describe('server free list', () => {
  it('after 200 connections close, the free list gives every state back within two sweeps', () => {
    const r = new Rig();
    const conns = Array.from({ length: 200 }, () => r.open());
    for (const c of conns) r.send(c.id, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.deepEqual([r.stats.open, r.stats.pooled], [200, 0]);
    for (const c of conns) r.m.shutdown(c.id);
    r.m.run();
    assert.deepEqual([r.stats.open, r.stats.pooled, r.stats.closedPeer], [0, 200, 200]);
    // A new connection reuses a state.
    const again = r.open();
    r.send(again.id, HEAD);
    assert.equal(again.peer.answers, 1);
    assert.equal(r.stats.pooled, 199);
    r.m.shutdown(again.id);
    r.m.run();
    r.advance(2 * SWEEP_US + STEP_US);
    assert.deepEqual([r.stats.open, r.stats.pooled], [0, 0]);
    assertReconciled(r.stats);
  });

  it('states in steady use stay pooled', () => {
    const r = new Rig();
    for (let round = 0; round < 20; round++) {
      const c = r.open();
      r.send(c.id, HEAD);
      r.m.shutdown(c.id);
      r.m.run();
      r.advance(STEP_US);
    }
    assert.equal(r.stats.accepted, 20);
    assert.ok(r.stats.pooled <= 1, `pooled ${r.stats.pooled}`);
    assertReconciled(r.stats);
  });
});
