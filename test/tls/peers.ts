/**
 * Helpers of the TLS real-peer tests, for both engines: why an engine's
 * cases skip, an HTTP GET run that collects bodies, openssl s_client/s_server
 * runs, the sha256 of the server's pattern body, a connection held open for
 * requests by hand, and a tshark capture synced with the traffic.
 */
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import { createHash } from 'node:crypto';
import { Http1Client, type ClientOptions, type ClientStats } from '../../src/app/http11/client.js';
import { DEFAULT_PATTERN } from '../../src/app/http11/server.js';
import type { StreamTransport } from '../../src/net/tcp/stream.js';
import { parseIp } from '../../src/wire/ipv4_addr.js';
import type { TlsEngine } from '../../src/tls/engine.js';
import { loadNativeTls, nativeTlsError } from '../../src/tls/native_engine.js';
import { hasTool } from './certs.js';

export const LO = parseIp('127.0.0.1');

/** Why an engine's real-peer cases skip (the addon lacks the native engine, a tool is missing), or false. */
export function engineSkip(engine: TlsEngine, tools: string[] = ['openssl']): string | false {
  if (engine === 'native' && loadNativeTls() === null) return nativeTlsError();
  for (const t of tools) if (!hasTool(t)) return `${t} missing`;
  return false;
}

/** Runs an HTTP client to completion (bounded: 20 s); bodies as latin1 text. */
export function get(opt: Partial<ClientOptions> & Pick<ClientOptions, 'transport' | 'dstPort'>): Promise<{ s: ClientStats; bodies: string[] }> {
  const bodies: string[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('client timed out')), 20_000);
    new Http1Client({
      dstIp: LO, host: 'localhost', requests: [{ method: 'GET', path: '/' }], keepBodies: true, ...opt,
      onResponse: (_st, _n, _r, _d, b) => bodies.push(b === null ? '' : b.toString('latin1')),
      onDone: (s) => {
        clearTimeout(timer);
        resolve({ s, bodies });
      },
    }).start();
  });
}

/** Runs openssl with stdin text; resolves with stdout+stderr. s_client keeps reading after stdin ends (-ign_eof). */
export function openssl(args: string[], input: string, ms = 10_000): Promise<string> {
  return new Promise((resolve) => {
    const p = spawn('openssl', args[0] === 's_client' ? [...args, '-ign_eof'] : args);
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => p.kill(), ms);
    p.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
    p.stdin.end(input);
  });
}

/** sha256 (hex) of the n-byte body the HTTP server sends for /bytes/<n>. */
export function patternSha(n: number): string {
  const b = Buffer.alloc(n);
  for (let o = 0; o < n; o += DEFAULT_PATTERN.length) b.set(DEFAULT_PATTERN.subarray(0, Math.min(DEFAULT_PATTERN.length, n - o)), o);
  return createHash('sha256').update(b).digest('hex');
}

/**
 * One client connection held open: ask() writes a GET for /bytes/8 and
 * resolves when its body arrived; `got` is the last answer. Bounded: 10 s.
 */
/**
 * A raw loopback socket to `port` that writes `chunks` (each after the first
 * 100 ms later, none for a silent peer): true once the server closes it, false
 * if it is still open after 5 s.
 */
export function serverCloses(port: number, chunks: Buffer[]): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => chunks.forEach((c, i) => setTimeout(() => s.write(c), i * 100)));
    const timer = setTimeout(() => {
      s.destroy();
      resolve(false);
    }, 5000);
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
    s.resume();
  });
}

export async function heldConnection(t: StreamTransport, port: number): Promise<{ ask: () => Promise<string>; close: () => void }> {
  let conn = -1;
  let got = '';
  let onReply: () => void = () => {};
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no handshake')), 10_000);
    t.connect(0, LO, port, {
      onConnected: (c) => {
        clearTimeout(timer);
        conn = c;
        resolve();
      },
      onData: (_c, u8, off, len) => {
        got += Buffer.from(u8.subarray(off, off + len)).toString('latin1');
        if (got.endsWith('vaigAI-0')) onReply();
      },
      onWritable: () => {},
      onPeerClosed: () => {},
      onClosed: () => {},
    });
  });
  const ask = (): Promise<string> => new Promise((resolve, reject) => {
    got = '';
    const timer = setTimeout(() => reject(new Error('no answer')), 10_000);
    onReply = () => {
      clearTimeout(timer);
      resolve(got);
    };
    const r = Buffer.from('GET /bytes/8 HTTP/1.1\r\nHost: localhost\r\n\r\n');
    t.write(conn, r, 0, r.length);
  });
  return { ask, close: () => t.close(conn) };
}

/**
 * A tshark capture on lo of one TCP port into `file`, synced both ways: it
 * resolves once tshark captures, and stop() resolves once everything sent
 * before it is in the file. dumpcap says "Capturing on" before its socket is
 * attached, so UDP probes (which the filter also takes) go to loopback until
 * tshark prints a packet line (-P -l) that came after the call; packets are
 * captured in order. Bounded: 200 probes, 50 ms apart.
 */
export async function startCapture(port: number, file: string): Promise<{ stop: () => Promise<void> }> {
  const probe = dgram.createSocket('udp4');
  await new Promise<void>((r) => probe.bind(0, '127.0.0.1', r));
  const probePort = probe.address().port;
  const ts = spawn('tshark', ['-i', 'lo', '-f', `tcp port ${port} or udp port ${probePort}`, '-w', file, '-P', '-l'], { stdio: ['ignore', 'pipe', 'ignore'] });
  let lines = 0;
  ts.stdout.on('data', (d: Buffer) => (lines += d.toString().split('\n').length - 1));
  const synced = async (): Promise<void> => {
    const seen = lines;
    const msg = Buffer.from('probe');
    for (let i = 0; i < 200 && lines === seen && ts.exitCode === null; i++) {
      probe.send(msg, probePort, '127.0.0.1');
      await new Promise((r) => setTimeout(r, 50));
    }
    if (lines === seen) throw new Error('tshark is not capturing');
  };
  const end = async (): Promise<void> => {
    probe.close();
    if (ts.pid && ts.exitCode === null) process.kill(ts.pid, 'SIGINT');
    if (ts.exitCode === null) await new Promise((r) => ts.once('close', r));
  };
  try {
    await synced();
  } catch (e) {
    await end();
    throw e;
  }
  return {
    stop: async () => {
      try {
        await synced();
      } finally {
        await end();
      }
    },
  };
}
