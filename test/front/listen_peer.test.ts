/**
 * `vaigai --listen`, many listeners in one process, driven by real clients
 * from a kernel namespace this file creates (prefix vgmd2-, 198.18.65.0/24):
 * curl over HTTP and HTTPS at once, nc for TCP echo (the bytes come back
 * exactly, RFC 862), discard (counted, RFC 863) and chargen (the RFC 864
 * pattern), socat for UDP echo and discard; a UDP port nobody listens on
 * answers port unreachable. Each listener's counters are checked by name.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FrontLab, frontSkipReason, sha256Hex } from './lab.js';

const PEER_IP = '198.18.65.1';
const GEN_IP = '198.18.65.10';

/** RFC 864's character generator stream, first `n` bytes: lines of 72 of the 95 printing characters, each one further, CR LF. */
function chargen(n: number): Buffer {
  const ring = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join('');
  let s = '';
  for (let line = 0; s.length < n; line++) {
    const start = (line + 1) % 95;
    s += (ring + ring).slice(start, start + 72) + '\r\n';
  }
  return Buffer.from(s.slice(0, n), 'latin1');
}

test('--listen: HTTP, HTTPS, TCP echo, discard, chargen and UDP echo, discard in one process, against curl, nc and socat', { timeout: 180_000 }, async (t) => {
  const skip = await frontSkipReason(['curl', 'nc', 'socat', 'ethtool', 'openssl']);
  if (skip !== null) return t.skip(skip);
  const f = new FrontLab('vgmd2-');
  t.after(() => f.cleanup());
  const { gen, peer, genIf } = f.pair(PEER_IP);
  const pki = f.cert('vaigai.test');
  const json = join(f.dir, 'listen.json');
  const v = await f.startVaigai(gen, [
    '--port', `af_packet:iface=${genIf}`, '--src-ip', GEN_IP, '--cert', pki.cert, '--key', pki.key, '--json', json,
    '--listen', 'http:80', '--listen', 'https:443', '--listen', 'tcp:9:discard', '--listen', 'tcp:7:echo', '--listen', 'tcp:19:chargen',
    '--listen', 'udp:7:echo', '--listen', 'udp:9:discard',
  ]);
  t.after(() => v.stop());
  const sh = (script: string, input?: Buffer): Buffer => execFileSync('ip', ['netns', 'exec', peer, 'bash', '-c', script], { input, maxBuffer: 1 << 26 });

  await t.test('curl: HTTP on 80 and HTTPS on 443 from the same process', () => {
    const plain = sh(`curl -sS -m 10 http://${GEN_IP}/bytes/1000`);
    assert.equal(plain.length, 1000);
    const tls = sh(`curl -sS -m 10 --cacert ${pki.cert} --resolve vaigai.test:443:${GEN_IP} https://vaigai.test/bytes/2000`);
    assert.equal(tls.length, 2000);
    assert.deepEqual(tls.subarray(0, 1000), plain, 'the same body pattern over both');
  });

  const data = randomBytes(300_000);
  await t.test('nc to tcp:7:echo: 300 kB come back byte for byte', () => {
    const back = sh(`nc -N -w 10 ${GEN_IP} 7`, data);
    assert.equal(back.length, data.length);
    assert.equal(sha256Hex(back), sha256Hex(data));
  });

  await t.test('nc to tcp:9:discard: nothing comes back', () => {
    assert.equal(sh(`nc -N -w 10 ${GEN_IP} 9`, data.subarray(0, 100_000)).length, 0);
  });

  await t.test('nc to tcp:19:chargen: the RFC 864 pattern', () => {
    const got = sh(`nc -d -w 10 ${GEN_IP} 19 | head -c 20000`);
    assert.equal(got.length, 20000);
    assert.deepEqual(got, chargen(20000));
  });

  const dgram = randomBytes(1000);
  const dgramFile = join(f.dir, 'dgram.bin');
  writeFileSync(dgramFile, dgram);
  await t.test('socat to udp:7:echo: the datagram comes back', () => {
    const back = sh(`socat -t 2 - UDP4:${GEN_IP}:7 < ${dgramFile}`);
    assert.deepEqual(back, dgram);
  });

  await t.test('socat to udp:9:discard and to an unbound UDP port: nothing back, port unreachable from the unbound one', () => {
    assert.equal(sh(`socat -t 1 - UDP4:${GEN_IP}:9 < ${dgramFile}`).length, 0);
    // A connected UDP socket reports the port unreachable as ECONNREFUSED: socat fails.
    assert.throws(() => sh(`socat -t 1 - UDP4:${GEN_IP}:5555 < ${dgramFile}; sleep 0.5; socat -t 1 - UDP4:${GEN_IP}:5555 < ${dgramFile}`), /Connection refused/);
  });

  await t.test('the counters of each listener, by name', async () => {
    const code = await v.stop();
    assert.equal(code, 0, v.out);
    const out = JSON.parse(readFileSync(json, 'utf8')) as { app: Record<string, Record<string, number>>; udp: Record<string, number> };
    const a = out.app;
    assert.deepEqual(Object.keys(a), ['http:80', 'https:443', 'tcp:9:discard', 'tcp:7:echo', 'tcp:19:chargen', 'udp:7:echo', 'udp:9:discard']);
    assert.deepEqual([a['http:80'].requests, a['http:80'].responses, a['http:80'].tlsHandshakes], [1, 1, 0], v.out);
    assert.deepEqual([a['https:443'].requests, a['https:443'].responses, a['https:443'].tlsHandshakes], [1, 1, 1], v.out);
    assert.deepEqual(a['tcp:7:echo'], { accepted: 1, closed: 1, bytesIn: data.length, bytesOut: data.length }, v.out);
    assert.deepEqual(a['tcp:9:discard'], { accepted: 1, closed: 1, bytesIn: 100_000, bytesOut: 0 }, v.out);
    assert.equal(a['tcp:19:chargen'].accepted, 1, v.out);
    assert.ok(a['tcp:19:chargen'].bytesOut >= 20000, v.out);
    assert.deepEqual(a['udp:7:echo'], { datagramsIn: 1, datagramsOut: 1, bytesIn: 1000, bytesOut: 1000 }, v.out);
    assert.deepEqual(a['udp:9:discard'], { datagramsIn: 1, datagramsOut: 0, bytesIn: 1000, bytesOut: 0 }, v.out);
    assert.ok(out.udp.noPort >= 1, v.out);
  });
});
