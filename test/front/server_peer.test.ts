/**
 * `vaigai --server` (and the TCP sink and source) answering the kernel's
 * clients in namespaces this file creates (prefix vgfr-, 198.18.6.0/24):
 * curl gets exact /bytes/<n> bodies over HTTPS and HTTP, ab runs its requests
 * (connection per request and keep-alive) without a failure, a 20 MB upload
 * to the sink hashes the same on both ends, and the source's bytes arrive.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_PATTERN } from '../../src/app/http11/server.js';
import { SCAPY_PYTHON } from '../helpers/netns.js';
import { FrontLab, frontSkipReason, sha256Hex } from './lab.js';

const PEER_IP = '198.18.6.1';
const GEN_IP = '198.18.6.2';

function patternBody(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = DEFAULT_PATTERN[i % DEFAULT_PATTERN.length];
  return b;
}

/** ab's complete, failed and non-2xx counts. */
function abResult(out: string): { complete: number; failed: number; non2xx: number } {
  const num = (re: RegExp): number => Number(re.exec(out)?.[1] ?? -1);
  return {
    complete: num(/Complete requests:\s+(\d+)/),
    failed: num(/Failed requests:\s+(\d+)/),
    non2xx: /Non-2xx responses/.test(out) ? num(/Non-2xx responses:\s+(\d+)/) : 0,
  };
}

/** The body curl got (from `ns`, with `args`), through a file: stdout pipes are bounded. */
function curlBytes(f: FrontLab, ns: string, args: string[]): Buffer {
  const out = join(f.dir, 'curl.out');
  f.lab.run(ns, 'curl', ['-s', '-f', '-m', '30', '-o', out, ...args]);
  const b = readFileSync(out);
  rmSync(out);
  return b;
}

test('vaigai --server answers curl and ab over HTTPS and HTTP; TCP sink and source', { timeout: 300_000 }, async (t) => {
  const skip = await frontSkipReason(['curl', 'ab', 'ethtool', 'openssl']);
  if (skip !== null) return t.skip(skip);
  const f = new FrontLab('vgfr-');
  t.after(() => f.cleanup());
  const { gen, peer, genIf } = f.pair(PEER_IP);
  const base = ['--port', `af_packet:iface=${genIf}`, '--src-ip', GEN_IP, '--duration', '200'];

  await t.test('HTTPS: curl verifies the certificate and gets exact /bytes/<n>; ab and ab -k without failures', async () => {
    const pki = f.cert('vaigai.test');
    const v = await f.startVaigai(gen, [...base, '--server', '--tls', '--cert', pki.cert, '--key', pki.key]);
    try {
      for (const n of [0, 1, 1000, 1_000_000]) {
        const body = curlBytes(f, peer, ['--cacert', pki.cert, '--resolve', `vaigai.test:443:${GEN_IP}`, `https://vaigai.test/bytes/${n}`]);
        assert.equal(sha256Hex(body), sha256Hex(patternBody(n)), `body of /bytes/${n}`);
      }
      // Both versions: curl pinned to TLS 1.2, then to 1.3.
      for (const pin of [['--tls-max', '1.2'], ['--tlsv1.3']]) {
        const body = curlBytes(f, peer, [...pin, '--cacert', pki.cert, '--resolve', `vaigai.test:443:${GEN_IP}`, 'https://vaigai.test/bytes/20000']);
        assert.equal(sha256Hex(body), sha256Hex(patternBody(20_000)), pin.join(' '));
      }
      const a = abResult(f.lab.run(peer, 'ab', ['-s', '20', '-n', '300', '-c', '10', `https://${GEN_IP}/bytes/100`]));
      assert.deepEqual(a, { complete: 300, failed: 0, non2xx: 0 });
      const k = abResult(f.lab.run(peer, 'ab', ['-s', '20', '-k', '-n', '2000', '-c', '20', `https://${GEN_IP}/bytes/100`]));
      assert.deepEqual(k, { complete: 2000, failed: 0, non2xx: 0 });
    } finally {
      assert.equal(await v.stop(), 0, v.out);
    }
    assert.match(v.out, /^app: accepted=\d+ requests=\d+ responses=\d+ .*tlsHandshakes=\d+/m, v.out);
    assert.doesNotMatch(v.out, /tlsFailures=/, v.out);
  });

  await t.test('HTTP: configured body size, exact /bytes/<n>, ab -n 2000 -c 20 and ab -k without failures', async () => {
    const v = await f.startVaigai(gen, [...base, '--server', '--body-size', '777']);
    try {
      const out = f.lab.run(peer, 'curl', ['-s', '-m', '10', '-o', '/dev/null', '-w', '%{http_code} %{size_download}', `http://${GEN_IP}/`]);
      assert.equal(out, '200 777');
      assert.equal(sha256Hex(curlBytes(f, peer, [`http://${GEN_IP}/bytes/5000000`])), sha256Hex(patternBody(5_000_000)));
      const a = abResult(f.lab.run(peer, 'ab', ['-s', '20', '-n', '2000', '-c', '20', `http://${GEN_IP}/bytes/100`]));
      assert.deepEqual(a, { complete: 2000, failed: 0, non2xx: 0 });
      const k = abResult(f.lab.run(peer, 'ab', ['-s', '20', '-k', '-n', '2000', '-c', '20', `http://${GEN_IP}/bytes/100`]));
      assert.deepEqual(k, { complete: 2000, failed: 0, non2xx: 0 });
    } finally {
      assert.equal(await v.stop(), 0, v.out);
    }
    assert.match(v.out, /^app: accepted=\d+ requests=4\d{3} responses=4\d{3} /m, v.out);
  });

  await t.test('TCP sink hashes a 20 MB upload as the sender did; the source sends its bytes and closes', async (st) => {
    if (!existsSync(SCAPY_PYTHON)) return st.skip(`${SCAPY_PYTHON} is missing`);
    const file = f.randomFile('up.bin', 20 << 20);
    const sink = await f.startVaigai(gen, [...base, '--tcp-sink', '--sha256']);
    try {
      f.lab.run(peer, SCAPY_PYTHON, ['-c', `
import socket
s = socket.create_connection(('${GEN_IP}', 9), timeout=30)
s.sendall(open('${file.path}', 'rb').read())
s.shutdown(socket.SHUT_WR)
assert s.recv(1) == b''
`]);
    } finally {
      assert.equal(await sink.stop(), 0, sink.out);
    }
    assert.match(sink.out, new RegExp(`connection closed after ${20 << 20} bytes, sha256 ${file.sha256}`), sink.out);

    const source = await f.startVaigai(gen, [...base, '--tcp-source', String(3_000_000)]);
    try {
      const got = f.lab.run(peer, SCAPY_PYTHON, ['-c', `
import hashlib, socket
s = socket.create_connection(('${GEN_IP}', 19), timeout=30)
h, n = hashlib.sha256(), 0
while True:
    d = s.recv(65536)
    if not d: break
    h.update(d); n += len(d)
print(n, h.hexdigest())
`]);
      assert.equal(got.trim(), `3000000 ${sha256Hex(patternBody(3_000_000))}`);
    } finally {
      assert.equal(await source.stop(), 0, source.out);
    }
  });
});
