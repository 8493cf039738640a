/**
 * ECN (RFC 3168) with the Linux kernel's TCP through a `vaigai impair` hop
 * that marks CE where it would drop 2% of the frames (`loss=2%,ecn=on`, as
 * netem's ecn): vaigAI sends 8 MB (`--client tcp://` with a payload) to a kernel receiver (net.ipv4.tcp_ecn=1)
 * that echoes the marks, and the kernel sends 8 MB to `vaigai --tcp-sink`,
 * which agrees to the kernel's ECN setup by default and echoes them back. The
 * bytes arrive whole, the hop marks data rather than dropping it, and each
 * sender reduces its window for the echoes: vaigAI's counters say so on its
 * side, tshark on the kernel's; the result carries vaigAI's cwnd and SRTT
 * distributions. Three namespaces (prefix vgec-, 198.18.153.0/24).
 */
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { JsonReport } from '../../src/impair/report.js';
import type { TcpSenders } from '../../src/run/result_schema.js';
import { Histogram } from '../../src/telemetry/histogram.js';
import { exited } from '../helpers/netns.js';
import { FrontLab, Proc, frontSkipReason } from '../front/lab.js';

const GEN_IP = '198.18.153.10';
const KERNEL_IP = '198.18.153.2';
const SIZE = 8 << 20;

test('ECN with Linux through a CE-marking hop: both directions agree, mark, echo and reduce; every byte arrives', { timeout: 240_000 }, async (t) => {
  const skip = await frontSkipReason(['socat', 'ethtool', 'tcpdump', 'tshark']);
  if (skip !== null) return t.skip(skip);
  const f = new FrontLab('vgec-');
  t.after(() => f.cleanup());
  const trio = f.hopTrio(KERNEL_IP);
  f.lab.run(trio.kernel, 'sysctl', ['-q', '-w', 'net.ipv4.tcp_ecn=1']);
  const file = f.randomFile('up.bin', SIZE);
  const port = ['--port', `af_packet:iface=${trio.genIf}`, '--src-ip', GEN_IP];

  /** Runs `body` through a fresh hop, capturing the kernel's side; returns the hop's report and a frame counter of the capture. */
  const through = async (name: string, body: () => Promise<void>): Promise<{ hop: JsonReport; frames: (display: string) => number }> => {
    const json = join(f.dir, `${name}-hop.json`);
    const pcap = join(f.dir, `${name}.pcap`);
    const hop = await f.startHop(trio, json, ['--both', 'loss=2%,ecn=on', '--seed', '11']);
    const cap = new Proc(f.lab.spawn(trio.kernel, 'tcpdump', ['-i', trio.kernelIf, '-s', '96', '-B', '16384', '-w', pcap, 'tcp']));
    await cap.waitFor(/listening on/, 10_000);
    try {
      await body();
    } finally {
      if (cap.child.pid !== undefined && cap.child.exitCode === null) process.kill(cap.child.pid, 'SIGINT');
      await exited(cap.child, 10_000, 'tcpdump');
      assert.equal(await hop.stop(), 0, hop.out);
    }
    const frames = (display: string): number =>
      f.lab.run(null, 'tshark', ['-r', pcap, '-Y', display, '-T', 'fields', '-e', 'frame.number']).split('\n').filter((l) => l !== '').length;
    return { hop: JSON.parse(readFileSync(json, 'utf8')) as JsonReport, frames };
  };

  await t.test('vaigAI sends (--ecn on) to a kernel receiver: the kernel echoes ECE, vaigAI reduces and sends CWR', async () => {
    const sink = new Proc(f.lab.spawn(trio.kernel, 'socat', ['-u', `TCP4-LISTEN:9,bind=${KERNEL_IP},reuseaddr`, `CREATE:${join(f.dir, 'got.bin')}`]));
    t.after(() => sink.stop());
    await new Promise((r) => setTimeout(r, 300));
    const json = join(f.dir, 'up.json');
    const { hop, frames } = await through('up', async () => {
      const r = await f.vaigai(trio.gen, [...port, '--ecn', 'on', '--client', `tcp://${KERNEL_IP}:9`, '--payload-size', String(SIZE), '--json', json], 120_000);
      assert.equal(r.code, 0, r.out);
      assert.equal(await exited(sink.child, 20_000, 'socat'), 0, sink.out);
    });
    assert.equal(statSync(join(f.dir, 'got.bin')).size, SIZE, 'every byte arrived');
    const result = JSON.parse(readFileSync(json, 'utf8')) as { tcp: Record<string, number>; tcpSenders: TcpSenders };
    const tcp = result.tcp;
    // The result's sender distributions: decodable, and the SRTT through the hop is the hop's.
    const { cwnd, srttUs } = result.tcpSenders;
    assert.ok(cwnd.count > 10 && cwnd.count === srttUs.count, JSON.stringify(result.tcpSenders));
    assert.equal(Histogram.decode(cwnd.hdr).totalCount, cwnd.count);
    assert.ok(cwnd.p50 >= 2 * 1460 && srttUs.p50 > 0 && srttUs.p99 >= srttUs.p50, JSON.stringify(result.tcpSenders));
    assert.ok(hop.aToB.ceMarked > 20, `CE marks on vaigAI's data: ${hop.aToB.ceMarked}`);
    assert.ok(tcp.ecnReductions > 0, `vaigAI's reductions: ${tcp.ecnReductions}`);
    assert.ok(frames(`ip.src == ${KERNEL_IP} && tcp.flags.ece == 1 && tcp.flags.syn == 0`) > 0, 'the kernel echoed ECE');
    assert.ok(frames(`ip.src == ${GEN_IP} && tcp.flags.cwr == 1 && tcp.flags.syn == 0`) > 0, 'vaigAI answered with CWR');
    assert.equal(frames(`ip.src == ${GEN_IP} && tcp.len > 0 && ip.dsfield.ecn == 0 && !tcp.analysis.retransmission`), 0, 'new data left ECN-capable');
  });

  await t.test('the kernel sends to vaigai --tcp-sink (ECN passive by default): vaigAI agrees, echoes the marks, the kernel reduces', async () => {
    const json = join(f.dir, 'down.json');
    const srv = await f.startVaigai(trio.gen, [...port, '--tcp-sink', '--sha256', '--json', json]);
    t.after(() => srv.stop());
    const { frames } = await through('down', async () => {
      const up = new Proc(f.lab.spawn(trio.kernel, 'socat', ['-u', `OPEN:${file.path}`, `TCP4:${GEN_IP}:9`]));
      assert.equal(await exited(up.child, 120_000, 'socat'), 0, up.out);
      await srv.waitFor(/tcp-sink: connection closed/, 10_000);
    });
    assert.equal(await srv.stop(), 0, srv.out);
    assert.match(srv.out, new RegExp(`closed after ${SIZE} bytes, sha256 ${file.sha256}`), srv.out);
    const tcp = (JSON.parse(readFileSync(json, 'utf8')) as { tcp: Record<string, number> }).tcp;
    assert.ok(tcp.ecnCeIn > 20, `CE-marked segments vaigAI received: ${tcp.ecnCeIn}`);
    assert.equal(frames(`ip.src == ${GEN_IP} && tcp.flags.syn == 1 && tcp.flags.ece == 1 && tcp.flags.cwr == 0`), 1, 'vaigAI agreed in its SYN-ACK');
    assert.ok(frames(`ip.src == ${GEN_IP} && tcp.flags.ece == 1 && tcp.flags.syn == 0`) > 0, 'vaigAI echoed ECE');
    assert.ok(frames(`ip.src == ${KERNEL_IP} && tcp.flags.cwr == 1 && tcp.flags.syn == 0`) > 0, 'the kernel reduced and said CWR');
  });
});
