/**
 * vaigAI's HTTP client against nginx over kernel TCP on loopback: plain HTTP
 * and HTTPS with TLS 1.2 and 1.3 (vaigAI's TLS layer), keep-alive and
 * pipelined, small and 10 MB bodies checked by sha256, chunked (gzip)
 * responses, and TLS session resumption.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { Http1Client, type ClientOptions, type ClientStats } from '../../src/app/http11/client.js';
import { KernelStream } from '../../src/app/http11/kernel_stream.js';
import { type StreamTransport } from '../../src/net/tcp/stream.js';
import { parseIp } from '../../src/wire/ipv4_addr.js';
import { TlsStream } from '../../src/tls/tls_stream.js';
import { hasTool, makePki, type TestPki } from '../tls/certs.js';
import { freePort, waitPort } from './peers.js';

const LO = parseIp('127.0.0.1');
const skip = process.getuid?.() !== 0 ? 'not root (nginx needs to run as root here)' : !hasTool('nginx') ? 'nginx missing' : !hasTool('openssl') ? 'openssl missing' : '';

function run(opt: Partial<ClientOptions> & Pick<ClientOptions, 'transport' | 'dstPort' | 'requests'>): Promise<ClientStats> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('client run timed out')), 60_000);
    const c = new Http1Client({
      dstIp: LO, host: 'localhost', ...opt,
      onDone: (s) => {
        clearTimeout(timer);
        resolve(s);
      },
    });
    c.start();
  });
}

describe('vaigAI client against nginx', { skip: skip || false }, () => {
  let dir = '';
  let pki: TestPki;
  let nginx: ChildProcess | null = null;
  let httpPort = 0;
  let httpsPort = 0;
  const small = randomBytes(1000);
  const big = randomBytes(10 * 1024 * 1024);
  const text = Buffer.from('vaigAI chunked body line\n'.repeat(4000));
  const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

  before(async () => {
    pki = makePki() as TestPki;
    dir = pki.dir;
    fs.mkdirSync(path.join(dir, 'www'));
    fs.writeFileSync(path.join(dir, 'www', 'small.bin'), small);
    fs.writeFileSync(path.join(dir, 'www', 'big.bin'), big);
    fs.writeFileSync(path.join(dir, 'www', 'text.txt'), text);
    httpPort = await freePort();
    httpsPort = await freePort();
    const conf = `
user root;
daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 512; }
http {
  access_log off;
  client_body_temp_path ${dir}/cb; proxy_temp_path ${dir}/px; fastcgi_temp_path ${dir}/fc;
  uwsgi_temp_path ${dir}/uw; scgi_temp_path ${dir}/sc;
  keepalive_requests 100000;
  ssl_protocols TLSv1.2 TLSv1.3;
  ssl_session_cache shared:vg:1m;
  server {
    listen 127.0.0.1:${httpPort};
    listen 127.0.0.1:${httpsPort} ssl;
    ssl_certificate ${pki.cert};
    ssl_certificate_key ${pki.key};
    root ${dir}/www;
    gzip on; gzip_types text/plain; gzip_min_length 0;
  }
}`;
    fs.writeFileSync(path.join(dir, 'nginx.conf'), conf);
    nginx = spawn('nginx', ['-c', path.join(dir, 'nginx.conf'), '-p', dir], { stdio: 'ignore' });
    await waitPort(httpPort);
    await waitPort(httpsPort);
  });

  after(() => {
    if (nginx?.pid) process.kill(nginx.pid, 'SIGTERM');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const modes: [string, () => { t: StreamTransport; tls: TlsStream | null; port: number }][] = [
    ['http', () => ({ t: new KernelStream(), tls: null, port: httpPort })],
    ...(['TLSv1.2', 'TLSv1.3'] as const).map((v): [string, () => { t: StreamTransport; tls: TlsStream | null; port: number }] => [
      `https ${v}`,
      () => {
        const tls = new TlsStream(new KernelStream(), {
          client: { verify: true, ca: fs.readFileSync(pki.ca), servername: 'localhost', minVersion: v, maxVersion: v, resume: true, alpn: ['http/1.1'] },
        });
        return { t: tls, tls, port: httpsPort };
      },
    ]),
  ];

  for (const [name, make] of modes) {
    it(`${name}: keep-alive, small bodies, sha256 verified`, async () => {
      const { t, port } = make();
      const s = await run({ transport: t, dstPort: port, requests: [{ method: 'GET', path: '/small.bin', sha256: sha(small) }], totalRequests: 200, connections: 2 });
      assert.equal(s.responses, 200);
      assert.equal(s.verifyOk, 200);
      assert.equal(s.statusClass[2], 200);
      assert.equal(s.connects, 2, 'keep-alive: two connections carried all requests');
      assert.equal(s.bodyBytes, 200 * small.length);
    });

    it(`${name}: pipelined depth 8, with HEAD in the mix`, async () => {
      const { t, port } = make();
      const s = await run({
        transport: t, dstPort: port, pipeline: 8, totalRequests: 400, connections: 1,
        requests: [{ method: 'GET', path: '/small.bin', sha256: sha(small) }, { method: 'HEAD', path: '/big.bin' }],
      });
      assert.equal(s.responses, 400);
      assert.equal(s.verifyOk, 200, 'every GET body verified');
      assert.equal(s.bodyBytes, 200 * small.length, 'HEAD responses carried no body');
      assert.deepEqual([s.failedRequests, s.connectFailures], [0, 0]);
    });

    it(`${name}: 10 MB bodies, sha256 verified`, async () => {
      const { t, port } = make();
      const s = await run({ transport: t, dstPort: port, requests: [{ method: 'GET', path: '/big.bin', sha256: sha(big) }], totalRequests: 3, connections: 1, pipeline: 2 });
      assert.equal(s.verifyOk, 3);
      assert.equal(s.bodyBytes, 3 * big.length);
    });

    it(`${name}: chunked (gzip) responses decode to the file`, async () => {
      const { t, port } = make();
      const bodies: Buffer[] = [];
      let te = '';
      const s = await run({
        transport: t, dstPort: port, totalRequests: 4, keepBodies: true,
        requests: [{ method: 'GET', path: '/text.txt', headers: { 'Accept-Encoding': 'gzip' } }],
        onResponse: (_st, _n, _rtt, _d, body) => bodies.push(body as Buffer),
        onHeader: (n, v) => {
          if (n.toLowerCase() === 'transfer-encoding') te = v;
        },
      });
      assert.equal(s.responses, 4);
      assert.equal(te, 'chunked');
      for (const b of bodies) assert.ok(gunzipSync(b).equals(text));
    });
  }

  for (const v of ['TLSv1.2', 'TLSv1.3'] as const) {
    it(`https ${v}: connection per request resumes the session after the first`, async () => {
      const tls = new TlsStream(new KernelStream(), {
        client: { verify: true, ca: fs.readFileSync(pki.ca), servername: 'localhost', minVersion: v, maxVersion: v, resume: true },
      });
      const s = await run({ transport: tls, dstPort: httpsPort, requests: [{ method: 'GET', path: '/small.bin' }], totalRequests: 5, requestsPerConnection: 1 });
      assert.equal(s.responses, 5);
      assert.equal(s.connects, 5);
      assert.equal(tls.stats.full, 1, 'one full handshake');
      assert.equal(tls.stats.resumed, 4, 'then resumed ones');
    });
  }

  it('https: verification on rejects a server whose CA is not trusted', async () => {
    const tls = new TlsStream(new KernelStream(), { client: { verify: true, servername: 'localhost', resume: false } });
    const s = await run({ transport: tls, dstPort: httpsPort, requests: [{ method: 'GET', path: '/small.bin' }], totalRequests: 1 });
    assert.equal(s.responses, 0);
    assert.equal(tls.stats.failures, 1);
    assert.match(tls.stats.lastError, /CERT|SELF_SIGNED|ISSUER|VERIFY/);
  });
});
