/**
 * Both TLS engines (TlsStream: Node's tls over a ConnDuplex; NativeTlsStream:
 * the addon's OpenSSL over memory BIOs), built by createTlsStream, on kernel
 * TCP over loopback against real peers: openssl s_server and s_client (TLS
 * 1.2 and 1.3), Node's own tls both ways, each other both ways, and vaigAI's
 * HTTP client/server with 1 MB bodies checked by sha256. Cipher and group
 * choice, resumption counters, ALPN, SNI, session-ID cache, client
 * certificates, verification failures, key log, certificate reload, and
 * malformed input from a raw socket. Where the engines differ by design the
 * case asserts each engine's own behaviour.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { Http1Client, type ClientStats } from '../../src/app/http11/client.js';
import { Fail } from '../../src/app/http11/failures.js';
import { KernelStream } from '../../src/app/http11/kernel_stream.js';
import { MemStream } from '../../src/app/http11/mem_stream.js';
import { Http1Server } from '../../src/app/http11/server.js';
import type { StreamTransport } from '../../src/net/tcp/stream.js';
import { CertManager } from '../../src/tls/cert_manager.js';
import { createTlsStream, TLS_ENGINES, type TlsEngine, type TlsStreamOptions, type TlsTransport } from '../../src/tls/engine.js';
import { KeyLog } from '../../src/tls/keylog.js';
import type { TlsClientConfig } from '../../src/tls/tls_stream.js';
import { freePort, waitPort } from '../app/peers.js';
import { makePki, type TestPki } from './certs.js';
import { engineSkip, get, heldConnection, LO, openssl, patternSha, serverCloses } from './peers.js';

const MB = 1024 * 1024;
const req = 'GET /bytes/12 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n';

/** The reason each engine reports for a failed verification: Node's error code, OpenSSL's reason text. */
const VERIFY_ERRORS: Record<TlsEngine, { wrongName: RegExp; wrongCa: RegExp }> = {
  node: { wrongName: /^ERR_TLS_CERT_ALTNAME_INVALID$/, wrongCa: /^UNABLE_TO_VERIFY_LEAF_SIGNATURE$/ },
  native: { wrongName: /hostname mismatch/, wrongCa: /certificate verify failed: unable to get local issuer certificate/ },
};


for (const engine of TLS_ENGINES) {
  const stream = (lower: StreamTransport, opts: TlsStreamOptions): TlsTransport => createTlsStream(engine, lower, opts);

  describe(`tls (${engine})`, { skip: engineSkip(engine) }, () => {
    describe('client against openssl s_server', () => {
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
        it(`${name}: verified, ALPN, then resumed on the next connections`, async () => {
          const t = stream(new KernelStream(), { client: { verify: true, ca: fs.readFileSync(pki.ca), servername: 'localhost', resume: true, alpn: ['http/1.1'], ...cfg } });
          const { s, bodies } = await get({ transport: t, dstPort: port, totalRequests: 3, requestsPerConnection: 1 });
          assert.equal(s.responses, 3);
          assert.match(bodies[0], re);
          assert.match(bodies[0], /\nNew, /);
          assert.match(bodies[1], /\nReused, /);
          assert.match(bodies[2], /\nReused, /);
          assert.deepEqual([t.stats.handshakes, t.stats.full, t.stats.resumed, t.stats.failures], [3, 1, 2, 0]);
          assert.ok(t.stats.sessionsStored >= 1);
        });
      }

      it('resumption off: every handshake is full', async () => {
        const t = stream(new KernelStream(), { client: { verify: false, resume: false } });
        const { s } = await get({ transport: t, dstPort: port, totalRequests: 2, requestsPerConnection: 1 });
        assert.equal(s.responses, 2);
        assert.deepEqual([t.stats.full, t.stats.resumed], [2, 0]);
      });

      it('verification with the wrong CA: a failure counted, the connection closed', async () => {
        const t = stream(new KernelStream(), { client: { verify: true, ca: fs.readFileSync(pki.cert2), servername: 'localhost', resume: false } });
        const { s } = await get({ transport: t, dstPort: port, totalRequests: 1 });
        assert.equal(s.responses, 0);
        assert.deepEqual([s.connectFailures, s.failures[Fail.TLS_VERIFY]], [1, 1], 'one failed connection, under TLS verify');
        assert.deepEqual([t.stats.handshakes, t.stats.failures], [0, 1]);
        assert.match(t.stats.lastError, VERIFY_ERRORS[engine].wrongCa);
      });

      it('verification without a server name passes (native: the IP SAN of the address; node: the name localhost); the wrong name fails', async () => {
        const t = stream(new KernelStream(), { client: { verify: true, ca: fs.readFileSync(pki.ca), resume: false } });
        const { s } = await get({ transport: t, dstPort: port, totalRequests: 1 });
        assert.deepEqual([s.responses, t.stats.failures], [1, 0]);
        const wrong = stream(new KernelStream(), { client: { verify: true, ca: fs.readFileSync(pki.ca), servername: 'not-localhost', resume: false } });
        const w = await get({ transport: wrong, dstPort: port, totalRequests: 1 });
        assert.equal(w.s.responses, 0);
        assert.equal(wrong.stats.failures, 1);
        assert.match(wrong.stats.lastError, VERIFY_ERRORS[engine].wrongName);
      });

      it('key log: NSS lines for both versions', async () => {
        const file = path.join(pki.dir, 'keys.log');
        for (const v of ['TLSv1.2', 'TLSv1.3'] as const) {
          const kl = new KeyLog(file);
          const t = stream(new KernelStream(), { client: { verify: false, resume: false, minVersion: v, maxVersion: v }, keylog: kl });
          const { s } = await get({ transport: t, dstPort: port, totalRequests: 1 });
          kl.close();
          assert.equal(s.responses, 1);
        }
        const text = fs.readFileSync(file, 'utf8');
        assert.match(text, /^CLIENT_RANDOM [0-9a-f]{64} [0-9a-f]{96}$/m, 'TLS 1.2 master secret');
        assert.match(text, /^CLIENT_TRAFFIC_SECRET_0 [0-9a-f]{64} [0-9a-f]+$/m, 'TLS 1.3 traffic secret');
        assert.equal(KeyLog.fromConfig(undefined, {}), null);
      });
    });

    describe('server against openssl s_client, Node tls and vaigAI', () => {
      let pki: TestPki;
      let certs: CertManager;
      const kernel = new KernelStream();
      let srv: TlsTransport;
      let port = 0;
      before(async () => {
        pki = makePki() as TestPki;
        certs = new CertManager({ cert: pki.cert, key: pki.key });
        srv = stream(kernel, { server: { certs, requestCert: false, verifyClient: false, sessionCache: 64, alpn: ['h2', 'http/1.1'] } });
        new Http1Server({ transport: srv, ip: LO, port: 0 }).listen();
        await kernel.ready();
        port = kernel.boundPort();
        certs.watch(50);
      });
      after(async () => {
        certs.unwatch();
        await kernel.stop();
        fs.rmSync(pki.dir, { recursive: true, force: true });
      });

      for (const v of ['-tls1_2', '-tls1_3']) {
        it(`s_client ${v}: verified, ALPN, answered; second connection resumed`, async () => {
          const sess = path.join(pki.dir, `sess${v}`);
          const common = ['s_client', '-connect', `127.0.0.1:${port}`, v, '-CAfile', pki.ca, '-servername', 'localhost', '-verify_return_error', '-alpn', 'http/1.1'];
          const resumed = srv.stats.resumed;
          const first = await openssl([...common, '-sess_out', sess], req);
          assert.match(first, /Verify return code: 0 \(ok\)/);
          assert.match(first, /ALPN protocol: http\/1\.1/);
          assert.match(first, /HTTP\/1\.1 200 OK\r\nContent-Length: 12\r\nConnection: close\r\n\r\nvaigAI-01234/);
          const second = await openssl([...common, '-sess_in', sess], req);
          assert.match(second, /^Reused, TLSv1\.[23]/m);
          assert.match(second, /vaigAI-01234/);
          assert.equal(srv.stats.resumed, resumed + 1);
        });
      }

      it('session-ID resumption (TLS 1.2, tickets off) uses the server cache', async () => {
        const sess = path.join(pki.dir, 'sess-noticket');
        const common = ['s_client', '-connect', `127.0.0.1:${port}`, '-tls1_2', '-no_ticket'];
        const stored = srv.stats.sessionsStored;
        await openssl([...common, '-sess_out', sess], req);
        assert.ok(srv.stats.sessionsStored > stored, 'server cached the session');
        const resumed = srv.stats.resumed;
        const second = await openssl([...common, '-sess_in', sess], req);
        assert.match(second, /^Reused, TLSv1\.2/m);
        assert.equal(srv.stats.resumed, resumed + 1);
      });

      it('no ALPN protocol in common: the handshake fails with a no_application_protocol alert (RFC 7301 §3.2)', async () => {
        const failures = srv.stats.failures;
        for (const v of ['-tls1_2', '-tls1_3']) {
          const out = await openssl(['s_client', '-connect', `127.0.0.1:${port}`, v, '-alpn', 'x-none'], req);
          assert.match(out, /alert no application protocol/, out);
          assert.doesNotMatch(out, /vaigAI-01234/);
        }
        assert.equal(srv.stats.failures, failures + 2);
      });

      it("Node's tls.connect: TLS 1.2 and 1.3, ALPN h2 chosen by server preference", async () => {
        for (const v of ['TLSv1.2', 'TLSv1.3'] as const) {
          const text = await new Promise<string>((resolve, reject) => {
            const s = tls.connect({ host: '127.0.0.1', port, ca: fs.readFileSync(pki.ca), servername: 'localhost', minVersion: v, maxVersion: v, ALPNProtocols: ['http/1.1', 'h2'] }, () => {
              assert.equal(s.alpnProtocol, 'h2');
              assert.equal(s.getProtocol(), v);
              s.end(req);
            });
            let out = '';
            s.on('data', (d: Buffer) => (out += d.toString('latin1')));
            s.on('end', () => resolve(out));
            s.on('error', reject);
          });
          assert.match(text, /^HTTP\/1\.1 200 OK\r\n[^]*vaigAI-01234$/);
        }
      });

      it('SNI picks the certificate by name, case-insensitively; other names get the default', async () => {
        const k = new KernelStream();
        const other = new CertManager({ cert: pki.cert2, key: pki.key2 });
        const t = stream(k, { server: { certs: new CertManager({ cert: pki.cert, key: pki.key }), sni: new Map([['other.test', other]]), requestCert: false, verifyClient: false, sessionCache: 0 } });
        new Http1Server({ transport: t, ip: LO, port: 0 }).listen();
        await k.ready();
        try {
          const named = await openssl(['s_client', '-connect', `127.0.0.1:${k.boundPort()}`, '-servername', 'OTHER.test'], req);
          assert.match(named, /subject=CN ?= ?localhost-2/);
          assert.match(named, /vaigAI-01234/);
          const unnamed = await openssl(['s_client', '-connect', `127.0.0.1:${k.boundPort()}`, '-servername', 'unknown.test'], req);
          assert.match(unnamed, /subject=CN ?= ?localhost\n/);
        } finally {
          await k.stop();
        }
      });

      it('client certificates: required and verified (s_client, and vaigAI with its certificate)', async () => {
        const k = new KernelStream();
        const m = stream(k, { server: { certs: new CertManager({ cert: pki.cert, key: pki.key, ca: pki.ca }), requestCert: true, verifyClient: true, sessionCache: 0 } });
        new Http1Server({ transport: m, ip: LO, port: 0 }).listen();
        await k.ready();
        try {
          const without = await openssl(['s_client', '-connect', `127.0.0.1:${k.boundPort()}`, '-tls1_3'], req);
          assert.doesNotMatch(without, /HTTP\/1\.1 200/);
          assert.equal(m.stats.failures, 1, 'the certificate-less handshake counted as failed');
          const withCert = await openssl(['s_client', '-connect', `127.0.0.1:${k.boundPort()}`, '-tls1_3', '-cert', pki.clientCert, '-key', pki.clientKey], req);
          assert.match(withCert, /HTTP\/1\.1 200 OK/);
          const cl = stream(new KernelStream(), {
            client: { verify: true, ca: fs.readFileSync(pki.ca), servername: 'localhost', cert: fs.readFileSync(pki.clientCert), key: fs.readFileSync(pki.clientKey), resume: false },
          });
          const { s } = await get({ transport: cl, dstPort: k.boundPort(), totalRequests: 2 });
          assert.equal(s.responses, 2);
          assert.equal(m.stats.failures, 1);
        } finally {
          await k.stop();
        }
      });

      it('malformed input from a raw socket: a failure counted, the connection closed, the server still serves', async () => {
        const failures = srv.stats.failures;
        // An application-data record with version 0x1717 and length 0x1717. The native engine
        // rejects its header at once. The node engine with a session-ID cache runs Node's
        // ClientHello parser first, which holds a first record until all of it arrived: it
        // rejects the record once the rest (to 5 + 0x1717 bytes) follows.
        const bad = Buffer.alloc(3000, 0x17);
        const badRecord = engine === 'node' ? [bad, Buffer.alloc(5 + 0x1717 - bad.length, 0x17)] : [bad];
        for (const chunks of [[Buffer.from('GET / HTTP/1.1\r\n\r\n')], [Buffer.from([22, 3, 1, 0, 5, 1, 0, 0, 1, 0])], badRecord]) {
          assert.ok(await serverCloses(port, chunks), `the server closed the connection (${chunks[0].length} bytes)`);
        }
        assert.equal(srv.stats.failures, failures + 3);
        assert.match(await openssl(['s_client', '-connect', `127.0.0.1:${port}`], req), /vaigAI-01234/);
      });

      it('a peer that leaves during the handshake (FIN or reset) is counted as abandoned, not as a TLS failure', async () => {
        const { failures, abandoned } = srv.stats;
        const leave = (head: Buffer, fin: boolean) =>
          new Promise<void>((resolve, reject) => {
            const s = net.connect(port, '127.0.0.1', () => {
              if (head.length > 0) s.write(head);
              if (fin) s.end();
              else setTimeout(() => s.resetAndDestroy(), 100);
            });
            const timer = setTimeout(() => {
              s.destroy();
              reject(new Error('the server did not end the connection'));
            }, 5000);
            s.on('error', () => {});
            s.on('close', () => {
              clearTimeout(timer);
              resolve();
            });
          });
        // A bare connect, then a reset.
        await leave(Buffer.alloc(0), false);
        // The first 10 bytes of a ClientHello, then a FIN: the server ends the connection at once.
        await leave(Buffer.from([22, 3, 1, 0, 200, 1, 0, 0, 196, 3]), true);
        const deadline = Date.now() + 3000;
        while (srv.stats.abandoned < abandoned + 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        await new Promise((r) => setTimeout(r, 100));
        assert.deepEqual([srv.stats.abandoned - abandoned, srv.stats.failures - failures], [2, 0]);
        assert.match(await openssl(['s_client', '-connect', `127.0.0.1:${port}`], req), /vaigAI-01234/);
      });

      it('a peer that connects and stays silent is cut off at the handshake timeout, counted as a failure', async () => {
        const k = new KernelStream();
        const quick = stream(k, { server: { certs, requestCert: false, verifyClient: false, sessionCache: 0 }, handshakeTimeoutMs: 300 });
        new Http1Server({ transport: quick, ip: LO, port: 0 }).listen();
        await k.ready();
        try {
          const t0 = Date.now();
          assert.ok(await serverCloses(k.boundPort(), []), 'the server closed the silent connection');
          assert.ok(Date.now() - t0 >= 250, 'not before the timeout');
          assert.equal(quick.stats.failures, 1);
          assert.match(quick.stats.lastError, /handshake timed out after 300 ms/);
          // The server still serves.
          assert.match(await openssl(['s_client', '-connect', `127.0.0.1:${k.boundPort()}`], req), /vaigAI-01234/);
          assert.equal(quick.stats.failures, 1, 'a completed handshake is not timed out');
        } finally {
          await k.stop();
        }
      });

      it('cert reload: new handshakes get the new certificate, a live session keeps going, tickets still resume, a broken file keeps the last context', async () => {
        const live = stream(new KernelStream(), { client: { verify: false, resume: true } });
        // One connection held open across the reload, asked once before and once after.
        const held = await heldConnection(live, port);
        await held.ask();
        // A TLS 1.2 session ID (no ticket) issued before the reload.
        const idSess = path.join(pki.dir, 'sess-reload');
        const idArgs = ['s_client', '-connect', `127.0.0.1:${port}`, '-tls1_2', '-no_ticket'];
        assert.match(await openssl([...idArgs, '-sess_out', idSess], req), /vaigAI-01234/);
        await new Promise((r) => setTimeout(r, 120)); // the watcher's first poll has run
        fs.copyFileSync(pki.cert2, pki.cert);
        fs.copyFileSync(pki.key2, pki.key);
        const deadline = Date.now() + 5000;
        while (certs.reloads === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        assert.ok(certs.reloads > 0, 'watch noticed the change');
        assert.match(await held.ask(), /^HTTP\/1\.1 200 OK\r\n/, 'the live session still answers after the reload');
        held.close();
        const out = await openssl(['s_client', '-connect', `127.0.0.1:${port}`, '-tls1_3'], req);
        assert.match(out, /subject=CN ?= ?localhost-2/, 'new handshakes get the new certificate');
        // The ticket from before the reload still resumes: ticket keys survive reloads.
        const again = await get({ transport: live, dstPort: port, totalRequests: 1 });
        assert.equal(again.s.responses, 1);
        assert.deepEqual([live.stats.full, live.stats.resumed], [1, 1]);
        // The session-ID cache outlives the reload too (node keeps it in the stream, native
        // shares it from the context before the reload).
        const byId = await openssl([...idArgs, '-sess_in', idSess], req);
        assert.match(byId, /^Reused, TLSv1\.2/m);
        assert.match(byId, /vaigAI-01234/);
        const errors = certs.reloadErrors;
        fs.writeFileSync(pki.key, 'not a key');
        assert.equal(certs.reload(), false);
        assert.equal(certs.reloadErrors, errors + 1);
        assert.match(await openssl(['s_client', '-connect', `127.0.0.1:${port}`, '-tls1_3'], req), /subject=CN ?= ?localhost-2[^]*vaigAI-01234/, 'still served with the last good certificate');
      });
    });

    describe('HTTP with 1 MB bodies against both engines and Node tls', () => {
      let pki: TestPki;
      before(() => {
        pki = makePki() as TestPki;
      });
      after(() => fs.rmSync(pki.dir, { recursive: true, force: true }));
      const sha = patternSha(MB);

      for (const sv of TLS_ENGINES) {
        it(`${engine} client, ${sv} server on kernel TCP: TLS 1.2 and 1.3, 1 MB down (sha256 checked) and up, resumed`, { skip: engineSkip(sv) }, async () => {
          for (const v of ['TLSv1.2', 'TLSv1.3'] as const) {
            const k = new KernelStream();
            const server = createTlsStream(sv, k, { server: { certs: new CertManager({ cert: pki.cert, key: pki.key }, { minVersion: v, maxVersion: v }), requestCert: false, verifyClient: false, sessionCache: 0 } });
            const http = new Http1Server({ transport: server, ip: LO, port: 0 });
            http.listen();
            await k.ready();
            const client = stream(new KernelStream(), { client: { verify: true, ca: fs.readFileSync(pki.ca), servername: 'localhost', resume: true } });
            try {
              const { s } = await get({
                transport: client, dstPort: k.boundPort(), keepBodies: false, totalRequests: 4, requestsPerConnection: 2,
                requests: [{ method: 'GET', path: `/bytes/${MB}`, sha256: sha }, { method: 'POST', path: '/bytes/3', body: Buffer.alloc(MB, 0x5a) }],
              });
              assert.deepEqual([s.responses, s.verifyOk, s.verifyFailed, s.connects], [4, 2, 0, 2], v);
              assert.equal(http.stats.bodyBytesIn, 2 * MB);
              assert.deepEqual([client.stats.full, client.stats.resumed, server.stats.full, server.stats.resumed], [1, 1, 1, 1], v);
            } finally {
              await k.stop();
            }
          }
        });
      }

      it('client against a Node tls.createServer echo: bytes and close both ways', async () => {
        const s = tls.createServer({ cert: fs.readFileSync(pki.cert), key: fs.readFileSync(pki.key), ALPNProtocols: ['x-echo'] }, (sock) => {
          assert.equal(sock.alpnProtocol, 'x-echo');
          sock.pipe(sock);
        });
        await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
        try {
          const t = stream(new KernelStream(), { client: { verify: true, ca: fs.readFileSync(pki.ca), servername: 'localhost', alpn: ['x-echo'], resume: false } });
          const data = Buffer.alloc(3 * MB, 0x41);
          let got = 0;
          let sent = 0;
          const done = new Promise<number>((resolve) => {
            const push = (c: number): void => {
              while (sent < data.length) {
                const n = t.write(c, data, sent, data.length - sent);
                if (n <= 0) return;
                sent += n;
              }
              t.shutdown(c);
            };
            t.connect(0, LO, (s.address() as net.AddressInfo).port, {
              onConnected: push,
              onData: (_c, _u, _o, len) => (got += len),
              onWritable: push,
              onPeerClosed: (c) => t.close(c),
              onClosed: () => resolve(got),
            });
          });
          assert.equal(await done, data.length);
          assert.equal(t.stats.handshakes, 1);
        } finally {
          await new Promise((r) => s.close(r));
        }
      });

      it('over an in-memory transport: 1 MB bodies, many connections, ids reused', async () => {
        const mem = new MemStream();
        const server = stream(mem, { server: { certs: new CertManager({ cert: pki.cert, key: pki.key }), requestCert: false, verifyClient: false, sessionCache: 0 } });
        new Http1Server({ transport: server, ip: 0, port: 443 }).listen();
        const client = stream(mem, { client: { verify: false, resume: true } });
        let stats: ClientStats | null = null;
        new Http1Client({
          transport: client, dstIp: LO, dstPort: 443, host: 'localhost', totalRequests: 40, connections: 4, requestsPerConnection: 2,
          requests: [{ method: 'GET', path: `/bytes/${MB}`, sha256: sha }], onDone: (st) => (stats = st),
        }).start();
        // The native engine runs within mem.run(); Node's tls works on later ticks. Bounded: 60 s.
        const deadline = Date.now() + 60_000;
        while (stats === null && Date.now() < deadline) {
          mem.run();
          if (stats === null) await new Promise((r) => setImmediate(r));
        }
        const st = stats as ClientStats | null;
        assert.ok(st !== null, 'the client finished');
        assert.deepEqual([st.responses, st.verifyOk, st.connects], [40, 40, 20]);
        assert.deepEqual([client.stats.handshakes, client.stats.full + client.stats.resumed, client.stats.failures], [20, 20, 0]);
        assert.ok(client.stats.resumed >= 16);
      });
    });
  });
}
