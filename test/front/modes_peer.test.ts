/**
 * The client traffic modes beside HTTP, driven as a user would against real
 * peers in namespaces this file creates (prefix vgmod-, 198.18.64.0/24), each
 * count compared with what tshark sees on the peer's interface:
 * - `--client icmp://` against the kernel: echo requests and replies;
 * - `--client udp://` against a socat UDP echo (and a Python one for two
 *   workers): datagrams each way, RTTs;
 * - `--client tcp://` (connect rate) against a kernel listener and nginx:
 *   SYN, SYN-ACK and the close (FIN, or RST with --close rst).
 * One and two workers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { exited } from '../helpers/netns.js';
import { FrontLab, Proc, frontSkipReason } from './lab.js';

const PEER_IP = '198.18.64.1';
const GEN_IP = '198.18.64.10';

/** Kernel TCP listeners: on 9000 each connection is accepted and closed; on 9001 read to the end, its byte count printed. */
const KERNEL_SERVERS = `
import socket, threading
out = threading.Lock()
def server(port):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('${PEER_IP}', port)); s.listen(1024); return s
def sink(c):
    n = 0
    while True:
        b = c.recv(65536)
        if not b: break
        n += len(b)
    with out: print('got', n, flush=True)
    c.close()
a, b = server(9000), server(9001)
def accept_sink():
    while True:
        c, _ = b.accept(); threading.Thread(target=sink, args=(c,), daemon=True).start()
threading.Thread(target=accept_sink, daemon=True).start()
print('listening', flush=True)
while True:
    c, _ = a.accept(); c.close()
`;

/** A kernel UDP echo (RFC 862) on port 8: one socket, each datagram back to its sender. */
const UDP_ECHO = `
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('${PEER_IP}', 8)); print('listening', flush=True)
while True:
    d, a = s.recvfrom(65535); s.sendto(d, a)
`;

interface Latency {
  min: number;
  p50: number;
  max: number;
}

test('client modes against real peers: counts equal what tshark sees', { timeout: 300_000 }, async (t) => {
  const skip = await frontSkipReason(['tshark', 'ethtool', 'socat', 'nginx', 'python3']);
  if (skip !== null) return t.skip(skip);
  const f = new FrontLab('vgmod-');
  t.after(() => f.cleanup());
  const { gen, peer, genIf, peerIf } = f.pair(PEER_IP);
  const base = ['--port', `af_packet:iface=${genIf}`, '--src-ip', GEN_IP];

  /** Runs vaigai with tshark capturing `filter` on the peer's interface; returns the JSON `app`, and a counter of frames matching a display filter. */
  const captured = async (name: string, filter: string, args: string[]): Promise<{ app: Record<string, unknown>; frames: (display: string) => number; out: string }> => {
    const cap = join(f.dir, `${name}.pcap`);
    const shark = new Proc(f.lab.spawn(peer, 'tshark', ['-q', '-B', '64', '-i', peerIf, '-f', filter, '-w', cap]));
    await shark.waitFor(/Capturing on/, 20_000);
    const json = join(f.dir, `${name}.json`);
    const r = await f.vaigai(gen, [...base, ...args, '--json', json], 120_000);
    // dumpcap may still hold the last frames in its ring: let it write them before it stops.
    await new Promise((res) => setTimeout(res, 1000));
    shark.child.kill('SIGINT');
    await exited(shark.child, 20_000, 'tshark');
    assert.equal(r.code, 0, r.out);
    const frames = (display: string): number =>
      f.lab.run(null, 'tshark', ['-r', cap, '-Y', display, '-T', 'fields', '-e', 'frame.number']).split('\n').filter((l) => l.trim() !== '').length;
    return { app: (JSON.parse(readFileSync(json, 'utf8')) as { app: Record<string, unknown> }).app, frames, out: r.out };
  };

  for (const workers of ['1', '2']) {
    await t.test(`icmp://, --workers ${workers}: 200 echo requests at 100/s, 200 replies, as tshark counts`, async () => {
      const { app, frames, out } = await captured(`icmp-${workers}`, 'icmp', ['--workers', workers, '--client', `icmp://${PEER_IP}`, '--rate', '100', '--requests', '200', '--payload-size', '100']);
      assert.deepEqual([app.sent, app.received, app.lost, app.duplicates], [200, 200, 0, 0], out);
      assert.equal(frames(`icmp.type == 8 && ip.src == ${GEN_IP} && data.len == 100`), 200, out);
      assert.equal(frames(`icmp.type == 0 && ip.dst == ${GEN_IP}`), 200, out);
      const rtt = app.rttUs as Latency;
      assert.ok(rtt.min > 0 && rtt.p50 >= rtt.min && rtt.max >= rtt.p50, `an RTT histogram: ${JSON.stringify(rtt)}`);
    });
  }

  // socat: one child per datagram (RECVFROM), each answering its own. Two workers send from two ports,
  // and a child may read the other port's datagram from the socket it shares: a one-socket echo serves those.
  const echo = new Proc(f.lab.spawn(peer, 'socat', ['-T1', 'UDP4-RECVFROM:7,fork', 'PIPE']));
  t.after(() => echo.stop());
  const pyEcho = new Proc(f.lab.spawn(peer, 'python3', ['-c', UDP_ECHO]));
  t.after(() => pyEcho.stop());
  await pyEcho.waitFor(/listening/, 10_000);
  for (const [workers, port, server] of [['1', 7, 'socat'], ['2', 8, 'python']] as const) {
    await t.test(`udp://, --workers ${workers}: 300 datagrams of 200 bytes at 150/s to a ${server} echo, every one back`, async () => {
      const { app, frames, out } = await captured(`udp-${workers}`, `udp port ${port}`, ['--workers', workers, '--client', `udp://${PEER_IP}:${port}`, '--rate', '150', '--requests', '300', '--payload-size', '200']);
      assert.deepEqual([app.sent, app.received, app.lost], [300, 300, 0], out);
      assert.equal(frames(`udp.dstport == ${port} && ip.src == ${GEN_IP} && udp.length == 208`), 300, out);
      assert.equal(frames(`udp.srcport == ${port} && ip.dst == ${GEN_IP} && udp.length == 208`), 300, out);
      const rtt = app.rttUs as Latency;
      assert.ok(rtt.min > 0 && rtt.max >= rtt.p50, `an RTT histogram: ${JSON.stringify(rtt)}`);
    });
  }

  await t.test('udp:// to a port nobody listens on: every datagram lost, the port unreachables counted', async () => {
    const { app, frames, out } = await captured('udp-closed', 'udp port 9 or icmp', ['--client', `udp://${PEER_IP}:9`, '--rate', '50', '--requests', '20', '--drain', '1']);
    assert.deepEqual([app.sent, app.received, app.lost], [20, 0, 20], out);
    // Linux rate-limits its ICMP errors (icmp_ratelimit): vaigAI counts exactly those tshark saw.
    assert.equal(app.unreachable, frames(`icmp.type == 3 && icmp.code == 3 && ip.dst == ${GEN_IP}`), out);
    assert.ok((app.unreachable as number) > 0, out);
  });

  const kernel = new Proc(f.lab.spawn(peer, 'python3', ['-c', KERNEL_SERVERS]));
  t.after(() => kernel.stop());
  await kernel.waitFor(/listening/, 10_000);
  f.randomFile('index.html', 10);
  await f.nginx(peer, PEER_IP, null);

  // Segments, not their retransmissions (a loaded machine makes the odd one fire).
  const first = '!tcp.analysis.retransmission';
  const synFrom = `tcp.flags.syn == 1 && tcp.flags.ack == 0 && ip.src == ${GEN_IP} && ${first}`;
  const synAckTo = `tcp.flags.syn == 1 && tcp.flags.ack == 1 && ip.dst == ${GEN_IP} && ${first}`;
  const finFrom = `tcp.flags.fin == 1 && ip.src == ${GEN_IP} && ${first}`;
  const rstFrom = `tcp.flags.reset == 1 && ip.src == ${GEN_IP}`;
  for (const [peerName, port] of [['a kernel listener', 9000], ['nginx', 8080]] as const) {
    for (const [close, workers] of [['fin', '1'], ['rst', '1'], ['fin', '2']] as const) {
      await t.test(`tcp:// against ${peerName}, --close ${close}, --workers ${workers}: 300 connections at 200/s, 8 at once`, async () => {
        const { app, frames, out } = await captured(`tcp-${port}-${close}-${workers}`, `tcp port ${port}`, [
          '--workers', workers, '--client', `tcp://${PEER_IP}:${port}`, '--rate', '200', '--requests', '300', '--connections', '8', '--close', close,
        ]);
        assert.deepEqual([app.attempts, app.established, app.closed], [300, 300, 300], out);
        assert.deepEqual(app.failed, { refused: 0, timeout: 0, reset: 0, unreachable: 0 }, out);
        assert.equal(frames(synFrom), 300, 'SYN');
        assert.equal(frames(synAckTo), 300, 'SYN-ACK');
        assert.equal(frames(finFrom), close === 'fin' ? 300 : 0, 'FIN');
        assert.equal(frames(`${rstFrom} && tcp.flags.ack == 0`), close === 'rst' ? 300 : 0, 'RST');
        const ct = app.connectUs as Latency;
        assert.ok(ct.min > 0 && ct.max >= ct.p50, `a connect-time histogram: ${JSON.stringify(ct)}`);
      });
    }
  }

  await t.test('tcp:// to a closed port: every attempt refused', async () => {
    const { app, frames, out } = await captured('tcp-refused', 'tcp port 9999', ['--client', `tcp://${PEER_IP}:9999`, '--requests', '20', '--connections', '4']);
    assert.deepEqual([app.attempts, app.established], [20, 0], out);
    assert.deepEqual(app.failed, { refused: 20, timeout: 0, reset: 0, unreachable: 0 }, out);
    assert.equal(frames(synFrom), 20, out);
  });

  await t.test('tcp:// with --payload-size: 20 connections each write 100000 bytes to a kernel sink, which reads them all', async () => {
    const { app, frames, out } = await captured('tcp-payload', 'tcp port 9001 and tcp[tcpflags] & (tcp-syn|tcp-fin) != 0', [
      '--client', `tcp://${PEER_IP}:9001`, '--requests', '20', '--connections', '2', '--payload-size', '100000',
    ]);
    assert.deepEqual([app.attempts, app.established, app.closed, app.bytesOut], [20, 20, 20, 2_000_000], out);
    assert.ok((app.bytesPerSecondPerStream as number) > 0, out);
    assert.equal(frames(finFrom), 20, out);
    await kernel.waitFor(/(^got 100000\n){20}/m, 10_000);
  });

  await t.test('tcp:// streams: 2 connections with a payload larger than the run write for --duration 2, then close; the sink read every byte', async () => {
    const before = kernel.out.length;
    const { app, out } = await captured('tcp-streams', 'tcp port 9001 and tcp[tcpflags] & (tcp-syn|tcp-fin) != 0', [
      '--client', `tcp://${PEER_IP}:9001`, '--connections', '2', '--duration', '2', '--payload-size', String(2 ** 40),
    ]);
    assert.deepEqual([app.attempts, app.established, app.closed], [2, 2, 2], out);
    const lines = (): number[] => [...kernel.out.slice(before).matchAll(/^got (\d+)$/gm)].map((m) => Number(m[1]));
    for (let i = 0; i < 100 && lines().length < 2; i++) await new Promise((r) => setTimeout(r, 100));
    const got = lines();
    assert.equal(got.length, 2, kernel.out.slice(before));
    assert.equal(got[0] + got[1], app.bytesOut, out);
    assert.ok((app.bytesPerSecondPerStream as number) > 0, out);
  });
});
