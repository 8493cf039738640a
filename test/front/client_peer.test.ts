/**
 * The `vaigai` client (user-space TCP, HTTP/1.1, TLS) against real servers in
 * namespaces this file creates (prefix vgfr-, 198.18.6.0/24): nginx serves a
 * 20 MB file over HTTP and HTTPS, and the body's sha256 must be the file's;
 * keep-alive, pipelined and connection-per-request loads get every answer; a
 * 20 MB POST reaches a kernel server whose own sha256 of the body must match.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TLS_ENGINES } from '../../src/tls/engine.js';
import { loadNativeTls, nativeTlsError } from '../../src/tls/native_engine.js';
import { FrontLab, Proc, answered, frontSkipReason, printedSha } from './lab.js';

const NGINX_IP = '198.18.6.1';
const GEN_IP = '198.18.6.10';
const FILE_BYTES = 20 << 20;

/** A kernel HTTP server (Node's http) that answers each request with the sha256 of its body. */
const HASH_SERVER = `
const http = require('http'), crypto = require('crypto');
http.createServer((req, res) => {
  const h = crypto.createHash('sha256'); let n = 0;
  req.on('data', (d) => { h.update(d); n += d.length; });
  req.on('end', () => { const hex = h.digest('hex'); console.log('got', n, hex); res.end(hex); });
}).listen(9000, '${NGINX_IP}', () => console.log('listening'));
`;

test('vaigai client against nginx and a kernel server: downloads and an upload with sha256 equal', { timeout: 300_000 }, async (t) => {
  const skip = await frontSkipReason(['nginx', 'curl', 'ethtool', 'openssl']);
  if (skip !== null) return t.skip(skip);
  const f = new FrontLab('vgfr-');
  t.after(() => f.cleanup());
  const { gen, peer, genIf } = f.pair(NGINX_IP);
  const big = f.randomFile('big.bin', FILE_BYTES);
  const small = f.randomFile('small.bin', 3000);
  const pki = f.cert('vaigai.test');
  await f.nginx(peer, NGINX_IP, pki);
  const base = ['--port', `af_packet:iface=${genIf}`, '--src-ip', GEN_IP];

  await t.test('HTTP: 20 MB download, sha256 equal', async () => {
    const r = await f.vaigai(gen, [...base, '--client', `http://${NGINX_IP}:8080/big.bin`, '--sha256'], 120_000);
    assert.equal(r.code, 0, r.out);
    assert.equal(printedSha(r.out), big.sha256, r.out);
    assert.match(r.out, /2xx 1 /, r.out);
  });

  for (const version of ['1.2', '1.3']) {
    await t.test(`HTTPS, TLS ${version} only (verified against the CA, SNI): 20 MB download, sha256 equal`, async () => {
      const r = await f.vaigai(
        gen,
        [...base, '--client', `https://${NGINX_IP}:8443/big.bin`, '--sni', 'vaigai.test', '--ca', pki.cert, '--tls-version', version, '--sha256'],
        120_000,
      );
      assert.equal(r.code, 0, r.out);
      assert.equal(printedSha(r.out), big.sha256, r.out);
    });
  }

  for (const engine of TLS_ENGINES) {
    await t.test(`HTTPS (--tls-engine ${engine}) keep-alive, pipelined 4 deep on 2 connections: 100 answers, every body verified`, async (tt) => {
      if (engine === 'native' && loadNativeTls() === null) return tt.skip(nativeTlsError());
      const json = join(f.dir, `tls-ka-${engine}.json`);
      const r = await f.vaigai(
        gen,
        [...base, '--client', `https://${NGINX_IP}:8443/small.bin`, '--insecure', '--requests', '100', '--connections', '2', '--pipeline', '4',
          '--expect-sha256', small.sha256, '--json', json, '--tls-engine', engine],
        60_000,
      );
      assert.equal(r.code, 0, r.out);
      const app = (JSON.parse(readFileSync(json, 'utf8')) as { app: { responses: number; verify: { ok: number }; tls: { handshakes: number } } }).app;
      assert.deepEqual([app.responses, app.verify.ok, app.tls.handshakes], [100, 100, 2], r.out);
    });
  }

  await t.test('HTTPS: a certificate for another name fails verification, no body', async () => {
    const json = join(f.dir, 'bad.json');
    const r = await f.vaigai(
      gen,
      [...base, '--client', `https://${NGINX_IP}:8443/small.bin`, '--sni', 'other.test', '--ca', pki.cert, '--json', json],
      30_000,
    );
    assert.equal(r.code, 3, `a failed run exits 3: ${r.out}`);
    assert.equal(answered(r.out).answered, 0, r.out);
    const app = (JSON.parse(readFileSync(json, 'utf8')) as {
      app: { connections: { failed: number }; failures: Record<string, { count: number }>; tls: { failures: number; lastError: string } };
    }).app;
    assert.equal(app.connections.failed, 1, r.out);
    assert.equal(app.tls.failures, 1, r.out);
    assert.deepEqual(app.failures, { tlsVerify: { count: 1, lastMessage: app.tls.lastError } }, r.out);
    // Node tls names the code, the native engine OpenSSL's reason.
    assert.match(app.tls.lastError, /ERR_TLS_CERT_ALTNAME_INVALID|altname|hostname mismatch/i, r.out);
  });

  await t.test('keep-alive, pipelined 4 deep on 4 connections: 400 answers, every body verified', async () => {
    const json = join(f.dir, 'ka.json');
    const r = await f.vaigai(
      gen,
      [...base, '--client', `http://${NGINX_IP}:8080/small.bin`, '--requests', '400', '--connections', '4', '--pipeline', '4',
        '--expect-sha256', small.sha256, '--json', json],
      60_000,
    );
    assert.equal(r.code, 0, r.out);
    const app = (JSON.parse(readFileSync(json, 'utf8')) as { app: { responses: number; verify: { ok: number; failed: number }; connections: { ok: number } } }).app;
    assert.equal(app.responses, 400, r.out);
    assert.deepEqual(app.verify, { ok: 400, failed: 0 }, r.out);
    assert.equal(app.connections.ok, 4, 'keep-alive: four connections carried all requests');
  });

  await t.test('connection per request: 200 answers on 200 connections', async () => {
    const json = join(f.dir, 'cpr.json');
    const r = await f.vaigai(
      gen,
      [...base, '--client', `http://${NGINX_IP}:8080/small.bin`, '--requests', '200', '--connections', '8', '--conn-per-request',
        '--expect-sha256', small.sha256, '--json', json],
      60_000,
    );
    assert.equal(r.code, 0, r.out);
    const app = (JSON.parse(readFileSync(json, 'utf8')) as { app: { responses: number; verify: { ok: number }; connections: { ok: number; failed: number } } }).app;
    assert.equal(app.responses, 200, r.out);
    assert.equal(app.verify.ok, 200, r.out);
    assert.ok(app.connections.ok >= 200, r.out);
    assert.equal(app.connections.failed, 0, r.out);
  });

  await t.test('upload: a 20 MB POST, the kernel server hashes the body it received', async () => {
    const srv = new Proc(f.lab.spawn(peer, process.execPath, ['-e', HASH_SERVER]));
    await srv.waitFor(/listening/, 10_000);
    const saved = join(f.dir, 'answer.txt');
    const r = await f.vaigai(gen, [...base, '--client', `http://${NGINX_IP}:9000/upload`, '--body-file', big.path, '--save-body', saved], 120_000);
    assert.equal(r.code, 0, r.out);
    await srv.waitFor(/^got \d+ [0-9a-f]{64}$/m, 5_000);
    assert.match(srv.out, new RegExp(`^got ${FILE_BYTES} ${big.sha256}$`, 'm'), `server saw: ${srv.out}`);
    assert.equal(readFileSync(saved, 'utf8'), big.sha256, 'the answer the client saved');
  });
});
