/**
 * The addon's TLS engine at its own surface (native/tls_engine.cc): two
 * connections of it joined by hand, bytes moved between them by this test.
 * Bad arguments throw TypeError at setup and return a code on the data path;
 * a closed connection answers TLS_CLOSED; malformed or tampered records are a
 * fatal error with a reason and an alert, never a crash; a context dropped by
 * JS lives on as long as its connections.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { runInNewContext } from 'node:vm';
import { Worker } from 'node:worker_threads';
import { setFlagsFromString } from 'node:v8';
import { after, before, describe, it } from 'node:test';
import {
  alpnWire, loadNativeTls, nativeTlsError, newTlsConn, newTlsContext, TLS_BAD_ARGS, TLS_CLOSED, TLS_ERROR, TLS_EVENTS,
  TLS_HANDSHAKE_DONE, TLS_PEER_CLOSED, versionNumber, type NativeTlsConn, type NativeTlsContext, type NativeTlsContextOptions, type NativeTlsEvents,
} from '../../src/tls/native_engine.js';
import { MemStream } from '../../src/app/http11/mem_stream.js';
import { createTlsStream, type TlsEngine } from '../../src/tls/engine.js';
import { NativeTlsStream } from '../../src/tls/native_tls_stream.js';
import { TlsStream } from '../../src/tls/tls_stream.js';
import { hasTool, makePki, type TestPki } from './certs.js';

const skip = loadNativeTls() === null ? nativeTlsError() : !hasTool('openssl') ? 'openssl missing' : false;

/** Moves every byte between the two until neither has anything to say; returns what each read. */
function shuttle(a: NativeTlsConn, b: NativeTlsConn, log: string[] = [], onEvents?: (name: 'a' | 'b', e: NativeTlsEvents) => void): { a: string; b: string } {
  const buf = new Uint8Array(64 * 1024);
  const got = { a: '', b: '' };
  for (let round = 0; round < 100; round++) {
    for (const [x, name] of [[a, 'a'], [b, 'b']] as const) {
      for (;;) {
        const r = x.read(buf, 0, buf.length);
        if (r > 0) got[name] += Buffer.from(buf.subarray(0, r)).toString('latin1');
        else if (r === TLS_EVENTS) {
          const e = x.events();
          onEvents?.(name, e);
        }
        else if (r === TLS_HANDSHAKE_DONE) log.push(`${name} done`);
        else if (r === 0) break;
        else {
          log.push(`${name} ${r}`);
          break;
        }
      }
    }
    let moved = 0;
    for (const [from, to] of [[a, b], [b, a]] as const) {
      for (let k; (k = from.pull(buf, 0, buf.length)) > 0; moved += k) assert.equal(to.feed(buf, 0, k), k);
    }
    if (moved === 0) break;
  }
  return got;
}

/** Marks a GC: the engine must not care when JS objects go. */
function gc(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

describe('native TLS engine surface', { skip }, () => {
  let pki: TestPki;
  let srvOpts: NativeTlsContextOptions;
  let server: NativeTlsContext;
  let client: NativeTlsContext;
  before(() => {
    pki = makePki() as TestPki;
    srvOpts = { server: true, cert: fs.readFileSync(pki.cert, 'latin1'), key: fs.readFileSync(pki.key, 'latin1'), alpn: alpnWire(['h2', 'http/1.1']) };
    server = newTlsContext(srvOpts);
    client = newTlsContext({ server: false, verify: true, ca: fs.readFileSync(pki.ca, 'latin1'), alpn: alpnWire(['http/1.1']) });
  });
  after(() => fs.rmSync(pki.dir, { recursive: true, force: true }));

  it('handshakes, negotiates ALPN and moves data both ways, with 1-byte reads too', () => {
    const s = newTlsConn(server, {});
    const c = newTlsConn(client, { servername: 'localhost', verifyHost: 'localhost' });
    const log: string[] = [];
    shuttle(c, s, log);
    assert.deepEqual(log.sort(), ['a done', 'b done']);
    const ci = c.info();
    assert.equal(ci.version, 'TLSv1.3');
    assert.equal(ci.alpn, 'http/1.1');
    assert.equal(ci.reused, false);
    assert.equal(s.info().servername, 'localhost');
    const msg = Buffer.from('x'.repeat(100_000));
    assert.equal(c.write(msg, 0, msg.length), msg.length);
    assert.equal(s.write(msg, 5, 10), 10);
    const got = shuttle(c, s);
    assert.equal(got.b.length, 100_000);
    assert.equal(got.a, 'xxxxxxxxxx');
    // A caller's buffer of one byte still gets every byte, one call each.
    c.write(Buffer.from('hello'), 0, 5);
    const one = new Uint8Array(1);
    const buf = new Uint8Array(4096);
    for (let k; (k = c.pull(buf, 0, buf.length)) > 0;) s.feed(buf, 0, k);
    let text = '';
    while (s.read(one, 0, 1) === 1) text += String.fromCharCode(one[0]);
    assert.equal(text, 'hello');
    // close_notify: the peer reads TLS_PEER_CLOSED, and keeps answering it.
    assert.equal(c.shutdown(), 0);
    const log2: string[] = [];
    shuttle(c, s, log2);
    assert.deepEqual(log2, ['b -2']);
    assert.equal(s.read(buf, 0, 10), TLS_PEER_CLOSED);
    c.close();
    s.close();
  });

  it('bad arguments: TypeError at setup, TLS_BAD_ARGS on the data path', () => {
    const ctor = loadNativeTls()?.TlsConn as unknown as new (...a: unknown[]) => NativeTlsConn;
    assert.throws(() => new ctor({}, {}), TypeError);
    assert.throws(() => new ctor(), TypeError);
    assert.throws(() => newTlsContext({ server: 'yes' } as unknown as NativeTlsContextOptions), TypeError);
    assert.throws(() => newTlsContext({ server: true, alpn: [1, 2] as unknown as Uint8Array }), TypeError);
    assert.throws(() => newTlsContext({ server: true, cert: 'not a certificate' }), /bad certificate/);
    assert.throws(() => newTlsContext({ server: true, ticketKeys: new Uint8Array(48) }), /ticketKeys must be 80 bytes/);
    assert.throws(() => newTlsContext({ server: false, minVersion: 0x0304, maxVersion: 0x0303, ciphers: 'NOPE' }), /TlsContext/);
    assert.throws(() => newTlsConn(client, { servername: 5 as unknown as string }), TypeError);
    assert.throws(() => server.addSni('x', {} as NativeTlsContext), TypeError);
    assert.throws(() => server.addSni('x', client), TypeError);
    const c = newTlsConn(client, {});
    const u8 = new Uint8Array(8);
    const call = c.read as unknown as (...a: unknown[]) => number;
    assert.equal(call.call(c, 'text', 0, 1), TLS_BAD_ARGS);
    assert.equal(call.call(c, new Uint16Array(8), 0, 1), TLS_BAD_ARGS);
    assert.equal(call.call(c, u8), TLS_BAD_ARGS);
    assert.equal(c.read(u8, 4, 5), TLS_BAD_ARGS);
    assert.equal(c.read(u8, -1, 2), TLS_BAD_ARGS);
    assert.equal(c.read(u8, 0, 0), TLS_BAD_ARGS);
    assert.equal(c.feed(u8, 0, 9), TLS_BAD_ARGS);
    assert.equal(c.write(u8, Number.NaN, 1), TLS_BAD_ARGS);
    assert.equal(c.pull(u8, 8, 1), TLS_BAD_ARGS);
    c.close();
  });

  it('a closed connection answers TLS_CLOSED, and closing twice is harmless', () => {
    const c = newTlsConn(client, {});
    c.close();
    c.close();
    const u8 = new Uint8Array(8);
    for (const f of [c.feed, c.read, c.write, c.pull]) assert.equal(f.call(c, u8, 0, 8), TLS_CLOSED);
    assert.equal(c.shutdown(), TLS_CLOSED);
    assert.equal(c.pending(), 0);
    assert.deepEqual(c.info(), {});
  });

  it('malformed records: a fatal error with a reason and an alert, then the same error again', () => {
    const s = newTlsConn(server, {});
    const junk = Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.equal(s.feed(junk, 0, junk.length), junk.length);
    const buf = new Uint8Array(4096);
    assert.equal(s.read(buf, 0, buf.length), TLS_ERROR);
    assert.match(s.lastError(), /http request/i);
    assert.equal(s.read(buf, 0, buf.length), TLS_ERROR);
    assert.equal(s.write(buf, 0, 10), TLS_ERROR);
    s.close();
    // A handshake record whose message is cut short: decode_error, sent as an alert (RFC 8446 §6.2).
    const h = newTlsConn(server, {});
    const short = Uint8Array.of(22, 3, 1, 0, 5, 1, 0, 0, 1, 0);
    h.feed(short, 0, short.length);
    assert.equal(h.read(buf, 0, buf.length), TLS_ERROR);
    assert.notEqual(h.lastError(), '');
    const k = h.pull(buf, 0, buf.length);
    assert.ok(k >= 7 && buf[0] === 21, 'an alert record (content type 21) goes out');
    h.close();
    // Random records after a valid header, many seeds: errors, never a crash.
    let seed = 12345;
    const rnd = (): number => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
    for (let i = 0; i < 200; i++) {
      const t = newTlsConn(server, {});
      const len = 5 + (rnd() % 200);
      const rec = new Uint8Array(len).map(rnd);
      rec[0] = [22, 23, 21, 20][i % 4];
      rec[1] = 3;
      rec[2] = i % 5;
      t.feed(rec, 0, len);
      const r = t.read(buf, 0, buf.length);
      assert.ok(r === TLS_ERROR || r === 0, `seed ${i}: ${r}`);
      t.close();
    }
  });

  it('a tampered application record fails the MAC check', () => {
    const s = newTlsConn(server, {});
    const c = newTlsConn(client, { servername: 'localhost' });
    shuttle(c, s);
    const buf = new Uint8Array(4096);
    c.write(Buffer.from('secret'), 0, 6);
    const k = c.pull(buf, 0, buf.length);
    buf[k - 1] ^= 1;
    s.feed(buf, 0, k);
    assert.equal(s.read(buf, 0, buf.length), TLS_ERROR);
    assert.match(s.lastError(), /bad record mac|decrypt/i);
    s.close();
    c.close();
  });

  it('verification against the wrong name fails with the reason', () => {
    const s = newTlsConn(server, {});
    const c = newTlsConn(client, { servername: 'localhost', verifyHost: 'not-localhost' });
    const log: string[] = [];
    shuttle(c, s, log);
    assert.ok(log.includes('a -1'), log.join());
    assert.match(c.lastError(), /certificate verify failed: hostname mismatch/);
    assert.notEqual(s.info().handshakeDone, true);
    assert.match(s.lastError(), /alert/i);
  });

  /** A new client connection on `ctx` under session key `key`, shuttled through its handshake with the server; the sessions it was handed. */
  function handshake(ctx: NativeTlsContext, key: string): { c: NativeTlsConn; s: NativeTlsConn; sessions: number } {
    const s = newTlsConn(server, {});
    const c = newTlsConn(ctx, { servername: 'localhost', sessionKey: key });
    let sessions = 0;
    // TLS 1.3 tickets come after the handshake, read as application data would be.
    shuttle(c, s, [], (name, e) => {
      if (name === 'a') sessions += e.sessionsNew;
    });
    return { c, s, sessions };
  }

  it('resumes by server key from the sessions its context kept; another key has none: a full handshake', () => {
    const resuming = newTlsContext({ server: false, verify: true, ca: fs.readFileSync(pki.ca, 'latin1'), alpn: alpnWire(['http/1.1']), resume: true });
    const first = handshake(resuming, 'a');
    assert.equal(first.c.info().reused, false);
    assert.equal(first.sessions, 2, "OpenSSL's server sends two TLS 1.3 tickets, both kept");
    const again = handshake(resuming, 'a');
    assert.equal(again.c.info().reused, true);
    assert.equal(again.s.info().reused, true);
    const other = handshake(resuming, 'b');
    assert.equal(other.c.info().handshakeDone, true);
    assert.equal(other.c.info().reused, false);
    for (const h of [first, again, other]) for (const x of [h.s, h.c]) x.close();
  });

  it('a client context without resume keeps no session: the tickets are read and dropped', () => {
    const first = handshake(client, 'a');
    assert.equal(first.c.info().handshakeDone, true);
    assert.equal(first.sessions, 0);
    const again = handshake(client, 'a');
    assert.equal(again.c.info().reused, false);
    for (const h of [first, again]) for (const x of [h.s, h.c]) x.close();
  });

  it('SNI picks the context by name; contexts and connections may be dropped in any order', () => {
    const base = newTlsContext(srvOpts);
    base.addSni('Other.Test', newTlsContext({ ...srvOpts, cert: fs.readFileSync(pki.cert2, 'latin1'), key: fs.readFileSync(pki.key2, 'latin1') }));
    const names: string[] = [];
    for (const name of ['other.test', 'unknown.test']) {
      const s = newTlsConn(base, {});
      const c = newTlsConn(newTlsContext({ server: false }), { servername: name });
      gc(); // the client context has no JS reference left: its connection keeps it
      shuttle(c, s);
      names.push(c.info().peerSubject ?? '');
      assert.throws(() => base.addSni('late.test', base), /already has connections/);
    }
    assert.deepEqual(names, ['/CN=localhost-2', '/CN=localhost']);
    // Connections never closed, then collected: the finalizer frees them.
    for (let i = 0; i < 500; i++) shuttle(newTlsConn(newTlsContext({ server: false }), {}), newTlsConn(base, {}));
    gc();
  });

  it('works in worker threads, each with its own JS environment, at the same time', async () => {
    // Each worker handshakes a pair of its own and reports the version; the addon's
    // OpenSSL indices are shared by all environments.
    const code = `
      const { parentPort, workerData: w } = require('node:worker_threads');
      import(w.url).then((m) => {
        const out = [];
        for (let i = 0; i < 20; i++) {
          const s = m.newTlsConn(m.newTlsContext({ server: true, cert: w.cert, key: w.key }), {});
          const c = m.newTlsConn(m.newTlsContext({ server: false }), {});
          const buf = new Uint8Array(65536);
          for (let round = 0; round < 10; round++) {
            for (const [a, b] of [[c, s], [s, c]]) {
              for (let r; (r = a.read(buf, 0, buf.length)) !== 0 && r !== m.TLS_ERROR;) if (r === m.TLS_EVENTS) a.events();
              for (let k; (k = a.pull(buf, 0, buf.length)) > 0;) b.feed(buf, 0, k);
            }
          }
          const ci = c.info();
          out.push(ci.handshakeDone + ' ' + ci.version + ' ' + s.info().handshakeDone);
          c.close();
          s.close();
        }
        parentPort.postMessage(out);
      });`;
    const url = new URL('../../src/tls/native_engine.js', import.meta.url).href;
    const runs = [0, 1].map(() => new Promise<string[]>((resolve, reject) => {
      const w = new Worker(code, { eval: true, workerData: { url, cert: srvOpts.cert, key: srvOpts.key } });
      w.once('message', resolve);
      w.once('error', reject);
    }));
    for (const versions of await Promise.all(runs)) assert.deepEqual(versions, new Array(20).fill('true TLSv1.3 true'));
  });

  it('engine choice and helpers reject bad input with TypeError', () => {
    assert.throws(() => createTlsStream('rust' as TlsEngine, new MemStream(), {}), TypeError);
    assert.ok(createTlsStream('native', new MemStream(), {}) instanceof NativeTlsStream);
    assert.ok(createTlsStream('node', new MemStream(), {}) instanceof TlsStream);
    assert.deepEqual([...alpnWire(['h2', 'http/1.1'])], [2, 0x68, 0x32, 8, ...Buffer.from('http/1.1')]);
    assert.throws(() => alpnWire(['']), TypeError);
    assert.throws(() => versionNumber('SSLv3' as 'TLSv1.2'), TypeError);
  });

  it('key log lines come out as events, in NSS format', () => {
    const s = newTlsConn(newTlsContext({ ...srvOpts, keylog: true }), {});
    const c = newTlsConn(newTlsContext({ server: false, keylog: true, maxVersion: 0x0303 }), {});
    const lines = { a: '', b: '' };
    shuttle(c, s, [], (name, e) => (lines[name] += e.keylog ?? ''));
    assert.match(lines.a, /^CLIENT_RANDOM [0-9a-f]{64} [0-9a-f]{96}\n$/);
    assert.equal(lines.b, lines.a, 'both ends log the same secret');
  });
});
