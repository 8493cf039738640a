/**
 * vaigAI's HTTP server over kernel TCP on loopback: answered by vaigAI's own
 * client (keep-alive, pipelined, connection per request, HTTP/1.0, HEAD,
 * 10 MB bodies checked against the pattern), and by curl and ab over HTTP and
 * HTTPS (vaigAI's TLS layer, certificates from the cert manager).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { Http1Client, type ClientOptions, type ClientStats } from '../../src/app/http11/client.js';
import { KernelStream } from '../../src/app/http11/kernel_stream.js';
import { DEFAULT_PATTERN, Http1Server } from '../../src/app/http11/server.js';
import { parseIp } from '../../src/wire/ipv4_addr.js';
import { CertManager } from '../../src/tls/cert_manager.js';
import { TlsStream } from '../../src/tls/tls_stream.js';
import { hasTool, makePki, type TestPki } from '../tls/certs.js';

const run = promisify(execFile);
const LO = parseIp('127.0.0.1');

function pattern(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = DEFAULT_PATTERN[i % DEFAULT_PATTERN.length];
  return b;
}

function client(opt: Partial<ClientOptions> & Pick<ClientOptions, 'transport' | 'dstPort' | 'requests'>): Promise<ClientStats> {
  return new Promise((resolve) => {
    new Http1Client({ dstIp: LO, host: 'localhost', pattern: DEFAULT_PATTERN, ...opt, onDone: resolve }).start();
  });
}

describe('vaigAI server', () => {
  const kernel = new KernelStream();
  let server: Http1Server;
  let port = 0;
  before(async () => {
    server = new Http1Server({ transport: kernel, ip: LO, port: 0, bodySize: 64, headers: { Server: 'vaigAI' } });
    server.listen();
    await kernel.ready();
    port = kernel.boundPort();
  });
  after(() => kernel.stop());

  it('answers its own client: keep-alive and pipelined, bodies follow the pattern', async () => {
    const t = new KernelStream();
    const s = await client({ transport: t, dstPort: port, requests: [{ method: 'GET', path: '/bytes/1500' }, { method: 'GET', path: '/' }], totalRequests: 2000, connections: 4, pipeline: 16 });
    assert.equal(s.responses, 2000);
    assert.equal(s.verifyOk, 2000);
    assert.equal(s.bodyBytes, 1000 * 1500 + 1000 * 64);
    assert.equal(s.connects, 4);
  });

  it('connection per request: Connection: close honoured', async () => {
    const before = server.stats.accepted;
    const s = await client({ transport: new KernelStream(), dstPort: port, requests: [{ method: 'GET', path: '/bytes/10' }], totalRequests: 50, connections: 2, requestsPerConnection: 1 });
    assert.equal(s.responses, 50);
    assert.equal(s.connects, 50);
    assert.equal(server.stats.accepted - before, 50);
  });

  it('HEAD gets Content-Length and no body; 10 MB body verified', async () => {
    const s = await client({ transport: new KernelStream(), dstPort: port, requests: [{ method: 'HEAD', path: '/bytes/10485760' }, { method: 'GET', path: '/bytes/10485760' }], totalRequests: 4, pipeline: 2 });
    assert.equal(s.responses, 4);
    assert.equal(s.bodyBytes, 2 * 10485760);
    assert.equal(s.verifyOk, 4);
  });

  it('HTTP/1.0: closes unless keep-alive was asked, then says so', async () => {
    const ask = (req: string): Promise<string> => new Promise((resolve) => {
      const chunks: Buffer[] = [];
      const s = net.connect(port, '127.0.0.1', () => s.write(req));
      s.on('data', (d) => chunks.push(d));
      s.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
      setTimeout(() => s.destroy(), 300);
    });
    const r1 = await ask('GET /bytes/3 HTTP/1.0\r\n\r\n');
    assert.equal(r1, 'HTTP/1.1 200 OK\r\nServer: vaigAI\r\nContent-Length: 3\r\nConnection: close\r\n\r\nvai');
    const r2 = await ask('GET /bytes/3 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
    assert.equal(r2, 'HTTP/1.1 200 OK\r\nServer: vaigAI\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\nvai');
  });

  it('curl over HTTP: bodies byte-exact, one connection for several URLs', { skip: hasTool('curl') ? false : 'curl missing' }, async () => {
    const dir = fs.mkdtempSync('/tmp/vgapp-curl-');
    try {
      const out = path.join(dir, 'b');
      const { stdout } = await run('curl', ['-s', '--http1.1', '-o', `${out}1`, `http://127.0.0.1:${port}/bytes/100000`, '-o', `${out}2`, `http://127.0.0.1:${port}/bytes/7`, '-w', '%{http_code} %{num_connects}\\n']);
      assert.deepEqual(stdout.trim().split('\n'), ['200 1', '200 0'], 'second URL reused the connection');
      assert.ok(fs.readFileSync(`${out}1`).equals(pattern(100000)));
      assert.ok(fs.readFileSync(`${out}2`).equals(pattern(7)));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('ab over HTTP, with and without keep-alive', { skip: hasTool('ab') ? false : 'ab (apache2-utils) missing' }, async () => {
    for (const k of [[], ['-k']]) {
      const { stdout } = await run('ab', [...k, '-n', '500', '-c', '8', `http://127.0.0.1:${port}/bytes/256`]);
      assert.match(stdout, /Complete requests:\s+500/);
      assert.match(stdout, /Failed requests:\s+0/);
      assert.match(stdout, /Document Length:\s+256 bytes/);
      if (k.length > 0) assert.match(stdout, /Keep-Alive requests:\s+500/);
    }
  });
});

describe('vaigAI server over HTTPS', { skip: !hasTool('openssl') ? 'openssl missing' : false }, () => {
  let pki: TestPki;
  const kernel = new KernelStream();
  let tls: TlsStream;
  let port = 0;
  before(async () => {
    pki = makePki() as TestPki;
    const certs = new CertManager({ cert: pki.cert, key: pki.key });
    tls = new TlsStream(kernel, { server: { certs, requestCert: false, verifyClient: false, sessionCache: 1024, alpn: ['http/1.1'] } });
    new Http1Server({ transport: tls, ip: LO, port: 0 }).listen();
    await kernel.ready();
    port = kernel.boundPort();
  });
  after(async () => {
    await kernel.stop();
    fs.rmSync(pki.dir, { recursive: true, force: true });
  });

  for (const v of ['1.2', '1.3']) {
    it(`curl with TLS ${v}: verified chain, ALPN, byte-exact body`, { skip: hasTool('curl') ? false : 'curl missing' }, async () => {
      const { stdout } = await run('curl', ['-s', '--http1.1', `--tlsv${v}`, '--tls-max', v, '--cacert', pki.ca, '--resolve', `localhost:${port}:127.0.0.1`,
        `https://localhost:${port}/bytes/50000`, '-o', '-', '-w', '\n%{http_code} %{ssl_verify_result}']);
      const tail = stdout.slice(stdout.lastIndexOf('\n') + 1);
      assert.equal(tail, '200 0');
      assert.ok(Buffer.from(stdout.slice(0, 50000), 'latin1').equals(pattern(50000)));
    });
  }

  it('ab over HTTPS, keep-alive and not', { skip: hasTool('ab') ? false : 'ab missing' }, async () => {
    const before = tls.stats.handshakes;
    for (const k of [[], ['-k']]) {
      const { stdout } = await run('ab', [...k, '-n', '200', '-c', '4', `https://127.0.0.1:${port}/bytes/256`]);
      assert.match(stdout, /Complete requests:\s+200/);
      assert.match(stdout, /Failed requests:\s+0/);
    }
    assert.ok(tls.stats.handshakes - before >= 204, 'a handshake per non-keep-alive request');
  });
});
