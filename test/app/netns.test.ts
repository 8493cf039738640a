/**
 * vaigAI's client against nginx in its own network namespace, across a veth
 * pair (198.18.5.1 here, 198.18.5.2 in the namespace): HTTP and HTTPS
 * (TLS 1.3), keep-alive with 10 MB bodies checked by sha256, and a pipelined
 * run. The namespace, the veth pair and nginx are created and removed here.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Http1Client, type ClientStats } from '../../src/app/http11/client.js';
import { KernelStream } from '../../src/app/http11/kernel_stream.js';
import { type StreamTransport } from '../../src/net/tcp/stream.js';
import { parseIp } from '../../src/wire/ipv4_addr.js';
import { TlsStream } from '../../src/tls/tls_stream.js';
import { hasTool, makePki, type TestPki } from '../tls/certs.js';

const NS = `vgapp-${process.pid}`;
const HOST_IF = `vgapp${process.pid % 100000}h`;
const NS_IF = `vgapp${process.pid % 100000}n`;
const HOST_IP = '198.18.5.1';
const NS_IP = '198.18.5.2';
const skip = process.getuid?.() !== 0 ? 'not root (network namespaces need it)' : !hasTool('nginx') ? 'nginx missing' : !hasTool('ip') ? 'iproute2 missing' : false;

function sh(args: string[]): void {
  execFileSync(args[0], args.slice(1), { stdio: 'ignore' });
}

describe('vaigAI client against nginx in a network namespace', { skip }, () => {
  let pki: TestPki;
  let nginx: ChildProcess | null = null;
  const big = randomBytes(10 * 1024 * 1024);
  const bigSha = createHash('sha256').update(big).digest('hex');

  before(async () => {
    pki = makePki() as TestPki;
    const dir = pki.dir;
    fs.mkdirSync(path.join(dir, 'www'));
    fs.writeFileSync(path.join(dir, 'www', 'big.bin'), big);
    fs.writeFileSync(path.join(dir, 'www', 'small.txt'), 'small body\n');
    sh(['ip', 'netns', 'add', NS]);
    sh(['ip', 'link', 'add', HOST_IF, 'type', 'veth', 'peer', 'name', NS_IF, 'netns', NS]);
    sh(['ip', 'addr', 'add', `${HOST_IP}/24`, 'dev', HOST_IF]);
    sh(['ip', 'link', 'set', HOST_IF, 'up']);
    sh(['ip', '-n', NS, 'addr', 'add', `${NS_IP}/24`, 'dev', NS_IF]);
    sh(['ip', '-n', NS, 'link', 'set', NS_IF, 'up']);
    sh(['ip', '-n', NS, 'link', 'set', 'lo', 'up']);
    fs.writeFileSync(path.join(dir, 'nginx.conf'), `
user root; daemon off; worker_processes 1;
pid ${dir}/nginx.pid; error_log ${dir}/error.log warn;
events { worker_connections 256; }
http {
  access_log off; keepalive_requests 100000;
  client_body_temp_path ${dir}/cb; proxy_temp_path ${dir}/px; fastcgi_temp_path ${dir}/fc; uwsgi_temp_path ${dir}/uw; scgi_temp_path ${dir}/sc;
  server {
    listen ${NS_IP}:80; listen ${NS_IP}:443 ssl;
    ssl_certificate ${pki.cert}; ssl_certificate_key ${pki.key}; ssl_protocols TLSv1.2 TLSv1.3;
    root ${dir}/www;
  }
}`);
    nginx = spawn('ip', ['netns', 'exec', NS, 'nginx', '-c', path.join(dir, 'nginx.conf'), '-p', dir], { stdio: 'ignore' });
    const end = Date.now() + 5000;
    while (!fs.existsSync(path.join(dir, 'nginx.pid')) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 200));
  });

  after(() => {
    if (nginx?.pid) process.kill(nginx.pid, 'SIGTERM');
    try {
      sh(['ip', 'netns', 'del', NS]); // removes the veth pair with it
    } catch {
      // already gone
    }
    fs.rmSync(pki.dir, { recursive: true, force: true });
  });

  const run = (t: StreamTransport, port: number, path_: string, total: number, pipeline: number, sha?: string): Promise<ClientStats> =>
    new Promise((resolve) => {
      new Http1Client({
        transport: t, srcIp: parseIp(HOST_IP), dstIp: parseIp(NS_IP), dstPort: port, host: 'localhost',
        requests: [{ method: 'GET', path: path_, ...(sha ? { sha256: sha } : {}) }], totalRequests: total, pipeline, onDone: resolve,
      }).start();
    });

  it('HTTP: 10 MB bodies keep-alive, and a pipelined run', async () => {
    const s = await run(new KernelStream(), 80, '/big.bin', 3, 1, bigSha);
    assert.deepEqual([s.responses, s.verifyOk, s.connects], [3, 3, 1]);
    const p = await run(new KernelStream(), 80, '/small.txt', 500, 16);
    assert.deepEqual([p.responses, p.bodyBytes, p.failedRequests, p.connectFailures], [500, 500 * 11, 0, 0]);
  });

  it('HTTPS TLS 1.3: 10 MB bodies keep-alive, certificate verified', async () => {
    const tls = new TlsStream(new KernelStream(), { client: { verify: true, ca: fs.readFileSync(pki.ca), servername: 'localhost', minVersion: 'TLSv1.3', resume: true } });
    const s = await run(tls, 443, '/big.bin', 3, 2, bigSha);
    assert.deepEqual([s.responses, s.verifyOk, tls.stats.full], [3, 3, 1]);
  });
});
