/**
 * Client and server through the in-memory transport (deterministic, no
 * sockets): request bytes on the wire, pipelining depth, back-pressure on
 * large bodies, connection per request, and the request builder's checks.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Http1Client } from '../../src/app/http11/client.js';
import { MemStream } from '../../src/app/http11/mem_stream.js';
import { buildRequest } from '../../src/app/http11/request.js';
import { DEFAULT_PATTERN, Http1Server } from '../../src/app/http11/server.js';
import type { StreamHandler } from '../../src/net/tcp/stream.js';

describe('request builder', () => {
  it('writes method, target, Host, headers, Content-Length and body', () => {
    const b = buildRequest({ method: 'POST', path: '/up', headers: { 'X-A': '1' }, body: Buffer.from('hi') }, 'h:8080', true);
    assert.equal(Buffer.from(b).toString(), 'POST /up HTTP/1.1\r\nHost: h:8080\r\nX-A: 1\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi');
    assert.equal(Buffer.from(buildRequest({ method: 'GET', path: '/' }, 'h', false)).toString(), 'GET / HTTP/1.1\r\nHost: h\r\n\r\n');
  });

  it('refuses header injection, bad tokens and spaces in the path', () => {
    assert.throws(() => buildRequest({ method: 'GET', path: '/', headers: { X: 'a\r\nEvil: 1' } }, 'h', false), /control byte/);
    assert.throws(() => buildRequest({ method: 'G T', path: '/' }, 'h', false), /tchar/);
    assert.throws(() => buildRequest({ method: 'GET', path: '/a b' }, 'h', false), /space/);
    assert.throws(() => buildRequest({ method: 'GET', path: '/', headers: { Host: 'x' } }, 'h', false), /set by the client/);
  });
});

describe('client and server over the in-memory transport', () => {
  it('pipelining keeps at most `pipeline` requests in flight', () => {
    const m = new MemStream();
    let maxQueued = 0;
    // A server that records how many requests it sees per delivery before answering.
    const server = new Http1Server({ transport: m, port: 80, bodySize: 5 });
    const spy: StreamHandler = {
      onConnected: (c) => server.onConnected(c),
      onData: (c, u8, off, len) => {
        const n = Buffer.from(u8.subarray(off, off + len)).toString().split('GET ').length - 1;
        maxQueued = Math.max(maxQueued, n);
        server.onData(c, u8, off, len);
      },
      onWritable: (c) => server.onWritable(c),
      onPeerClosed: (c) => server.onPeerClosed(c),
      onClosed: (c, r) => server.onClosed(c, r),
    };
    m.listen(0, 80, spy);
    const c = new Http1Client({ transport: m, dstIp: 1, dstPort: 80, host: 'x', requests: [{ method: 'GET', path: '/' }], totalRequests: 100, pipeline: 6, pattern: DEFAULT_PATTERN });
    c.start();
    m.run();
    assert.equal(c.stats.responses, 100);
    assert.equal(c.stats.verifyOk, 100);
    assert.equal(maxQueued, 6);
    assert.ok(c.done);
  });

  it('a body larger than the transport buffer goes out under back-pressure, intact', () => {
    const m = new MemStream();
    new Http1Server({ transport: m, port: 80 }).listen();
    const c = new Http1Client({ transport: m, dstIp: 1, dstPort: 80, host: 'x', requests: [{ method: 'GET', path: '/bytes/3000001' }], totalRequests: 2, pattern: DEFAULT_PATTERN });
    c.start();
    m.run();
    assert.deepEqual([c.stats.responses, c.stats.verifyOk, c.stats.bodyBytes], [2, 2, 6000002]);
  });

  it('connection per request: one connection each, all closed at the end', () => {
    const m = new MemStream();
    const server = new Http1Server({ transport: m, port: 80 });
    server.listen();
    const c = new Http1Client({ transport: m, dstIp: 1, dstPort: 80, host: 'x', requests: [{ method: 'GET', path: '/bytes/1' }], totalRequests: 30, connections: 3, requestsPerConnection: 1 });
    c.start();
    m.run();
    assert.deepEqual([c.stats.responses, c.stats.connects, server.stats.accepted, c.stats.failedRequests, c.inFlight], [30, 30, 30, 0, 0]);
    assert.ok(c.done);
  });

  it('a refused connection ends the run with a counted failure', () => {
    const m = new MemStream();
    const c = new Http1Client({ transport: m, dstIp: 1, dstPort: 81, host: 'x', requests: [{ method: 'GET', path: '/' }], totalRequests: 5 });
    c.start();
    assert.deepEqual([c.stats.connectFailures, c.done], [1, true]);
  });
});
