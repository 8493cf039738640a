/**
 * HTTP/1.1 and TLS benchmarks, each printed beside a peer measured in the same run:
 *  1. parsers alone: responses/s and requests/s through vaigAI's parser and through
 *     llhttp (Node's own parser, driven directly through _http_common);
 *  2. client and server in one thread over the in-memory transport: keep-alive
 *     requests/s and connection-per-request transactions/s (HTTP layer cost only;
 *     the ring-port run with the user-space TCP comes when that stack lands);
 *  3. TLS handshakes/s: vaigAI's TLS client (Node tls over a ConnDuplex, kernel TCP)
 *     against openssl s_server, beside `openssl s_time -new` against the same server.
 * Short runs (the machine is shared); expect noise and compare ratios, not rates.
 */
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { Http1Client } from '../src/app/http11/client.js';
import type { MessageHead } from '../src/app/http11/head.js';
import { KernelStream } from '../src/app/http11/kernel_stream.js';
import { MemStream } from '../src/app/http11/mem_stream.js';
import { Http1Parser, KIND_REQUEST, KIND_RESPONSE, type ParserSink } from '../src/app/http11/parser.js';
import { Http1Server } from '../src/app/http11/server.js';
import { parseIp } from '../src/wire/ipv4_addr.js';
import { CertManager } from '../src/tls/cert_manager.js';
import { TlsStream } from '../src/tls/tls_stream.js';
import { benchCertDir, startSServer } from './tls_peers.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 1.5);

interface LlhttpParser {
  initialize(kind: number, resource: object): void;
  execute(b: Buffer): number | Error;
  [k: number]: unknown;
}
interface LlhttpCtor {
  new (): LlhttpParser;
  REQUEST: number;
  RESPONSE: number;
  kOnHeadersComplete: number;
  kOnBody: number;
  kOnMessageComplete: number;
}
const { HTTPParser } = createRequire(import.meta.url)('_http_common') as { HTTPParser: LlhttpCtor };

function rate(fn: () => number): number {
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < SECONDS * 1000) {
    n += fn();
    t = performance.now();
  }
  return n / ((t - t0) / 1000);
}

function line(name: string, ours: number, peer: number, peerName: string): void {
  const f = (x: number): string => x.toFixed(0).padStart(10);
  console.log(`${name.padEnd(44)} vaigAI ${f(ours)}/s   ${peerName} ${f(peer)}/s   ratio ${(ours / peer).toFixed(2)}`);
}

class Count implements ParserSink {
  n = 0;
  onHead(_h: MessageHead): boolean {
    return false;
  }
  onHeader(): void {}
  onBody(): void {}
  onComplete(): void {
    this.n++;
  }
  onError(code: number): void {
    throw new Error(`bench input rejected: ${code}`);
  }
}

function parsers(): void {
  const res = 'HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Wed, 25 Nov 2026 09:00:00 GMT\r\nContent-Type: text/plain\r\nContent-Length: 13\r\nConnection: keep-alive\r\n\r\nHello, World!';
  const req = 'GET /bytes/13 HTTP/1.1\r\nHost: 198.18.5.1\r\nUser-Agent: vaigAI\r\nAccept: */*\r\n\r\n';
  for (const [what, msg, kind, llKind] of [
    ['responses parsed (keep-alive, pipelined)', res, KIND_RESPONSE, HTTPParser.RESPONSE],
    ['requests parsed (keep-alive, pipelined)', req, KIND_REQUEST, HTTPParser.REQUEST],
  ] as const) {
    const per = 200;
    const buf = Buffer.from(msg.repeat(per), 'latin1');
    const sink = new Count();
    const p = new Http1Parser(kind, sink);
    const ours = rate(() => {
      for (let i = 0; i < buf.length; i += 4096) p.feed(buf, i, Math.min(4096, buf.length - i));
      return per;
    });
    const ll = new HTTPParser();
    ll.initialize(llKind, {});
    let done = 0;
    ll[HTTPParser.kOnHeadersComplete] = () => 0;
    ll[HTTPParser.kOnBody] = () => {};
    ll[HTTPParser.kOnMessageComplete] = () => {
      done++;
    };
    const chunks: Buffer[] = [];
    for (let i = 0; i < buf.length; i += 4096) chunks.push(buf.subarray(i, i + 4096));
    const peer = rate(() => {
      for (const c of chunks) ll.execute(c);
      return per;
    });
    if (done === 0 || sink.n === 0) throw new Error('a parser completed nothing');
    line(what, ours, peer, 'llhttp');
  }
}

function transactions(): void {
  for (const [what, perConn, pipeline] of [
    ['keep-alive requests, pipeline 1, 16 conns', 0, 1],
    ['keep-alive requests, pipeline 16, 16 conns', 0, 16],
    ['connection-per-request transactions', 1, 1],
  ] as const) {
    const m = new MemStream();
    new Http1Server({ transport: m, port: 80, bodySize: 13 }).listen();
    const total = perConn === 1 ? 40_000 : 200_000;
    const c = new Http1Client({
      transport: m, dstIp: 1, dstPort: 80, host: 'x', requests: [{ method: 'GET', path: '/' }],
      totalRequests: total, connections: 16, pipeline, requestsPerConnection: perConn,
    });
    const t0 = performance.now();
    c.start();
    m.run(100_000_000);
    const s = (performance.now() - t0) / 1000;
    if (c.stats.responses !== total) throw new Error(`only ${c.stats.responses} of ${total} answered`);
    console.log(`${what.padEnd(44)} vaigAI ${(total / s).toFixed(0).padStart(10)}/s   (client + server in one thread, in-memory transport)`);
  }
}

async function tlsHandshakes(): Promise<void> {
  const dir = benchCertDir('vgapp-bench-');
  const srv = await startSServer(dir);
  try {
    for (const v of ['TLSv1.3', 'TLSv1.2'] as const) {
      const peer = await srv.sTime(v, SECONDS * 2);
      for (const conns of [1, 8]) {
        const tls = new TlsStream(new KernelStream(), { client: { verify: false, resume: false, minVersion: v, maxVersion: v } });
        const t0 = performance.now();
        const cpu0 = process.cpuUsage();
        await new Promise<void>((resolve) => {
          new Http1Client({
            transport: tls, dstIp: parseIp('127.0.0.1'), dstPort: srv.port, host: 'localhost', requests: [{ method: 'GET', path: '/' }],
            totalRequests: 150 * conns, connections: conns, requestsPerConnection: 1, onDone: () => resolve(),
          }).start();
        });
        const ours = tls.stats.full / ((performance.now() - t0) / 1000);
        const cpu = process.cpuUsage(cpu0);
        line(`TLS ${v} handshake+GET vs s_server, ${conns} conn`, ours, peer, 's_time');
        console.log(`${''.padEnd(44)} client CPU ${((cpu.user + cpu.system) / tls.stats.full).toFixed(0)} µs per handshake`);
      }
    }
  } finally {
    srv.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Both TLS ends in this thread over the in-memory transport: the CPU cost of a handshake through Node's tls. */
async function tlsInProcess(): Promise<void> {
  const dir = benchCertDir('vgapp-bench-');
  try {
    for (const v of ['TLSv1.3', 'TLSv1.2'] as const) {
      const m = new MemStream();
      const certs = new CertManager({ cert: path.join(dir, 'c.pem'), key: path.join(dir, 'k.pem') });
      new Http1Server({ transport: new TlsStream(m, { server: { certs, requestCert: false, verifyClient: false, sessionCache: 0 } }), port: 443 }).listen();
      const tls = new TlsStream(m, { client: { verify: false, resume: false, minVersion: v, maxVersion: v } });
      const total = 400;
      const t0 = performance.now();
      const cpu0 = process.cpuUsage();
      await new Promise<void>((resolve) => {
        const c = new Http1Client({
          transport: tls, dstIp: 1, dstPort: 443, host: 'x', requests: [{ method: 'GET', path: '/' }],
          totalRequests: total, connections: 8, requestsPerConnection: 1, onDone: () => resolve(),
        });
        c.start();
        // Node's tls completes work on later ticks: keep delivering until the run ends.
        const pump = (): void => {
          m.run();
          if (!c.done) setImmediate(pump);
        };
        pump();
      });
      const s = (performance.now() - t0) / 1000;
      const cpu = process.cpuUsage(cpu0);
      const cpuUs = (cpu.user + cpu.system) / tls.stats.full;
      console.log(`${`TLS ${v} handshake+GET, both ends in-thread`.padEnd(44)} vaigAI ${(tls.stats.full / s).toFixed(0).padStart(10)}/s   CPU ${cpuUs.toFixed(0)} µs per client+server handshake`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

parsers();
transactions();
await tlsInProcess();
await tlsHandshakes();
