/**
 * Helpers of the native TLS engine's real-peer tests: an HTTP GET run that
 * collects bodies, openssl s_client/s_server runs, and the sha256 of the
 * server's pattern body.
 */
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { createHash } from 'node:crypto';
import { Http1Client, type ClientOptions, type ClientStats } from '../../src/app/http11/client.js';
import { DEFAULT_PATTERN } from '../../src/app/http11/server.js';
import { parseIp } from '../../src/wire/ipv4_addr.js';

export const LO = parseIp('127.0.0.1');

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
