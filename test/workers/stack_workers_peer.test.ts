/**
 * The stack on two poll-mode workers sharing one af_packet port (queues=2,
 * PACKET_FANOUT_HASH), against the Linux kernel in namespaces this file
 * creates and removes (prefix vgwk-, 198.18.8.0/24). The run is a child
 * process (test/workers/fixtures/run_child.js) stopped with SIGTERM, so the
 * tests also see that it stops on the signal and then exits by itself.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { WorkersRunResult } from '../../src/run/session.js';
import { nativeDrivers } from '../../src/port/native.js';
import { NetnsLab, netTestSkipReason } from '../helpers/netns.js';

const CHILD = fileURLToPath(new URL('./fixtures/run_child.js', import.meta.url));
const PEER_IP = '198.18.8.1';

function skipReason(tools: string[]): string | null {
  return netTestSkipReason(tools) ?? (nativeDrivers().includes('af_packet') ? null : 'the af_packet driver is not built');
}

/** Output of a child, resolved at its exit (stdout may still hold data at 'exit': wait for 'close'). */
function outputOf(child: ChildProcess): Promise<string> {
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve) => child.once('close', () => resolve(out)));
}

/** The worker run in a namespace: started, then stopped with SIGTERM. */
class WorkersRun {
  out = '';
  private readonly closed: Promise<number | null>;

  constructor(private readonly child: ChildProcess) {
    child.stdout?.on('data', (d: Buffer) => (this.out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (this.out += d.toString()));
    this.closed = new Promise((resolve) => child.once('close', (code) => resolve(code)));
  }

  static async start(lab: NetnsLab, ns: string, raw: Record<string, unknown>, workers: number): Promise<WorkersRun> {
    const r = new WorkersRun(lab.spawn(ns, process.execPath, [CHILD, JSON.stringify(raw), String(workers)]));
    const deadline = Date.now() + 20_000;
    while (!/^vaigai: .* mac [0-9a-f:]{17},/m.test(r.out)) {
      if (r.child.exitCode !== null || Date.now() > deadline) throw new Error(`the worker run did not start: ${r.out}`);
      await new Promise((res) => setTimeout(res, 50));
    }
    // Worker 0's gratuitous ARP and the first ticks run before the test sends.
    await new Promise((res) => setTimeout(res, 300));
    return r;
  }

  /** SIGTERM; the process must stop the workers and exit by itself (exit code 0) within 15 s. */
  async stop(): Promise<WorkersRunResult> {
    if (this.child.exitCode === null && this.child.pid !== undefined) this.child.kill('SIGTERM');
    const code = await Promise.race([this.closed, new Promise<string>((r) => setTimeout(() => r('timeout'), 15_000))]);
    assert.notEqual(code, 'timeout', `the run did not exit after SIGTERM: ${this.out}`);
    assert.equal(code, 0, this.out);
    const m = /^RESULT (.*)$/m.exec(this.out);
    assert.ok(m !== null, `no result: ${this.out}`);
    return JSON.parse(m[1]) as WorkersRunResult;
  }

  /** For t.after: stop a run a failed assertion left behind (the lab kills it by PID otherwise). */
  async stopQuietly(): Promise<void> {
    if (this.child.exitCode !== null || this.child.pid === undefined) return;
    this.child.kill('SIGTERM');
    await Promise.race([this.closed, new Promise((r) => setTimeout(r, 5000))]);
  }
}

function lab2(t: { after(fn: () => void | Promise<void>): void }): { lab: NetnsLab; gen: string; peer: string } {
  const lab = new NetnsLab('vgwk-');
  t.after(() => lab.cleanup());
  const gen = lab.addNs('gen');
  const peer = lab.addNs('peer');
  lab.addVeth({ name: 'vgwk-g', ns: gen }, { name: 'vgwk-p', ns: peer });
  lab.run(peer, 'ip', ['addr', 'add', `${PEER_IP}/24`, 'dev', 'vgwk-p']);
  return { lab, gen, peer };
}

function assertClean(r: WorkersRunResult): void {
  assert.equal(r.results.length, 2);
  for (const w of r.results) {
    assert.equal(w.error, null, `worker ${w.workerIdx}`);
    assert.equal(w.stats?.slots_in_use, 0, `worker ${w.workerIdx} leaked slots`);
  }
}

test('two workers on one af_packet port: ping 100/100 to 4 owned addresses, arping', { timeout: 90_000 }, async (t) => {
  const skip = skipReason(['ping', 'arping']);
  if (skip !== null) return t.skip(skip);
  const { lab, gen, peer } = lab2(t);
  const run = await WorkersRun.start(lab, gen, { port: 'af_packet:iface=vgwk-g', srcIp: ['198.18.8.10-198.18.8.13'] }, 2);
  t.after(() => run.stopQuietly());

  const dsts = ['198.18.8.10', '198.18.8.11', '198.18.8.12', '198.18.8.13'];
  const outs = await Promise.all(dsts.map((d) => outputOf(lab.spawn(peer, 'ping', ['-n', '-q', '-c', '100', '-i', '0.01', '-W', '2', d]))));
  const got = outs.map((o) => Number(/(\d+) received/.exec(o)?.[1] ?? -1));
  assert.deepEqual(got, [100, 100, 100, 100], `${outs.join('\n')}\n${run.out}`);
  assert.match(lab.run(peer, 'arping', ['-c', '3', '-i', 'vgwk-p', '198.18.8.12']), /3 packets transmitted, 3 packets received/);

  // 40 UDP flows from an address that never talked ARP: fanout spreads them over
  // both workers, and each answers port unreachable to 198.18.8.3. The first
  // flow goes alone, so one worker resolves the address; the other then finds
  // it in the shared table, whichever worker the ARP reply landed on.
  lab.run(peer, 'ip', ['addr', 'add', '198.18.8.3/24', 'dev', 'vgwk-p']);
  const mac = /mac ([0-9a-f:]{17}),/.exec(run.out)?.[1] ?? '';
  const cap = await lab.capture(peer, 'vgwk-p', 'icmp and icmp[0] == 3 and dst host 198.18.8.3', 40, 10);
  lab.scapy(
    peer,
    `
import time
fs = [Ether(dst='${mac}')/IP(src='198.18.8.3', dst='198.18.8.1%d' % (f % 4))/UDP(sport=30000 + f, dport=9)/b'x' for f in range(40)]
sendp(fs[0], iface='vgwk-p')
time.sleep(0.3)
sendp(fs[1:], iface='vgwk-p', inter=0.005)
`,
  );
  const unreach = await cap.frames();
  const peerMac = lab.mac(peer, 'vgwk-p');
  assert.equal(unreach.length, 40, `port unreachables that reached 198.18.8.3: ${unreach.length}\n${run.out}`);
  for (const f of unreach) assert.deepEqual([...f.subarray(0, 6)], [...peerMac], 'sent to the resolved MAC');

  const r = await run.stop();
  assertClean(r);
  const [w0, w1] = r.perWorker;
  t.diagnostic(`echo replies per worker: ${w0.net.icmpTxEchoReplies} / ${w1.net.icmpTxEchoReplies}; rx frames ${w0.net.rxFrames} / ${w1.net.rxFrames}`);
  assert.equal(r.total.net.icmpTxEchoReplies, 400);
  assert.equal(w0.net.icmpTxEchoReplies + w1.net.icmpTxEchoReplies, 400, 'the sum is the sum of the workers');
  assert.ok(r.total.net.arpTxReplies >= 3, `arp replies ${r.total.net.arpTxReplies}`);
  assert.equal(w0.net.arpTxGratuitous, 4, 'worker 0 announced each owned address once');
  assert.equal(w1.net.arpTxGratuitous, 0, 'the other worker did not repeat it');
  assert.equal(r.total.net.arpResolveFailed, 0);
  t.diagnostic(`unreachables per worker: ${w0.net.icmpTxUnreach} / ${w1.net.icmpTxUnreach}; ARP requests ${w0.net.arpTxRequests} / ${w1.net.arpTxRequests}`);
  assert.equal(r.total.net.icmpTxUnreach, 40);
  assert.ok(w0.net.icmpTxUnreach > 0 && w1.net.icmpTxUnreach > 0, 'both workers answered flows');
  assert.equal(r.total.net.arpTxRequests, 1, 'one worker asked; the other used the shared table');
  assert.ok(r.total.net.arpResolved >= 1, 'the peer was resolved');
});

test('two workers serve HTTP: ab -n 2000 -c 20 against two owned addresses, fanout spreads the connections', { timeout: 180_000 }, async (t) => {
  const skip = skipReason(['ab', 'ethtool']);
  if (skip !== null) return t.skip(skip);
  const { lab, gen, peer } = lab2(t);
  // Whole frames with complete checksums from the kernel (no GSO super-frames, no partial checksums).
  lab.run(peer, 'ethtool', ['-K', 'vgwk-p', 'tx', 'off', 'tso', 'off', 'gso', 'off']);
  const run = await WorkersRun.start(lab, gen, { port: 'af_packet:iface=vgwk-g', srcIp: ['198.18.8.20-198.18.8.21'], server: true }, 2);
  t.after(() => run.stopQuietly());

  const dsts = ['198.18.8.20', '198.18.8.21'];
  const outs = await Promise.all(dsts.map((d) => outputOf(lab.spawn(peer, 'ab', ['-s', '20', '-n', '2000', '-c', '20', `http://${d}/bytes/100`]))));
  for (const o of outs) {
    assert.match(o, /Complete requests:\s+2000\n/, `${o}\n${run.out}`);
    assert.match(o, /Failed requests:\s+0\n/, o);
    assert.doesNotMatch(o, /Non-2xx responses/, o);
  }

  t.diagnostic(`ab requests/s: ${outs.map((o) => /Requests per second:\s+([\d.]+)/.exec(o)?.[1]).join(' / ')} (two ab at once, new connection per request)`);
  const r = await run.stop();
  assertClean(r);
  const [w0, w1] = r.perWorker;
  t.diagnostic(`connections per worker: ${w0.tcp?.passiveOpens} / ${w1.tcp?.passiveOpens}; requests ${w0.app?.requests} / ${w1.app?.requests}`);
  assert.equal(r.total.app?.requests, 4000);
  assert.equal(r.total.app?.responses, 4000);
  // ab may open a few connections near the end that it then closes unused.
  assert.ok((r.total.tcp?.passiveOpens ?? 0) >= 4000, `passive opens ${r.total.tcp?.passiveOpens}`);
  assert.ok((w0.tcp?.passiveOpens ?? 0) > 0 && (w1.tcp?.passiveOpens ?? 0) > 0, 'fanout hashed connections onto both queues');
  assert.equal(r.total.tcp?.rxBadChecksum, 0);
});

test('two workers serve HTTPS: curl verifies the certificate, ab runs without failures, TLS counters summed', { timeout: 180_000 }, async (t) => {
  const skip = skipReason(['ab', 'curl', 'openssl', 'ethtool']);
  if (skip !== null) return t.skip(skip);
  const { lab, gen, peer } = lab2(t);
  lab.run(peer, 'ethtool', ['-K', 'vgwk-p', 'tx', 'off', 'tso', 'off', 'gso', 'off']);
  const dir = mkdtempSync(join(tmpdir(), 'vgwk-pki-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert,
    '-days', '2', '-subj', '/CN=vaigai.test', '-addext', 'subjectAltName=DNS:vaigai.test',
  ], { stdio: 'ignore' });
  const run = await WorkersRun.start(
    lab, gen, { port: 'af_packet:iface=vgwk-g', srcIp: ['198.18.8.20-198.18.8.21'], server: true, tls: true, cert, key }, 2,
  );
  t.after(() => run.stopQuietly());

  for (const ip of ['198.18.8.20', '198.18.8.21']) {
    const out = lab.run(peer, 'curl', ['-s', '-f', '-m', '20', '--cacert', cert, '--resolve', `vaigai.test:443:${ip}`, '-o', '/dev/null', '-w', '%{http_code} %{size_download}', 'https://vaigai.test/bytes/100000']);
    assert.equal(out, '200 100000', `${ip}: ${out}\n${run.out}`);
  }
  const ab = lab.run(peer, 'ab', ['-s', '20', '-n', '300', '-c', '10', 'https://198.18.8.20/bytes/100']);
  assert.match(ab, /Complete requests:\s+300\n/, `${ab}\n${run.out}`);
  assert.match(ab, /Failed requests:\s+0\n/, ab);

  const r = await run.stop();
  assertClean(r);
  const [w0, w1] = r.perWorker;
  t.diagnostic(`TLS handshakes per worker: ${w0.app?.tlsHandshakes} / ${w1.app?.tlsHandshakes}`);
  assert.equal(r.total.app?.tlsFailures, 0);
  // Two curl handshakes, one per ab request, and the few connections ab opens near the end unused.
  assert.ok((r.total.app?.tlsHandshakes ?? 0) >= 302, `handshakes ${r.total.app?.tlsHandshakes}`);
  assert.equal(r.total.app?.requests, 302);
  assert.ok((w0.app?.tlsHandshakes ?? 0) > 0 && (w1.app?.tlsHandshakes ?? 0) > 0, 'both workers ran handshakes');
});
