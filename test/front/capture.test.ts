/**
 * `--pcap` and `--sslkeylog` of the `vaigai` command, read back by tshark, in
 * namespaces this file creates (prefix vgcl-, 198.18.10.0/24): the capture of
 * a plain HTTP exchange with curl holds the SYN, the request and the response,
 * every frame the port counted and no malformed or checksum-bad frame; with
 * HTTPS the key log lets tshark decrypt both TLS 1.2 and 1.3 sessions, on the
 * server side (--sslkeylog) and on the client side against nginx (the
 * SSLKEYLOGFILE variable).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { netTestSkipReason } from '../helpers/netns.js';
import { exited } from '../helpers/netns.js';
import { FrontLab, MAIN, Proc, frontSkipReason } from './lab.js';

const PEER_IP = '198.18.10.1';
const GEN_IP = '198.18.10.2';

/** tshark with TCP and IP checksum validation on (Wireshark leaves it off by default). */
function tshark(f: FrontLab, args: string[]): string {
  return f.lab.run(null, 'tshark', ['-o', 'tcp.check_checksum:TRUE', '-o', 'ip.check_checksum:TRUE', ...args]);
}

/** One field of the frames matching `filter`, one line each. */
function fields(f: FrontLab, file: string, filter: string, field: string, extra: string[] = []): string[] {
  return tshark(f, ['-r', file, ...extra, '-Y', filter, '-T', 'fields', '-e', field]).split('\n').filter((l) => l !== '');
}

/** What `tshark -z expert` reports as a problem: an Errors section, malformed frames, bad checksums. */
function expertProblems(f: FrontLab, file: string, extra: string[] = []): string[] {
  const out = tshark(f, ['-r', file, ...extra, '-q', '-z', 'expert']);
  return out.split('\n').filter((l) => /^Errors \(|malformed|checksum/i.test(l));
}

/** The port's frame counters from the --json file. */
function portFrames(path: string): number {
  const j = JSON.parse(readFileSync(path, 'utf8')) as { port: { rxFrames: number; txFrames: number } };
  return j.port.rxFrames + j.port.txFrames;
}

test('vaigai --pcap and --sslkeylog: tshark reads the capture and decrypts it', { timeout: 240_000 }, async (t) => {
  const skip = await frontSkipReason(['curl', 'tshark', 'ethtool', 'openssl']);
  if (skip !== null) return t.skip(skip);
  const f = new FrontLab('vgcl-');
  t.after(() => f.cleanup());
  const { gen, peer, genIf } = f.pair(PEER_IP);
  const base = ['--port', `af_packet:iface=${genIf}`, '--src-ip', GEN_IP, '--duration', '120'];

  await t.test('HTTP server: the SYN, the request and the response, every counted frame, nothing malformed', async () => {
    const pcap = join(f.dir, 'http.pcap');
    const json = join(f.dir, 'http.json');
    const v = await f.startVaigai(gen, [...base, '--server', '--pcap', pcap, '--json', json]);
    try {
      const out = f.lab.run(peer, 'curl', ['-s', '-m', '10', '-o', '/dev/null', '-w', '%{http_code} %{size_download}', `http://${GEN_IP}/bytes/30000`]);
      assert.equal(out, '200 30000');
    } finally {
      assert.equal(await v.stop(), 0, v.out);
    }
    const written = Number(/^pcap: (\d+) frames to /m.exec(v.out)?.[1] ?? -1);
    assert.ok(written > 0, v.out);
    assert.equal(portFrames(json), written, 'the capture holds every frame the port received and sent');
    assert.equal(fields(f, pcap, 'frame', 'frame.number').length, written, 'tshark reads every record');
    assert.deepEqual(fields(f, pcap, 'tcp.flags.syn == 1 && tcp.flags.ack == 0', 'ip.src'), [PEER_IP], "curl's SYN");
    assert.deepEqual(fields(f, pcap, 'tcp.flags.syn == 1 && tcp.flags.ack == 1', 'ip.src'), [GEN_IP], 'our SYN-ACK');
    assert.deepEqual(fields(f, pcap, 'http.request', 'http.request.uri'), ['/bytes/30000']);
    assert.deepEqual(fields(f, pcap, 'http.response', 'http.response.code'), ['200']);
    assert.ok(fields(f, pcap, 'arp.opcode == 2', 'arp.src.proto_ipv4').includes(GEN_IP), 'our ARP reply is captured too');
    assert.deepEqual(expertProblems(f, pcap), []);
  });

  await t.test('HTTPS server with --sslkeylog: tshark decrypts TLS 1.2 and 1.3 and shows the request URIs', async () => {
    const pki = f.cert('vaigai.test');
    const pcap = join(f.dir, 'https.pcap');
    const keylog = join(f.dir, 'server.keys');
    const v = await f.startVaigai(gen, [...base, '--server', '--tls', '--cert', pki.cert, '--key', pki.key, '--pcap', pcap, '--sslkeylog', keylog]);
    try {
      for (const [pin, n] of [[['--tls-max', '1.2'], 1212], [['--tlsv1.3'], 1313]] as const) {
        const out = f.lab.run(peer, 'curl', [
          '-s', '-m', '10', '-o', '/dev/null', '-w', '%{http_code} %{size_download}', ...pin,
          '--cacert', pki.cert, '--resolve', `vaigai.test:443:${GEN_IP}`, `https://vaigai.test/bytes/${n}`,
        ]);
        assert.equal(out, `200 ${n}`);
      }
    } finally {
      assert.equal(await v.stop(), 0, v.out);
    }
    const keys = readFileSync(keylog, 'utf8');
    assert.match(keys, /^CLIENT_RANDOM [0-9a-f]{64} [0-9a-f]{96}$/m, `the TLS 1.2 master secret: ${v.out}`);
    assert.match(keys, /^CLIENT_TRAFFIC_SECRET_0 [0-9a-f]{64} [0-9a-f]+$/m, 'the TLS 1.3 traffic secrets');
    assert.equal(fields(f, pcap, 'http.request', 'http.request.uri').length, 0, 'encrypted without the key log');
    const decrypt = ['-o', `tls.keylog_file:${keylog}`];
    assert.deepEqual(fields(f, pcap, 'http.request', 'http.request.uri', decrypt), ['/bytes/1212', '/bytes/1313']);
    assert.deepEqual(fields(f, pcap, 'http.response', 'http.content_length', decrypt), ['1212', '1313']);
    assert.deepEqual(expertProblems(f, pcap, decrypt), []);
  });

  await t.test('HTTPS client with SSLKEYLOGFILE: tshark decrypts its session with nginx', async (st) => {
    const noNginx = netTestSkipReason(['nginx']);
    if (noNginx !== null) return st.skip(noNginx);
    const pki = f.cert('nginx.test');
    f.randomFile('small.bin', 5000);
    await f.nginx(peer, PEER_IP, pki);
    const pcap = join(f.dir, 'client.pcap');
    const keylog = join(f.dir, 'client.keys');
    // SSLKEYLOGFILE through env(1): the lab spawns commands, not environments.
    const p = new Proc(f.lab.spawn(gen, 'env', [
      `SSLKEYLOGFILE=${keylog}`, process.execPath, MAIN, '--port', `af_packet:iface=${genIf}`, '--src-ip', GEN_IP,
      '--client', `https://${PEER_IP}:8443/small.bin`, '--insecure', '--requests', '2', '--pcap', pcap,
    ]));
    assert.equal(await exited(p.child, 60_000, 'vaigai --client'), 0, p.out);
    await new Promise((r) => setTimeout(r, 100));
    assert.match(p.out, /requests +2 sent, 2 answered/, p.out);
    assert.match(p.out, /^sslkeylog: [1-9]\d* secrets to /m, p.out);
    const decrypt = ['-o', `tls.keylog_file:${keylog}`];
    assert.deepEqual(fields(f, pcap, 'http.request', 'http.request.uri', decrypt), ['/small.bin', '/small.bin']);
    assert.deepEqual(fields(f, pcap, 'http.response', 'http.response.code', decrypt), ['200', '200']);
    assert.deepEqual(expertProblems(f, pcap, decrypt), []);
  });
});
