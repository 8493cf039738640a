/**
 * The key log works for its purpose: tshark, given vaigAI's key log file,
 * decrypts a capture of vaigAI's TLS client talking to vaigAI's TLS server on
 * loopback and shows the HTTP request inside (TLS 1.2 and 1.3).
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { Http1Client } from '../../src/app/http11/client.js';
import { KernelStream } from '../../src/app/http11/kernel_stream.js';
import { Http1Server } from '../../src/app/http11/server.js';
import { parseIp } from '../../src/wire/ipv4_addr.js';
import { CertManager } from '../../src/tls/cert_manager.js';
import { KeyLog } from '../../src/tls/keylog.js';
import { TlsStream } from '../../src/tls/tls_stream.js';
import { hasTool, makePki, type TestPki } from './certs.js';

const run = promisify(execFile);
const LO = parseIp('127.0.0.1');
/**
 * Resolves once tshark has captured everything sent before the call. dumpcap
 * says "Capturing on" before its socket is attached, so no fixed wait is
 * right: UDP probes (which the capture filter also takes) go to loopback
 * until tshark prints a packet line that came after the call (-P -l: one
 * summary line per packet, flushed). Packets are captured in order, so that
 * line also means all earlier traffic is in the file.
 */
async function captureSynced(ts: ChildProcess, lines: { n: number }, probe: dgram.Socket, probePort: number): Promise<void> {
  const before = lines.n;
  const msg = Buffer.from('probe');
  // Bounded: 200 probes, 50 ms apart.
  for (let i = 0; i < 200 && lines.n === before && ts.exitCode === null; i++) {
    probe.send(msg, probePort, '127.0.0.1');
    await new Promise((r) => setTimeout(r, 50));
  }
  if (lines.n === before) throw new Error('tshark is not capturing');
}

const skip = process.getuid?.() !== 0 ? 'not root (capturing on lo needs it)' : !hasTool('tshark') ? 'tshark missing' : !hasTool('openssl') ? 'openssl missing' : false;

describe('key log decrypts a capture in tshark', { skip }, () => {
  let pki: TestPki;
  const kernel = new KernelStream();
  let port = 0;
  before(async () => {
    pki = makePki() as TestPki;
    const tls = new TlsStream(kernel, { server: { certs: new CertManager({ cert: pki.cert, key: pki.key }), requestCert: false, verifyClient: false, sessionCache: 0 } });
    new Http1Server({ transport: tls, ip: LO, port: 0 }).listen();
    await kernel.ready();
    port = kernel.boundPort();
  });
  after(async () => {
    await kernel.stop();
    fs.rmSync(pki.dir, { recursive: true, force: true });
  });

  for (const v of ['TLSv1.2', 'TLSv1.3'] as const) {
    it(v, async () => {
      const cap = path.join(pki.dir, `${v}.pcapng`);
      const keys = path.join(pki.dir, `${v}.keys`);
      const probe = dgram.createSocket('udp4');
      await new Promise<void>((r) => probe.bind(0, '127.0.0.1', r));
      const probePort = probe.address().port;
      const ts = spawn('tshark', ['-i', 'lo', '-f', `tcp port ${port} or udp port ${probePort}`, '-w', cap, '-P', '-l'], { stdio: ['ignore', 'pipe', 'ignore'] });
      try {
        const lines = { n: 0 };
        ts.stdout?.on('data', (d: Buffer) => (lines.n += d.toString().split('\n').length - 1));
        await captureSynced(ts, lines, probe, probePort);
        const kl = new KeyLog(keys);
        const cl = new TlsStream(new KernelStream(), { client: { verify: false, resume: false, minVersion: v, maxVersion: v }, keylog: kl });
        await new Promise<void>((resolve) => {
          new Http1Client({ transport: cl, dstIp: LO, dstPort: port, host: 'localhost', requests: [{ method: 'GET', path: '/bytes/5?keylog' }], onDone: () => resolve() }).start();
        });
        kl.close();
        await captureSynced(ts, lines, probe, probePort);
      } finally {
        probe.close();
        if (ts.pid && ts.exitCode === null) process.kill(ts.pid, 'SIGINT');
        if (ts.exitCode === null) await new Promise((r) => ts.once('close', r));
      }
      // The port is not 443: tell tshark it carries TLS, and HTTP inside.
      const decode = ['-d', `tcp.port==${port},tls`, '-d', `tls.port==${port},http`, '-Y', 'http.request', '-T', 'fields', '-e', 'http.request.uri'];
      const { stdout } = await run('tshark', ['-r', cap, '-o', `tls.keylog_file:${keys}`, ...decode]);
      assert.equal(stdout.trim(), '/bytes/5?keylog');
      const { stdout: without } = await run('tshark', ['-r', cap, ...decode]);
      assert.equal(without.trim(), '', 'without the key log nothing decrypts');
    });
  }
});
