/**
 * `vaigai --workers 2 --client`: the HTTP client load split over two poll-mode
 * workers sharing one af_packet port (queues=2, PACKET_FANOUT_HASH), against
 * nginx in a peer namespace, driven as a user would.
 *
 * Fanout hashes a reply to whichever queue its 4-tuple hashes to, not to the
 * worker that opened the connection; the workers pass such replies to the
 * owner of the destination port (src/net/flow_steer.ts). The --json counters
 * show it: frames steered out by one worker arrive at the other, no worker's
 * TCP resets a segment of a connection it does not have, and the totals are
 * the sums of the per-worker figures. HTTPS with --sslkeylog and --pcap: one
 * capture per worker, merged with mergecap, decrypted by tshark with the one
 * key log all workers appended to.
 * Namespaces vgwc-, 198.18.80.0/24.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { answered, FrontLab, frontSkipReason, printedSha } from './lab.js';

const PEER_IP = '198.18.80.2';
const GEN_IP = '198.18.80.1';

interface WorkerGroups {
  tcp: Record<string, number>;
  app: Record<string, number>;
}
interface RunJson {
  workers: number;
  app: { requests: number; responses: number; verify: { ok: number; failed: number }; latencyUs: { p50: number; max: number }; steering: { out: number; in: number; drops: number } };
  tcp: Record<string, number>;
  perWorker: WorkerGroups[];
}

const sum = (per: WorkerGroups[], k: string): number => per.reduce((n, w) => n + w.app[k], 0);

/** tshark's fields of the frames matching `filter`, one line each. */
function fields(f: FrontLab, file: string, filter: string, field: string, extra: string[] = []): string[] {
  return f.lab.run(null, 'tshark', ['-r', file, ...extra, '-Y', filter, '-T', 'fields', '-e', field]).split('\n').filter((l) => l !== '');
}

test('vaigai --workers 2 --client against nginx: exact totals, both workers loaded, replies steered to their owner', { timeout: 240_000 }, async (t) => {
  const skip = await frontSkipReason(['nginx', 'curl', 'ethtool', 'openssl', 'tshark', 'mergecap']);
  if (skip !== null) return t.skip(skip);
  const f = new FrontLab('vgwc-');
  t.after(() => f.cleanup());
  const { gen, peer, genIf } = f.pair(PEER_IP);
  const pki = f.cert('nginx.test');
  const body = f.randomFile('body.bin', 20_000);
  await f.nginx(peer, PEER_IP, pki);
  const base = ['--port', `af_packet:iface=${genIf}`, '--src-ip', GEN_IP, '--workers', '2'];

  await t.test('HTTP: --requests 1001 over 32 connections, every body verified, --json totals are the per-worker sums', async () => {
    const json = join(f.dir, 'http.json');
    const r = await f.vaigai(gen, [
      ...base, '--client', `http://${PEER_IP}:8080/body.bin`, '--connections', '32', '--requests', '1001',
      '--expect-sha256', body.sha256, '--sha256', '--json', json,
    ], 120_000);
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(answered(r.out), { sent: 1001, answered: 1001 }, r.out);
    assert.match(r.out, /^ {2}verify +1001 ok, 0 failed$/m, r.out);
    assert.equal(printedSha(r.out), body.sha256, r.out);
    const j = JSON.parse(readFileSync(json, 'utf8')) as RunJson;
    const per = j.perWorker;
    assert.equal(per.length, 2);
    assert.equal(j.app.responses, 1001);
    assert.equal(sum(per, 'responses'), j.app.responses, 'app.responses is the sum of the workers');
    assert.equal(sum(per, 'requests'), j.app.requests);
    assert.equal(sum(per, 'verifyOk'), j.app.verify.ok);
    assert.deepEqual(per.map((w) => w.app.requests), [501, 500], 'the requests split exactly');
    assert.ok(per.every((w) => w.app.responses > 0 && w.app.connects === 16), `both workers worked: ${per.map((w) => w.app.responses).join('/')}`);
    // With 32 connections fanout sends some replies to the other queue (all on their own queue: odds 2^-32).
    const out = per.map((w) => w.app.steeredOut);
    const inn = per.map((w) => w.app.steeredIn);
    t.diagnostic(`steered out ${out.join('/')}, in ${inn.join('/')}; responses ${per.map((w) => w.app.responses).join('/')}`);
    assert.ok(out[0] + out[1] > 0, 'fanout brought replies to the worker that did not open the connection');
    assert.deepEqual([inn[0], inn[1]], [out[1], out[0]], 'what one worker steered out the other took in');
    assert.equal(j.app.steering.drops, 0);
    for (const w of per) {
      assert.equal(w.tcp.noConnResets, 0, 'no worker saw a segment of a connection it does not own');
      assert.equal(w.tcp.rstIn, 0);
    }
    assert.ok(j.app.latencyUs.p50 > 0 && j.app.latencyUs.p50 <= j.app.latencyUs.max, 'merged latency percentiles');
  });

  await t.test('HTTPS: --sslkeylog and --pcap on two workers, tshark decrypts the merged captures', async () => {
    const pcap = join(f.dir, 'tls.pcap');
    const keylog = join(f.dir, 'tls.keys');
    const r = await f.vaigai(gen, [
      ...base, '--client', `https://${PEER_IP}:8443/body.bin`, '--insecure', '--connections', '4', '--requests', '8',
      '--conn-per-request', '--expect-sha256', body.sha256, '--pcap', pcap, '--sslkeylog', keylog,
    ], 120_000);
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(answered(r.out), { sent: 8, answered: 8 }, r.out);
    assert.match(r.out, /^ {2}verify +8 ok, 0 failed$/m, r.out);
    const files = [0, 1].map((w) => join(f.dir, `tls.w${w}.pcap`));
    for (const [w, file] of files.entries()) {
      const printed = new RegExp(`^worker ${w}: .*pcap (\\d+) frames to ${file.replace(/[.]/g, '\\.')}$`, 'm').exec(r.out);
      assert.ok(printed !== null, r.out);
      assert.equal(fields(f, file, 'frame', 'frame.number').length, Number(printed[1]), `tshark reads every record of ${file}`);
    }
    // 8 connections, one TLS session each: two secrets (TLS 1.2) or more (1.3) per session, whole lines.
    const lines = readFileSync(keylog, 'utf8').split('\n').filter((l) => l !== '');
    assert.ok(lines.length >= 8, `${lines.length} key log lines`);
    for (const l of lines) assert.match(l, /^[A-Z_0-9]+ [0-9a-f]{64} [0-9a-f]+$/, 'whole NSS key log lines');
    assert.match(r.out, new RegExp(`^sslkeylog: ${lines.length} secrets to `, 'm'), r.out);
    // A flow's frames can be in both files (fanout's queue for the replies): merge them, as the docs say.
    const merged = join(f.dir, 'tls.merged.pcap');
    f.lab.run(null, 'mergecap', ['-w', merged, ...files]);
    const decrypt = ['-o', `tls.keylog_file:${keylog}`];
    assert.deepEqual(fields(f, merged, 'http.request', 'http.request.uri', decrypt), Array(8).fill('/body.bin'));
    assert.deepEqual(fields(f, merged, 'http.response', 'http.response.code', decrypt), Array(8).fill('200'));
  });

  await t.test('dpdk: EAL arguments after -- open the port for the workers (net_af_packet, 2 queue pairs)', async (st) => {
    const native = await import('../../src/port/native.js');
    if (!native.nativeDrivers().includes('dpdk')) return st.skip(`dpdk driver not built: ${native.nativeLoadError() || 'libdpdk-dev missing'}`);
    const eal = ['--no-huge', '--no-shconf', '-m', '512', '--no-pci', '--no-telemetry', `--vdev=net_af_packet0,iface=${genIf},qpairs=2`];
    const r = await f.vaigai(gen, [
      '--port', 'dpdk', '--src-ip', GEN_IP, '--workers', '2', '--client', `http://${PEER_IP}:8080/body.bin`, '--connections', '8',
      '--requests', '200', '--expect-sha256', body.sha256, '--', ...eal,
    ], 120_000);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /^vaigai: dpdk .*; 2 workers/m, r.out);
    assert.deepEqual(answered(r.out), { sent: 200, answered: 200 }, r.out);
    assert.match(r.out, /^ {2}verify +200 ok, 0 failed$/m, r.out);
    for (const w of [0, 1]) assert.match(r.out, new RegExp(`^worker ${w}: .* 100 responses,`, 'm'), r.out);
  });
});
