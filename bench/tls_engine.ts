/**
 * The two TLS engines side by side in one run, each printed with its ratio:
 *  1. handshakes/s of vaigAI's HTTPS client (a handshake and one GET per
 *     connection, kernel TCP on loopback) against openssl s_server: the native
 *     engine, the Node tls engine, and `openssl s_time -new` against the same
 *     server; TLS 1.3 and 1.2; client CPU per handshake;
 *  2. both ends in this thread over the in-memory transport: CPU per
 *     client+server handshake, native vs node;
 *  3. bulk: MB/s of a stream written in 64 KB chunks, both ends in this
 *     thread over the in-memory transport, native vs node.
 * Each phase runs ~3 s (BENCH_SECONDS); the machine is shared: compare ratios.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Http1Client } from '../src/app/http11/client.js';
import { KernelStream } from '../src/app/http11/kernel_stream.js';
import { MemStream } from '../src/app/http11/mem_stream.js';
import { Http1Server } from '../src/app/http11/server.js';
import type { StreamTransport } from '../src/net/tcp/stream.js';
import { parseIp } from '../src/wire/ipv4_addr.js';
import { CertManager } from '../src/tls/cert_manager.js';
import { createTlsStream, type TlsEngine, type TlsTransport } from '../src/tls/engine.js';
import { loadNativeTls, nativeTlsError } from '../src/tls/native_engine.js';
import { benchCertDir, startSServer } from './tls_peers.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const VERSIONS = ['TLSv1.3', 'TLSv1.2'] as const;
const CHUNK = 64 * 1024;

function fmt(n: number): string {
  return n.toFixed(0).padStart(8);
}

/** HTTPS GETs, one per connection, for SECONDS; handshakes/s and client CPU µs per handshake. */
async function clientRun(engine: TlsEngine, v: (typeof VERSIONS)[number], port: number, conns: number): Promise<{ rate: number; cpuUs: number }> {
  const tls = createTlsStream(engine, new KernelStream(), { client: { verify: false, resume: false, minVersion: v, maxVersion: v } });
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  await new Promise<void>((resolve) => {
    const c = new Http1Client({
      transport: tls, dstIp: parseIp('127.0.0.1'), dstPort: port, host: 'localhost', requests: [{ method: 'GET', path: '/' }],
      totalRequests: 1e9, connections: conns, requestsPerConnection: 1, onDone: () => resolve(),
    });
    c.start();
    setTimeout(() => c.stop(), SECONDS * 1000);
  });
  const cpu = process.cpuUsage(cpu0);
  return { rate: tls.stats.full / ((performance.now() - t0) / 1000), cpuUs: (cpu.user + cpu.system) / tls.stats.full };
}

async function handshakesVsOpenssl(dir: string): Promise<void> {
  const srv = await startSServer(dir);
  try {
    for (const v of VERSIONS) {
      const peer = await srv.sTime(v, SECONDS);
      for (const conns of [1, 8]) {
        const native = await clientRun('native', v, srv.port, conns);
        const node = await clientRun('node', v, srv.port, conns);
        console.log(`TLS ${v} handshake+GET vs s_server, ${conns} conn:  native ${fmt(native.rate)}/s  node ${fmt(node.rate)}/s  s_time ${fmt(peer)}/s`);
        console.log(`${''.padEnd(44)} native/s_time ${(native.rate / peer).toFixed(2)}  node/s_time ${(node.rate / peer).toFixed(2)}  native/node ${(native.rate / node.rate).toFixed(2)}`);
        console.log(`${''.padEnd(44)} client CPU per handshake: native ${native.cpuUs.toFixed(0)} µs, node ${node.cpuUs.toFixed(0)} µs`);
      }
    }
  } finally {
    srv.stop();
  }
}

/**
 * Delivers the in-memory transport's events until `done()`, yielding to the
 * event loop every few rounds: Node's tls works on later ticks, and timers
 * (the end of a run) must fire while the native engine keeps it busy.
 */
function drive(m: MemStream, done: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const pump = (): void => {
      m.run(64);
      if (done()) resolve();
      else setImmediate(pump);
    };
    pump();
  });
}

function memPair(engine: TlsEngine, dir: string, v: (typeof VERSIONS)[number]): { m: MemStream; server: TlsTransport; client: TlsTransport } {
  const m = new MemStream();
  const certs = new CertManager({ cert: path.join(dir, 'c.pem'), key: path.join(dir, 'k.pem') });
  const server = createTlsStream(engine, m, { server: { certs, requestCert: false, verifyClient: false, sessionCache: 0 } });
  const client = createTlsStream(engine, m, { client: { verify: false, resume: false, minVersion: v, maxVersion: v } });
  return { m, server, client };
}

/** Both ends in this thread: handshake+GET per connection; handshakes/s and CPU µs per client+server handshake. */
async function inThreadHandshakes(engine: TlsEngine, dir: string, v: (typeof VERSIONS)[number]): Promise<{ rate: number; cpuUs: number }> {
  const { m, server, client } = memPair(engine, dir, v);
  new Http1Server({ transport: server, port: 443 }).listen();
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  let finished = false;
  const c = new Http1Client({
    transport: client, dstIp: 1, dstPort: 443, host: 'x', requests: [{ method: 'GET', path: '/' }],
    totalRequests: 1e9, connections: 8, requestsPerConnection: 1, onDone: () => (finished = true),
  });
  c.start();
  const timer = setTimeout(() => c.stop(), SECONDS * 1000);
  await drive(m, () => finished);
  clearTimeout(timer);
  const cpu = process.cpuUsage(cpu0);
  return { rate: client.stats.full / ((performance.now() - t0) / 1000), cpuUs: (cpu.user + cpu.system) / client.stats.full };
}

/** One connection, the client writing 64 KB chunks for SECONDS; MB/s the server received. */
async function bulk(engine: TlsEngine, dir: string, v: (typeof VERSIONS)[number]): Promise<number> {
  const { m, server, client } = memPair(engine, dir, v);
  const chunk = new Uint8Array(CHUNK).fill(0x61);
  let received = 0;
  let closed = false;
  let deadline = 0;
  let t0 = 0;
  let t1 = 0;
  const idle = { onConnected: () => {}, onData: () => {}, onWritable: () => {}, onPeerClosed: () => {}, onClosed: () => {} };
  server.listen(0, 443, {
    ...idle,
    onData: (_c, _u, _o, len) => (received += len),
    onPeerClosed: (c) => server.close(c),
  });
  const push = (t: StreamTransport, conn: number): void => {
    for (;;) {
      if (performance.now() >= deadline) {
        t.close(conn);
        return;
      }
      if (t.write(conn, chunk, 0, CHUNK) < CHUNK) return; // the rest of a chunk is dropped: only the byte count matters
    }
  };
  client.connect(0, 1, 443, {
    ...idle,
    onConnected: (conn) => {
      t0 = performance.now();
      deadline = t0 + SECONDS * 1000;
      push(client, conn);
    },
    onWritable: (conn) => push(client, conn),
    onClosed: () => {
      t1 = performance.now();
      closed = true;
    },
  });
  await drive(m, () => closed);
  return received / (1024 * 1024) / ((t1 - t0) / 1000);
}

async function main(): Promise<void> {
  if (loadNativeTls() === null) {
    console.log(`native TLS engine unavailable: ${nativeTlsError()}`);
    return;
  }
  const dir = benchCertDir('vgtn-bench-');
  try {
    await handshakesVsOpenssl(dir);
    for (const v of VERSIONS) {
      const native = await inThreadHandshakes('native', dir, v);
      const node = await inThreadHandshakes('node', dir, v);
      console.log(`TLS ${v} handshake+GET, both ends in-thread:  native ${fmt(native.rate)}/s  node ${fmt(node.rate)}/s  ratio ${(native.rate / node.rate).toFixed(2)}`);
      console.log(`${''.padEnd(44)} CPU per client+server handshake: native ${native.cpuUs.toFixed(0)} µs, node ${node.cpuUs.toFixed(0)} µs`);
    }
    for (const v of VERSIONS) {
      const native = await bulk('native', dir, v);
      const node = await bulk('node', dir, v);
      console.log(`TLS ${v} bulk, 64 KB writes, in-thread:  native ${fmt(native)} MB/s  node ${fmt(node)} MB/s  ratio ${(native / node).toFixed(2)}`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
