/**
 * TLS over a transport that hands a released connection id to the next
 * connection at once (MemStream reuses a freed pair first, as the user-space
 * TCP reuses a TCB). Node emits a TLS socket's events ('close' among them) a
 * tick after the transport released the connection; those late events must
 * not reach the new connection that now has the same id. Here the server
 * aborts the first connection, the client reconnects from onClosed and gets
 * the same id, and the new connection must work.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { setImmediate as tickAsync } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { MemStream } from '../../src/app/http11/mem_stream.js';
import type { StreamHandler } from '../../src/net/tcp/stream.js';
import { CertManager } from '../../src/tls/cert_manager.js';
import { TlsStream } from '../../src/tls/tls_stream.js';
import { makePki } from './certs.js';

const pki = makePki();

describe('TLS over a transport that reuses connection ids', { skip: pki === null ? 'openssl missing' : false }, () => {
  after(() => {
    if (pki !== null) fs.rmSync(pki.dir, { recursive: true, force: true });
  });

  for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
    it(`${version}: a late event of a released connection does not touch its successor`, async () => {
      const p = pki as NonNullable<typeof pki>;
      const m = new MemStream();
      const certs = new CertManager({ cert: p.cert, key: p.key }, { minVersion: version, maxVersion: version });
      const server = new TlsStream(m, { server: { certs, requestCert: false, verifyClient: false, sessionCache: 0 } });
      const client = new TlsStream(m, { client: { verify: false, resume: false } });
      const log: string[] = [];
      let accepted = 0;
      const ping = Buffer.from('ping');
      const pong = Buffer.from('pong');
      server.listen(0, 443, {
        // The first connection is reset as soon as it is secured; the second answers "pong".
        onConnected: (c) => {
          if (accepted++ === 0) server.abort(c);
        },
        onData: (c, u8, off, len) => {
          log.push(`server got ${Buffer.from(u8.subarray(off, off + len)).toString()}`);
          server.write(c, pong, 0, pong.length);
        },
        onWritable: () => undefined,
        onPeerClosed: (c) => {
          log.push('server saw FIN');
          server.close(c);
        },
        onClosed: () => undefined,
      });
      const ids: number[] = [];
      const h: StreamHandler = {
        onConnected: (c) => {
          log.push(`client up ${ids.length}`);
          client.write(c, ping, 0, ping.length);
        },
        onData: (_c, u8, off, len) => log.push(`client got ${Buffer.from(u8.subarray(off, off + len)).toString()}`),
        onWritable: () => undefined,
        onPeerClosed: () => log.push('client saw FIN'),
        onClosed: () => {
          log.push(`client closed ${ids.length}`);
          if (ids.length === 1) ids.push(client.connect(0, 1, 443, h));
        },
      };
      ids.push(client.connect(0, 1, 443, h));
      // Bounded: TLS work runs on the event loop between transport rounds.
      for (let i = 0; i < 2000 && !log.includes('client got pong'); i++) {
        m.run();
        await tickAsync();
      }
      for (let i = 0; i < 20; i++) {
        m.run();
        await tickAsync();
      }
      assert.equal(ids.length, 2);
      assert.equal(ids[1], ids[0], 'the second connection has the first one\'s id');
      // (With TLS 1.3 the client is secured before the server resets, so 'client up 1' may come first.)
      assert.deepEqual(log.slice(log.indexOf('client closed 1')), ['client closed 1', 'client up 2', 'server got ping', 'client got pong']);
      assert.equal(client.stats.failures, 0);
    });
  }
});
