/**
 * The HTTP client's failure accounting over the in-memory transport, against
 * servers that misbehave on purpose (garbage, silence, a reset, a FIN with
 * requests unanswered): each failure counted once under one reason, sent =
 * answered + failed + in flight and attempts = established + failed +
 * cancelled + opening; the response and connect deadlines of tick(); failed
 * connections replaced at the retry rate; the reason classification of TCP
 * close reasons and TLS messages; and the exit code a summary earns.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../src/common/clock.js';
import { Http1Client, type ClientOptions } from '../../src/app/http11/client.js';
import { HttpErr } from '../../src/app/http11/errors.js';
import { Fail, FAIL_KEYS, failOfClose } from '../../src/app/http11/failures.js';
import { MemStream } from '../../src/app/http11/mem_stream.js';
import { Http1Server } from '../../src/app/http11/server.js';
import { clientExitCode, type LoadSummary } from '../../src/engine/report.js';
import { CloseReason, TlsCloseReason, type StreamHandler } from '../../src/net/tcp/stream.js';
import { tlsFailKind } from '../../src/tls/stream_base.js';

/** A server that does `onData` with each delivery (and nothing else). */
function server(m: MemStream, onData: (conn: number) => void): void {
  const h: StreamHandler = {
    onConnected: () => undefined,
    onData: (c) => onData(c),
    onWritable: () => undefined,
    onPeerClosed: (c) => m.close(c),
    onClosed: () => undefined,
  };
  m.listen(0, 80, h);
}

function client(m: MemStream, clock: ManualClock, o: Partial<ClientOptions>): Http1Client {
  return new Http1Client({ transport: m, clock, dstIp: 0xc6123401, dstPort: 80, host: 'x', requests: [{ method: 'GET', path: '/' }], ...o });
}

/** Both identities, as the summary checks them. */
function assertBalanced(c: Http1Client): void {
  const s = c.stats;
  assert.equal(s.requests, s.responses + s.failedRequests + c.inFlight, 'sent = answered + failed + in flight');
  assert.equal(s.attempts, s.connects + s.connectFailures + s.cancelled + c.opening, 'attempts = established + failed + cancelled + opening');
  assert.equal(s.failures.reduce((a, b) => a + b), s.failedRequests + s.connectFailures, 'each failure under one reason');
}

/** Runs the transport and ticks the client each `stepUs` of manual time until it is done; bounded in rounds. */
function drive(m: MemStream, c: Http1Client, clock: ManualClock, stepUs: number, rounds: number): void {
  for (let i = 0; i < rounds && !c.done; i++) {
    m.run();
    clock.advance(stepUs);
    c.tick(clock.nowUs());
  }
  m.run();
}

describe('client failure accounting', () => {
  it('a server answering garbage: each request failed once, under httpParse', () => {
    const m = new MemStream();
    server(m, (conn) => m.write(conn, Buffer.from('GARBAGE\r\n\r\n'), 0, 11));
    const clock = new ManualClock(1_000_000);
    const c = client(m, clock, { totalRequests: 40, connections: 4, pipeline: 3 });
    c.start();
    drive(m, c, clock, 1000, 10_000);
    assert.ok(c.done);
    const s = c.stats;
    assertBalanced(c);
    assert.deepEqual([s.requests, s.responses, s.failedRequests, s.failures[Fail.HTTP_PARSE]], [40, 0, 40, 40]);
    assert.equal(s.failures.reduce((a, b) => a + b), 40, 'no other reason counted');
    assert.match(s.lastFailure[Fail.HTTP_PARSE], /^HTTP parse error: BAD_/);
    // One parse error per connection that carried requests: those behind it (pipelined 3 deep) failed with it.
    const parseErrors = s.errors.reduce((a, b) => a + b);
    assert.ok(parseErrors >= 40 / 3 && parseErrors <= s.connects, `parse errors ${parseErrors}, connections ${s.connects}`);
    assert.equal(s.errors[HttpErr.TRUNCATED_BODY], 0);
  });

  it('a silent server: the request fails with response timeout once its bound passed', () => {
    const m = new MemStream();
    server(m, () => undefined);
    const clock = new ManualClock(1_000_000);
    const c = client(m, clock, { totalRequests: 1, responseTimeoutUs: 2_000_000 });
    c.start();
    drive(m, c, clock, 100_000, 19);
    assert.equal(c.done, false, 'still waiting within the bound');
    assert.equal(c.inFlight, 1);
    assertBalanced(c);
    drive(m, c, clock, 100_000, 100);
    assert.ok(c.done);
    assert.deepEqual([c.stats.failedRequests, c.stats.failures[Fail.RESPONSE_TIMEOUT], c.inFlight], [1, 1, 0]);
    assert.match(c.stats.lastFailure[Fail.RESPONSE_TIMEOUT], /^response timeout \(198\.18\.52\.1:80\): not complete within 2 s$/);
    assertBalanced(c);
  });

  it('read timeout: a response that trickles in is not cut; one that stalls fails after the bound', () => {
    const m = new MemStream();
    let srv = -1;
    server(m, (conn) => {
      srv = conn;
      const head = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n');
      m.write(conn, head, 0, head.length);
    });
    const clock = new ManualClock(1_000_000);
    const c = client(m, clock, { totalRequests: 2, readTimeoutUs: 1_000_000 });
    c.start();
    // First request: a body byte each 0.5 s, 5 s in all, longer than the bound but never silent that long.
    for (let i = 0; i < 100 && c.stats.responses === 0; i++) {
      m.run();
      if (i % 5 === 4) m.write(srv, Buffer.from('x'), 0, 1);
      clock.advance(100_000);
      c.tick(clock.nowUs());
    }
    assert.deepEqual([c.stats.responses, c.stats.failedRequests], [1, 0]);
    // Second request: the head, then 3 body bytes, then silence.
    m.run();
    m.write(srv, Buffer.from('xyz'), 0, 3);
    drive(m, c, clock, 100_000, 30);
    assert.ok(c.done);
    assert.deepEqual([c.stats.responses, c.stats.failures[Fail.RESPONSE_TIMEOUT]], [1, 1]);
    assert.match(c.stats.lastFailure[Fail.RESPONSE_TIMEOUT], /^response timeout \(198\.18\.52\.1:80\): nothing received for 1 s$/);
    assertBalanced(c);
  });

  it('a reset and a FIN with requests unanswered: reset and closedEarly, the connection replaced at once', () => {
    for (const [act, code] of [[(m: MemStream, c: number) => m.abort(c), Fail.RESET], [(m: MemStream, c: number) => m.close(c), Fail.CLOSED_EARLY]] as const) {
      const m = new MemStream();
      server(m, (conn) => act(m, conn));
      const clock = new ManualClock(1_000_000);
      const c = client(m, clock, { totalRequests: 6, connections: 2, pipeline: 2 });
      c.start();
      drive(m, c, clock, 1000, 10_000);
      assert.ok(c.done);
      assertBalanced(c);
      assert.equal(c.stats.failures[code], 6, FAIL_KEYS[code]);
      assert.equal(c.stats.failedRequests, 6);
    }
  });

  it('stop() with a request in flight, then end(): in flight, not failed, whatever closes afterwards', () => {
    const m = new MemStream();
    server(m, () => undefined);
    const clock = new ManualClock(1_000_000);
    const c = client(m, clock, { totalRequests: 10, connections: 2 });
    c.start();
    m.run();
    c.stop();
    c.end();
    m.abort(0);
    m.abort(2);
    assert.deepEqual([c.stats.requests, c.inFlight, c.stats.failedRequests], [2, 2, 0]);
    assertBalanced(c);
  });

  it('connect timeout: a connection that never comes up fails once its bound passed', () => {
    const m = new MemStream();
    server(m, () => undefined);
    const clock = new ManualClock(1_000_000);
    const c = client(m, clock, { totalRequests: 1, connectTimeoutUs: 1_000_000 });
    c.start(); // MemStream delivers onConnected only from run(): the client sees it opening
    for (let i = 0; i < 12; i++) {
      clock.advance(100_000);
      c.tick(clock.nowUs());
    }
    assert.ok(c.done, 'one failed attempt of one connection: the count-bounded client gives up');
    assert.deepEqual([c.stats.connectFailures, c.stats.failures[Fail.CONNECT_TIMEOUT], c.stats.requests], [1, 1, 0]);
    assertBalanced(c);
  });

  it('connections that fail to open are replaced at the retry rate, not at once', () => {
    // Nothing listens: MemStream refuses every connect().
    const m = new MemStream();
    const clock = new ManualClock(1_000_000);
    const c = client(m, clock, { totalRequests: 1000, connections: 4, retryRate: 20, giveUpAfter: 0 });
    c.start();
    // One second of manual time, ticked each millisecond.
    for (let i = 0; i < 1000; i++) {
      m.run();
      clock.advance(1000);
      c.tick(clock.nowUs());
    }
    const s = c.stats;
    // 4 at the start, then one retry per token: 20 per second, one token in hand at the start.
    assert.ok(s.attempts >= 4 + 20 && s.attempts <= 4 + 21, `attempts ${s.attempts}`);
    assert.deepEqual([s.failures[Fail.LOCAL], s.connectFailures, s.connects], [s.attempts, s.attempts, 0]);
    assert.match(s.lastFailure[Fail.LOCAL], /^no free connection or source port \(198\.18\.52\.1:80\): error -1$/);
    assertBalanced(c);
    c.stop();
    m.run();
    assert.ok(c.done);
    assertBalanced(c);
  });

  it('a healthy server: nothing failed, nothing in flight at the end', () => {
    const m = new MemStream();
    new Http1Server({ transport: m, port: 80 }).listen();
    const clock = new ManualClock(1_000_000);
    const c = client(m, clock, { totalRequests: 50, connections: 3, requestsPerConnection: 2 });
    c.start();
    drive(m, c, clock, 1000, 10_000);
    assert.ok(c.done);
    assert.deepEqual([c.stats.responses, c.stats.failedRequests, c.stats.connectFailures, c.inFlight, c.opening], [50, 0, 0, 0, 0]);
    assertBalanced(c);
  });
});

describe('failure reasons', () => {
  it('TCP close reasons: one reason each, none for a clean close with nothing outstanding', () => {
    assert.equal(failOfClose(CloseReason.REFUSED, false, 0), Fail.REFUSED);
    assert.equal(failOfClose(CloseReason.RESET, true, 3), Fail.RESET);
    assert.equal(failOfClose(CloseReason.RESET, false, 0), Fail.RESET);
    assert.equal(failOfClose(CloseReason.RESET, true, 0), -1, 'an idle keep-alive connection reset: nothing lost');
    assert.equal(failOfClose(CloseReason.TIMEOUT, false, 0), Fail.CONNECT_TIMEOUT);
    assert.equal(failOfClose(CloseReason.TIMEOUT, true, 1), Fail.RETRANSMIT_TIMEOUT);
    assert.equal(failOfClose(CloseReason.UNREACHABLE, false, 0), Fail.UNREACHABLE);
    assert.equal(failOfClose(CloseReason.NORMAL, true, 2), Fail.CLOSED_EARLY);
    assert.equal(failOfClose(CloseReason.NORMAL, false, 0), Fail.CLOSED_EARLY, 'closed during the TLS handshake');
    assert.equal(failOfClose(CloseReason.NORMAL, true, 0), -1);
    assert.equal(failOfClose(TlsCloseReason.TLS_VERIFY, false, 0), Fail.TLS_VERIFY);
    assert.equal(failOfClose(TlsCloseReason.TLS_TIMEOUT, false, 0), Fail.TLS_TIMEOUT);
    assert.equal(failOfClose(TlsCloseReason.TLS_ERROR, true, 1), Fail.TLS_ERROR);
  });

  it('TLS messages: our verification of the peer, or any other TLS error', () => {
    for (const m of [
      'certificate verify failed: self-signed certificate', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN',
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_HAS_EXPIRED', 'ERR_TLS_CERT_ALTNAME_INVALID',
    ]) assert.equal(tlsFailKind(m), TlsCloseReason.TLS_VERIFY, m);
    for (const m of [
      'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE', 'ERR_SSL_WRONG_VERSION_NUMBER', 'error:0A00010B:SSL routines::wrong version number',
      'sslv3 alert handshake failure', 'TLS input not taken',
    ]) assert.equal(tlsFailKind(m), TlsCloseReason.TLS_ERROR, m);
  });

  it('exit code: 3 with failures beyond --allow-errors, 0 within; the reason names counts and reasons', () => {
    const sum = (failedConns: number, failedReqs: number, responses: number, verifyFailed = 0): LoadSummary =>
      ({
        accounted: true,
        connections: { attempted: 10, ok: 10 - failedConns, failed: failedConns, cancelled: 0, perSecond: 0 },
        requests: responses + failedReqs,
        responses,
        failedRequests: failedReqs,
        inFlight: 0,
        failures: failedConns + failedReqs > 0 ? { refused: { count: failedConns + failedReqs, lastMessage: 'x' } } : {},
        verify: verifyFailed > 0 ? { ok: responses - verifyFailed, failed: verifyFailed } : null,
      }) as unknown as LoadSummary;
    assert.deepEqual(clientExitCode(sum(0, 0, 100), 0), { code: 0, reason: '' });
    const bad = clientExitCode(sum(1, 0, 99), 0);
    assert.equal(bad.code, 3);
    assert.match(bad.reason, /1 connections failed \(refused 1\): 1\.00% of the work/);
    assert.equal(clientExitCode(sum(1, 0, 99), 0.01).code, 0, 'exactly the share allowed');
    assert.equal(clientExitCode(sum(2, 0, 98), 0.01).code, 3);
    assert.equal(clientExitCode(sum(0, 0, 100, 1), 0).code, 3, 'a body that did not verify');
    assert.equal(clientExitCode({ ...sum(0, 0, 100), accounted: false }, 1).code, 3, 'counts that do not add up');
  });
});
