/**
 * `vaigai --workers 2 --server`: the stack on two poll-mode worker threads
 * sharing one af_packet port (queues=2, fanout), driven as a user would. ab
 * from the kernel gets every request answered, both workers carry connections
 * (the --json file's per-worker counters), and SIGTERM ends the process cleanly.
 * HTTPS on two workers with --pcap and --sslkeylog: one capture per worker,
 * one key log appended to by both, tshark decrypts the merged captures.
 * Namespaces vgfw-, 198.18.11.0/24.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { netTestSkipReason } from '../helpers/netns.js';
import { FrontLab, frontSkipReason } from './lab.js';

const PEER_IP = '198.18.11.1';
const GEN_IPS = ['198.18.11.20', '198.18.11.21'];

test('vaigai --workers 2 --server answers ab on two workers and stops cleanly', { timeout: 180_000 }, async (t) => {
  const skip = await frontSkipReason(['ab', 'ethtool']);
  if (skip !== null) return t.skip(skip);
  const f = new FrontLab('vgfw-');
  t.after(() => f.cleanup());
  const { gen, peer, genIf } = f.pair(PEER_IP);
  const json = join(f.dir, 'run.json');
  const v = await f.startVaigai(gen, [
    '--port', `af_packet:iface=${genIf}`, '--src-ip', `${GEN_IPS[0]}-${GEN_IPS[1]}`,
    '--workers', '2', '--server', '--duration', '120', '--json', json,
  ]);
  try {
    // Many client ports: fanout hashes the flows across both queues.
    for (const ip of GEN_IPS) {
      const out = f.lab.run(peer, 'ab', ['-s', '20', '-n', '1000', '-c', '10', `http://${ip}/bytes/100`]);
      assert.match(out, /Complete requests:\s+1000\b/, `ab against ${ip}`);
      assert.match(out, /Failed requests:\s+0\b/, `ab against ${ip}`);
    }
  } finally {
    assert.equal(await v.stop(), 0, 'vaigai exits 0 after SIGTERM');
  }
  const report = JSON.parse(readFileSync(json, 'utf8')) as { perWorker: { app: { accepted: number; requests: number } }[] };
  assert.equal(report.perWorker.length, 2);
  const accepted = report.perWorker.map((w) => w.app.accepted);
  assert.ok(accepted.every((n) => n > 0), `both workers accepted connections: ${accepted.join(', ')}`);
  // ab may open a few connections beyond -n that it then closes unused: count requests, not connections.
  const requests = report.perWorker.map((w) => w.app.requests);
  assert.equal(requests[0] + requests[1], 2000, `every request answered once: ${requests.join(' + ')}`);
});

test('vaigai --workers 2 --server --tls with --pcap and --sslkeylog: tshark decrypts what both workers served', { timeout: 180_000 }, async (t) => {
  const skip = (await frontSkipReason(['curl', 'ethtool', 'openssl'])) ?? netTestSkipReason(['tshark', 'mergecap']);
  if (skip !== null) return t.skip(skip);
  const f = new FrontLab('vgfw-');
  t.after(() => f.cleanup());
  const { gen, peer, genIf } = f.pair(PEER_IP);
  const pki = f.cert('vaigai.test');
  const pcap = join(f.dir, 'srv.pcap');
  const keylog = join(f.dir, 'srv.keys');
  const v = await f.startVaigai(gen, [
    '--port', `af_packet:iface=${genIf}`, '--src-ip', GEN_IPS[0], '--workers', '2', '--server', '--tls', '--cert', pki.cert, '--key', pki.key,
    '--duration', '120', '--pcap', pcap, '--sslkeylog', keylog,
  ]);
  const N = 12;
  try {
    // One connection per curl, each from its own port: fanout spreads them over both queues.
    for (let i = 0; i < N; i++) {
      const out = f.lab.run(peer, 'curl', ['-sk', '-m', '10', '-o', '/dev/null', '-w', '%{http_code}', `https://${GEN_IPS[0]}/bytes/${1000 + i}`]);
      assert.equal(out, '200');
    }
  } finally {
    assert.equal(await v.stop(), 0, 'vaigai exits 0 after SIGTERM');
  }
  const files = [0, 1].map((w) => join(f.dir, `srv.w${w}.pcap`));
  const counts = files.map((file, w) => {
    const m = new RegExp(`^worker ${w}: .*pcap (\\d+) frames to ${file.replace(/[.]/g, '\\.')}$`, 'm').exec(v.out);
    assert.ok(m !== null, v.out);
    return Number(m[1]);
  });
  assert.ok(counts.every((n) => n > 0), `both workers captured frames: ${counts.join('/')}`);
  const lines = readFileSync(keylog, 'utf8').split('\n').filter((l) => l !== '');
  assert.match(v.out, new RegExp(`^sslkeylog: ${lines.length} secrets to `, 'm'), v.out);
  const merged = join(f.dir, 'srv.merged.pcap');
  f.lab.run(null, 'mergecap', ['-w', merged, ...files]);
  const uris = f.lab
    .run(null, 'tshark', ['-r', merged, '-o', `tls.keylog_file:${keylog}`, '-Y', 'http.request', '-T', 'fields', '-e', 'http.request.uri'])
    .split('\n')
    .filter((l) => l !== '');
  assert.deepEqual(uris.sort(), Array.from({ length: N }, (_, i) => `/bytes/${1000 + i}`).sort());
});
