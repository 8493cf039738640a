/**
 * Receive-window autotuning against the kernel's sender: the `vaigai` client
 * downloads 16 MB from nginx through a `vaigai impair` hop adding 20 ms each
 * way, with the default window (no --tcp-window). The body arrives whole, the
 * run counts window growths, and on the kernel's side tshark sees the window
 * the client offers rise above the 256 KB it started with; with --tcp-window
 * 256k it stays there. Three namespaces (prefix vgat-, 198.18.152.0/24).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { exited } from '../helpers/netns.js';
import { FrontLab, Proc, frontSkipReason, printedSha } from '../front/lab.js';

const GEN_IP = '198.18.152.10';
const KERNEL_IP = '198.18.152.2';
const START = 256 * 1024;

test('receive-window autotuning: a download over a 40 ms round trip grows the offered window; a fixed --tcp-window does not', { timeout: 240_000 }, async (t) => {
  const skip = await frontSkipReason(['nginx', 'ethtool', 'tcpdump', 'tshark']);
  if (skip !== null) return t.skip(skip);
  const f = new FrontLab('vgat-');
  t.after(() => f.cleanup());
  const trio = f.hopTrio(KERNEL_IP);
  const file = f.randomFile('big.bin', 16 << 20);
  await f.nginx(trio.kernel, KERNEL_IP, null);
  const hop = await f.startHop(trio, join(f.dir, 'hop.json'), ['--both', 'delay=20ms', '--a-to-b', 'limit=20000', '--b-to-a', 'limit=20000']);
  t.after(() => hop.stop());

  /** Downloads the file; returns the run's window growths and the largest window the client offered, as the kernel saw it. */
  const download = async (name: string, extra: string[]): Promise<{ growths: number; maxWindow: number }> => {
    const pcap = join(f.dir, `${name}.pcap`);
    const cap = new Proc(f.lab.spawn(trio.kernel, 'tcpdump', ['-i', trio.kernelIf, '-s', '96', '-B', '16384', '-w', pcap, `tcp and src host ${GEN_IP}`]));
    await cap.waitFor(/listening on/, 10_000);
    const json = join(f.dir, `${name}.json`);
    const r = await f.vaigai(trio.gen, ['--port', `af_packet:iface=${trio.genIf}`, '--src-ip', GEN_IP, ...extra, '--client', `http://${KERNEL_IP}:8080/big.bin`, '--sha256', '--json', json], 180_000);
    if (cap.child.pid !== undefined && cap.child.exitCode === null) process.kill(cap.child.pid, 'SIGINT');
    await exited(cap.child, 10_000, 'tcpdump');
    assert.equal(r.code, 0, r.out);
    assert.equal(printedSha(r.out), file.sha256, r.out);
    const windows = f.lab.run(null, 'tshark', ['-r', pcap, '-Y', 'tcp.flags.syn == 0', '-T', 'fields', '-e', 'tcp.window_size']).split('\n').filter((l) => l !== '').map(Number);
    assert.ok(windows.length > 1000, `${windows.length} segments from the client`);
    const tcp = (JSON.parse(readFileSync(json, 'utf8')) as { tcp: { rcvWindowGrowths: number } }).tcp;
    return { growths: tcp.rcvWindowGrowths, maxWindow: Math.max(...windows) };
  };

  const auto = await download('auto', []);
  assert.ok(auto.growths > 0, `window growths: ${auto.growths}`);
  assert.ok(auto.maxWindow > 2 * START, `offered up to ${auto.maxWindow} bytes`);
  const fixed = await download('fixed', ['--tcp-window', '256k']);
  assert.deepEqual([fixed.growths, fixed.maxWindow <= START], [0, true], `fixed: offered up to ${fixed.maxWindow}`);
});
