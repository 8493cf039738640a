/**
 * Segments per answer on the user-space TCP (two stacks on a ring pair, fake
 * clock): a small answer leaves the server as one segment, head and body
 * together, and the answers to requests that arrived together share segments; a large
 * body still streams intact under back-pressure.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../src/common/clock.js';
import { Http1Client } from '../../src/app/http11/client.js';
import { DEFAULT_PATTERN, Http1Server } from '../../src/app/http11/server.js';
import { RingPair } from '../../src/engine/ring_pair.js';
import { parseIp } from '../../src/wire/ipv4_addr.js';

const CLIENT = parseIp('198.18.7.1');
const SERVER = parseIp('198.18.7.2');

/** Runs `requests` GETs of `path` on one connection; returns frames the server sent per response. */
function run(path: string, requests: number, pipeline: number): { framesPerResponse: number; responses: number; verifyOk: number; bodyBytes: number } {
  const clock = new ManualClock(1_000_000);
  const pair = new RingPair({ clock, clientIp: CLIENT, serverIp: SERVER, tcp: { maxConns: 64, isnKey: Uint32Array.of(5, 6) }, poolSlots: 16384 });
  try {
    new Http1Server({ transport: pair.server.tcp, port: 80, bodySize: 64 }).listen();
    const c = new Http1Client({ transport: pair.client.tcp, clock, dstIp: SERVER, srcIp: CLIENT, dstPort: 80, host: 'v', requests: [{ method: 'GET', path }], totalRequests: requests, pipeline, pattern: DEFAULT_PATTERN });
    c.start();
    // Bounded in polls; 10 µs of fake time each.
    for (let i = 0; i < 200_000 && !c.done; i++) {
      pair.poll();
      clock.advance(10);
    }
    assert.ok(c.done, 'the client finished');
    const frames = pair.server.queue.stats().txFrames;
    return { framesPerResponse: frames / c.stats.responses, responses: c.stats.responses, verifyOk: c.stats.verifyOk, bodyBytes: c.stats.bodyBytes };
  } finally {
    pair.close();
  }
}

describe('server answers on the wire', () => {
  it('keep-alive, one at a time: one segment per small answer (head and body together)', () => {
    const r = run('/', 200, 1);
    assert.deepEqual([r.responses, r.verifyOk, r.bodyBytes], [200, 200, 200 * 64]);
    // One data segment each, plus the handshake and the close: not two per answer.
    assert.ok(r.framesPerResponse < 1.1, `server frames per response ${r.framesPerResponse}`);
  });

  it('16 requests in one segment: their answers go out together', () => {
    const clock = new ManualClock(1_000_000);
    const pair = new RingPair({ clock, clientIp: CLIENT, serverIp: SERVER, tcp: { maxConns: 64, isnKey: Uint32Array.of(5, 6) }, poolSlots: 16384 });
    try {
      new Http1Server({ transport: pair.server.tcp, port: 80, bodySize: 64 }).listen();
      const reqs = Buffer.from('GET / HTTP/1.1\r\nHost: v\r\n\r\n'.repeat(16));
      let got = '';
      const tcp = pair.client.tcp;
      tcp.connect(CLIENT, SERVER, 80, {
        onConnected: (c) => assert.equal(tcp.write(c, reqs, 0, reqs.length), reqs.length),
        onData: (_c, u8, off, len) => (got += Buffer.from(u8.subarray(off, off + len)).toString('latin1')),
        onWritable: () => undefined,
        onPeerClosed: () => undefined,
        onClosed: () => undefined,
      });
      for (let i = 0; i < 1000 && got.split('HTTP/1.1 200').length <= 16; i++) {
        pair.poll();
        clock.advance(10);
      }
      assert.equal(got.split('HTTP/1.1 200').length - 1, 16);
      // The SYN-ACK, at most one pure ACK, and all 16 answers (~1.6 KB) in two segments (not 32).
      assert.ok(pair.server.queue.stats().txFrames <= 4, `server frames ${pair.server.queue.stats().txFrames}`);
    } finally {
      pair.close();
    }
  });

  it('a 1 MB body still streams intact', () => {
    const r = run('/bytes/1000000', 3, 1);
    assert.deepEqual([r.responses, r.verifyOk, r.bodyBytes], [3, 3, 3_000_000]);
  });
});
