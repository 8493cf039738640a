/**
 * vaigAI's TLS layer (Node tls over a ConnDuplex on a StreamTransport, here
 * kernel TCP on loopback) against openssl s_server and s_client, and against
 * itself: TLS 1.2 and 1.3, cipher and group choice, SNI, ALPN, verification,
 * client certificates, resumption counters, key log, cert reload.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Http1Client, type ClientOptions, type ClientStats } from '../../src/app/http11/client.js';
import { KernelStream } from '../../src/app/http11/kernel_stream.js';
import { Http1Server } from '../../src/app/http11/server.js';
import { parseIp } from '../../src/wire/ipv4_addr.js';
import { CertManager } from '../../src/tls/cert_manager.js';
import { KeyLog } from '../../src/tls/keylog.js';
import { TlsStream, type TlsClientConfig } from '../../src/tls/tls_stream.js';
import { freePort, waitPort } from '../app/peers.js';
import { hasTool, makePki, type TestPki } from './certs.js';

const LO = parseIp('127.0.0.1');
const skip = hasTool('openssl') ? false : 'openssl missing';

function get(opt: Partial<ClientOptions> & Pick<ClientOptions, 'transport' | 'dstPort'>): Promise<{ s: ClientStats; bodies: string[] }> {
  const bodies: string[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('client timed out')), 20_000);
    new Http1Client({
      dstIp: LO, host: 'localhost', requests: [{ method: 'GET', path: '/' }], keepBodies: true, ...opt,
      onResponse: (_st, _n, _r, _d, b) => bodies.push((b as Buffer).toString('latin1')),
      onDone: (s) => {
        clearTimeout(timer);
        resolve({ s, bodies });
      },
    }).start();
  });
}

/** Runs openssl with stdin text; resolves with stdout+stderr. */
function openssl(args: string[], input: string, ms = 10_000): Promise<string> {
  return new Promise((resolve) => {
    // -ign_eof: s_client keeps reading after stdin ends, until the server closes.
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

describe('TLS client against openssl s_server', { skip }, () => {
  let pki: TestPki;
  let srv: ChildProcess | null = null;
  let port = 0;
  before(async () => {
    pki = makePki() as TestPki;
    port = await freePort();
    // -www answers each connection with a status page naming the protocol, cipher and "New"/"Reused".
    srv = spawn('openssl', ['s_server', '-accept', String(port), '-cert', pki.cert, '-key', pki.key, '-www', '-alpn', 'http/1.1'], { stdio: 'ignore' });
    await waitPort(port);
  });
  after(() => {
    if (srv?.pid) process.kill(srv.pid, 'SIGTERM');
    fs.rmSync(pki.dir, { recursive: true, force: true });
  });

  const cases: [string, Partial<TlsClientConfig>, RegExp][] = [
    ['TLS 1.3, AES-256-GCM suite, X25519', { minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3', ciphers: 'TLS_AES_256_GCM_SHA384', groups: 'X25519' }, /TLSv1\.3, Cipher is TLS_AES_256_GCM_SHA384/],
    ['TLS 1.2, ECDHE-ECDSA-AES128-GCM, P-256', { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256', groups: 'P-256' }, /TLSv1\.2, Cipher is ECDHE-ECDSA-AES128-GCM-SHA256/],
  ];
  for (const [name, cfg, re] of cases) {
    it(`${name}: verified, then resumed on the next connection`, async () => {
      const tls = new TlsStream(new KernelStream(), { client: { verify: true, ca: fs.readFileSync(pki.ca), servername: 'localhost', resume: true, ...cfg } });
      const { s, bodies } = await get({ transport: tls, dstPort: port, totalRequests: 3, requestsPerConnection: 1 });
      assert.equal(s.responses, 3);
      assert.match(bodies[0], re);
      assert.match(bodies[0], /\nNew, /);
      assert.match(bodies[1], /\nReused, /);
      assert.match(bodies[2], /\nReused, /);
      assert.deepEqual([tls.stats.full, tls.stats.resumed], [1, 2]);
    });
  }

  it('resumption off: every handshake is full', async () => {
    const tls = new TlsStream(new KernelStream(), { client: { verify: false, resume: false } });
    const { s } = await get({ transport: tls, dstPort: port, totalRequests: 2, requestsPerConnection: 1 });
    assert.equal(s.responses, 2);
    assert.deepEqual([tls.stats.full, tls.stats.resumed], [2, 0]);
  });

  it('verification on with the wrong name fails the handshake', async () => {
    const tls = new TlsStream(new KernelStream(), { client: { verify: true, ca: fs.readFileSync(pki.ca), servername: 'not-localhost', resume: false } });
    const { s } = await get({ transport: tls, dstPort: port, totalRequests: 1 });
    assert.equal(s.responses, 0);
    assert.equal(tls.stats.failures, 1);
    assert.equal(tls.stats.lastError, 'ERR_TLS_CERT_ALTNAME_INVALID');
  });

  it('key log: NSS lines for both versions', async () => {
    const file = path.join(pki.dir, 'keys.log');
    for (const v of ['TLSv1.2', 'TLSv1.3'] as const) {
      const kl = new KeyLog(file);
      const tls = new TlsStream(new KernelStream(), { client: { verify: false, resume: false, minVersion: v, maxVersion: v }, keylog: kl });
      await get({ transport: tls, dstPort: port, totalRequests: 1 });
      kl.close();
    }
    const text = fs.readFileSync(file, 'utf8');
    assert.match(text, /^CLIENT_RANDOM [0-9a-f]{64} [0-9a-f]{96}$/m, 'TLS 1.2 master secret');
    assert.match(text, /^CLIENT_TRAFFIC_SECRET_0 [0-9a-f]{64} [0-9a-f]+$/m, 'TLS 1.3 traffic secret');
    assert.equal(KeyLog.fromConfig(undefined, {}), null);
  });
});

describe('TLS server against openssl s_client and vaigAI', { skip }, () => {
  let pki: TestPki;
  let certs: CertManager;
  const kernel = new KernelStream();
  let tls: TlsStream;
  let port = 0;
  const mtlsKernel = new KernelStream();
  let mtls: TlsStream;
  let mtlsPort = 0;
  before(async () => {
    pki = makePki() as TestPki;
    certs = new CertManager({ cert: pki.cert, key: pki.key });
    tls = new TlsStream(kernel, { server: { certs, requestCert: false, verifyClient: false, sessionCache: 64, alpn: ['http/1.1'] } });
    new Http1Server({ transport: tls, ip: LO, port: 0 }).listen();
    await kernel.ready();
    port = kernel.boundPort();
    mtls = new TlsStream(mtlsKernel, { server: { certs: new CertManager({ cert: pki.cert, key: pki.key, ca: pki.ca }), requestCert: true, verifyClient: true, sessionCache: 0 } });
    new Http1Server({ transport: mtls, ip: LO, port: 0 }).listen();
    await mtlsKernel.ready();
    mtlsPort = mtlsKernel.boundPort();
    certs.watch(50);
  });
  after(async () => {
    certs.unwatch();
    await kernel.stop();
    await mtlsKernel.stop();
    fs.rmSync(pki.dir, { recursive: true, force: true });
  });

  const req = 'GET /bytes/12 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n';
  for (const v of ['-tls1_2', '-tls1_3']) {
    it(`s_client ${v}: verified, ALPN, answered; second connection resumed`, async () => {
      const sess = path.join(pki.dir, `sess${v}`);
      const common = ['s_client', '-connect', `127.0.0.1:${port}`, v, '-CAfile', pki.ca, '-servername', 'localhost', '-verify_return_error', '-alpn', 'http/1.1'];
      const first = await openssl([...common, '-sess_out', sess], req);
      assert.match(first, /Verify return code: 0 \(ok\)/);
      assert.match(first, /ALPN protocol: http\/1\.1/);
      assert.match(first, /HTTP\/1\.1 200 OK\r\nContent-Length: 12\r\nConnection: close\r\n\r\nvaigAI-01234/);
      const second = await openssl([...common, '-sess_in', sess], req);
      assert.match(second, /^Reused, TLSv1\.[23]/m);
      assert.match(second, /vaigAI-01234/);
    });
  }

  it('SNI picks the certificate by name; other names get the default', async () => {
    const k = new KernelStream();
    const other = new CertManager({ cert: pki.cert2, key: pki.key2 });
    const t = new TlsStream(k, { server: { certs: new CertManager({ cert: pki.cert, key: pki.key }), sni: new Map([['other.test', other]]), requestCert: false, verifyClient: false, sessionCache: 0 } });
    new Http1Server({ transport: t, ip: LO, port: 0 }).listen();
    await k.ready();
    try {
      const named = await openssl(['s_client', '-connect', `127.0.0.1:${k.boundPort()}`, '-servername', 'other.test'], req);
      assert.match(named, /subject=CN ?= ?localhost-2/);
      const unnamed = await openssl(['s_client', '-connect', `127.0.0.1:${k.boundPort()}`, '-servername', 'unknown.test'], req);
      assert.match(unnamed, /subject=CN ?= ?localhost\n/);
    } finally {
      await k.stop();
    }
  });

  it('session-ID resumption (TLS 1.2, tickets off) uses the server cache', async () => {
    const sess = path.join(pki.dir, 'sess-noticket');
    const common = ['s_client', '-connect', `127.0.0.1:${port}`, '-tls1_2', '-no_ticket'];
    const stored = tls.stats.sessionsStored;
    await openssl([...common, '-sess_out', sess], req);
    assert.ok(tls.stats.sessionsStored > stored, 'server cached the session');
    const resumed = tls.stats.resumed;
    const second = await openssl([...common, '-sess_in', sess], req);
    assert.match(second, /^Reused, TLSv1\.2/m);
    assert.equal(tls.stats.resumed, resumed + 1);
  });

  it('client certificates: required and verified', async () => {
    const without = await openssl(['s_client', '-connect', `127.0.0.1:${mtlsPort}`, '-tls1_3'], req);
    assert.doesNotMatch(without, /HTTP\/1\.1 200/);
    const withCert = await openssl(['s_client', '-connect', `127.0.0.1:${mtlsPort}`, '-tls1_3', '-cert', pki.clientCert, '-key', pki.clientKey], req);
    assert.match(withCert, /HTTP\/1\.1 200 OK/);
    // vaigAI's own client with its certificate, and SNI/ALPN on the way.
    const cl = new TlsStream(new KernelStream(), {
      client: { verify: true, ca: fs.readFileSync(pki.ca), servername: 'localhost', cert: fs.readFileSync(pki.clientCert), key: fs.readFileSync(pki.clientKey), resume: false },
    });
    const { s } = await get({ transport: cl, dstPort: mtlsPort, totalRequests: 2 });
    assert.equal(s.responses, 2);
    assert.ok(mtls.stats.failures >= 1, 'the certificate-less handshake counted as failed');
  });

  it('cert manager: a changed certificate serves new handshakes, live sessions keep going, tickets still resume', async () => {
    const live = new TlsStream(new KernelStream(), { client: { verify: false, resume: true } });
    // One connection held open across the reload, asked once before and once after.
    let conn = -1;
    let got = '';
    let onReply: () => void = () => {};
    const connected = new Promise<void>((resolve) => {
      live.connect(0, LO, port, {
        onConnected: (c) => { conn = c; resolve(); },
        onData: (_c, u8, off, len) => {
          got += Buffer.from(u8.subarray(off, off + len)).toString('latin1');
          if (got.endsWith('vaigAI-0')) onReply();
        },
        onWritable: () => {},
        onPeerClosed: () => {},
        onClosed: () => {},
      });
    });
    const ask = (): Promise<void> => new Promise((resolve) => {
      got = '';
      onReply = resolve;
      const r = Buffer.from('GET /bytes/8 HTTP/1.1\r\nHost: localhost\r\n\r\n');
      live.write(conn, r, 0, r.length);
    });
    await connected;
    await ask();
    await new Promise((r) => setTimeout(r, 120)); // the watcher's first poll has run
    fs.copyFileSync(pki.cert2, pki.cert);
    fs.copyFileSync(pki.key2, pki.key);
    const deadline = Date.now() + 5000;
    while (certs.reloads === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(certs.reloads > 0, 'watch noticed the change');
    await ask();
    assert.match(got, /^HTTP\/1\.1 200 OK\r\n/, 'the live session still answers after the reload');
    live.close(conn);
    const out = await openssl(['s_client', '-connect', `127.0.0.1:${port}`, '-tls1_3'], req);
    assert.match(out, /subject=CN ?= ?localhost-2/, 'new handshakes get the new certificate');
    // The ticket from before the reload still resumes: ticket keys survive reloads.
    const again = await get({ transport: live, dstPort: port, totalRequests: 1 });
    assert.equal(again.s.responses, 1);
    assert.deepEqual([live.stats.full, live.stats.resumed], [1, 1]);
    // A broken file keeps the last good context.
    const errors = certs.reloadErrors;
    fs.writeFileSync(pki.key, 'not a key');
    assert.equal(certs.reload(), false);
    assert.equal(certs.reloadErrors, errors + 1);
  });
});
