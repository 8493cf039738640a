/**
 * The key log works for its purpose, with either engine: tshark, given the
 * key log file written by vaigAI's TLS client, decrypts a capture of that
 * client talking to vaigAI's TLS server (same engine) on loopback and shows
 * the HTTP request inside (TLS 1.2 and 1.3); the server's key log decrypts
 * it too; without a key log nothing decrypts.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { KernelStream } from '../../src/app/http11/kernel_stream.js';
import { Http1Server } from '../../src/app/http11/server.js';
import { CertManager } from '../../src/tls/cert_manager.js';
import { createTlsStream, TLS_ENGINES } from '../../src/tls/engine.js';
import { KeyLog } from '../../src/tls/keylog.js';
import { makePki, type TestPki } from './certs.js';
import { engineSkip, get, LO, startCapture } from './peers.js';

const run = promisify(execFile);

for (const engine of TLS_ENGINES) {
  const skip = process.getuid?.() !== 0 ? 'not root (capturing on lo needs it)' : engineSkip(engine, ['tshark', 'openssl']);

  describe(`tls (${engine}) key log decrypts a capture in tshark`, { skip }, () => {
    let pki: TestPki;
    const kernel = new KernelStream();
    let port = 0;
    let serverLog: KeyLog;
    before(async () => {
      pki = makePki() as TestPki;
      serverLog = new KeyLog(path.join(pki.dir, 'server.keys'));
      const tls = createTlsStream(engine, kernel, { server: { certs: new CertManager({ cert: pki.cert, key: pki.key }), requestCert: false, verifyClient: false, sessionCache: 0 }, keylog: serverLog });
      new Http1Server({ transport: tls, ip: LO, port: 0 }).listen();
      await kernel.ready();
      port = kernel.boundPort();
    });
    after(async () => {
      await kernel.stop();
      serverLog.close();
      fs.rmSync(pki.dir, { recursive: true, force: true });
    });

    for (const v of ['TLSv1.2', 'TLSv1.3'] as const) {
      it(v, async () => {
        const cap = path.join(pki.dir, `${v}.pcapng`);
        const keys = path.join(pki.dir, `${v}.keys`);
        const capture = await startCapture(port, cap);
        const kl = new KeyLog(keys);
        try {
          const cl = createTlsStream(engine, new KernelStream(), { client: { verify: false, resume: false, minVersion: v, maxVersion: v }, keylog: kl });
          const { s } = await get({ transport: cl, dstPort: port, requests: [{ method: 'GET', path: '/bytes/5?keylog' }] });
          assert.equal(s.responses, 1);
        } finally {
          kl.close();
          await capture.stop();
        }
        // TLS 1.2: one CLIENT_RANDOM line; TLS 1.3: handshake and traffic secrets of both sides and the exporter secret (RFC 8446 §7.1).
        assert.equal(kl.lines, v === 'TLSv1.2' ? 1 : 5);
        // The port is not 443: tell tshark it carries TLS, and HTTP inside.
        const decode = ['-d', `tcp.port==${port},tls`, '-d', `tls.port==${port},http`, '-Y', 'http.request', '-T', 'fields', '-e', 'http.request.uri'];
        const { stdout } = await run('tshark', ['-r', cap, '-o', `tls.keylog_file:${keys}`, ...decode]);
        assert.equal(stdout.trim(), '/bytes/5?keylog');
        // The server logged the same secrets: its file decrypts the capture too.
        const { stdout: bySrv } = await run('tshark', ['-r', cap, '-o', `tls.keylog_file:${path.join(pki.dir, 'server.keys')}`, ...decode]);
        assert.equal(bySrv.trim(), '/bytes/5?keylog');
        const { stdout: without } = await run('tshark', ['-r', cap, ...decode]);
        assert.equal(without.trim(), '', 'without the key log nothing decrypts');
      });
    }
  });
}
