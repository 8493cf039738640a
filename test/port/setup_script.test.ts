// scripts/setup.sh as a user runs it: the netns/veth test topology up and
// down, hugepages reserved and mounted and a DPDK port of `vaigai` running on
// them (not --no-huge), and the errors of its commands. The topology is
// vgsu-port/vgsu-a <-> vgsu-peer/vgsu-b (198.18.251.0/24); the hugepages go
// back to what they were and the mount is removed, whatever the outcome.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nativeDrivers, nativeLoadError } from '../../src/port/native.js';
import { MAIN, Proc } from '../front/lab.js';
import { netTestSkipReason } from '../helpers/netns.js';

const SETUP = fileURLToPath(new URL('../../../scripts/setup.sh', import.meta.url));
const P = 'vgsu-';

function setup(...args: string[]): { status: number; out: string; err: string } {
  const r = spawnSync('bash', [SETUP, ...args], { encoding: 'utf8', timeout: 30_000 });
  return { status: r.status ?? -1, out: r.stdout, err: r.stderr };
}

function sh(cmd: string, args: string[]): string {
  return spawnSync(cmd, args, { encoding: 'utf8' }).stdout;
}

function huge(): { total: number; free: number } {
  const mem = readFileSync('/proc/meminfo', 'utf8');
  const field = (k: string) => Number(new RegExp(`^HugePages_${k}:\\s*(\\d+)`, 'm').exec(mem)?.[1] ?? 0);
  return { total: field('Total'), free: field('Free') };
}

/** Brings the topology up, removed after the test. */
function topology(t: TestContext): void {
  t.after(() => setup('topo', 'down', P));
  const up = setup('topo', 'up', P, '198.18.251.2/24');
  assert.equal(up.status, 0, up.err);
}

test('setup.sh topo: namespaces, a veth pair, the peer address and its TX offloads off; down removes them', (t) => {
  const reason = netTestSkipReason(['ethtool']);
  if (reason) return t.skip(reason);
  topology(t);
  const spaces = sh('ip', ['netns', 'list']);
  assert.match(spaces, new RegExp(`^${P}port\\b`, 'm'));
  assert.match(spaces, new RegExp(`^${P}peer\\b`, 'm'));
  assert.match(sh('ip', ['-n', `${P}port`, '-o', 'link', 'show', `${P}a`]), /state UP|,UP/);
  assert.match(sh('ip', ['-n', `${P}peer`, '-o', 'addr', 'show', `${P}b`]), /inet 198\.18\.251\.2\/24/);
  // No partial checksums and no GSO super-frames from the kernel peer.
  assert.match(sh('ip', ['netns', 'exec', `${P}peer`, 'ethtool', '-k', `${P}b`]), /^tx-checksumming: off/m);
  assert.match(setup('status').out, new RegExp(`^${P}port\\b`, 'm'));
  const down = setup('topo', 'down', P);
  assert.equal(down.status, 0, down.err);
  assert.doesNotMatch(sh('ip', ['netns', 'list']), new RegExp(P));
});

test('setup.sh hugepages: reserved and mounted; vaigai runs a dpdk port on them and answers ping', { timeout: 120_000 }, async (t) => {
  const reason = netTestSkipReason(['ping', 'ethtool']);
  if (reason) return t.skip(reason);
  if (!nativeDrivers().includes('dpdk')) return t.skip(`dpdk driver not built: ${nativeLoadError() || 'libdpdk-dev missing'}`);
  const before = huge();
  const mnt = mkdtempSync(join(tmpdir(), `${P}huge-`));
  t.after(() => {
    spawnSync('umount', [mnt]);
    rmSync(mnt, { recursive: true, force: true });
    spawnSync('sh', ['-c', `echo ${before.total} > /proc/sys/vm/nr_hugepages`]);
  });
  const r = setup('hugepages', String(before.total + 96), mnt);
  if (r.status !== 0 && /no hugetlb support/.test(r.err)) return t.skip('this kernel has no hugetlb support');
  assert.equal(r.status, 0, r.err);
  if (huge().total < before.total + 64) return t.skip(`only ${huge().total - before.total} hugepages could be reserved: ${r.err}`);
  assert.match(r.out, /^hugepages: \d+ x 2 MiB, hugetlbfs on /m);
  assert.ok(readFileSync('/proc/mounts', 'utf8').includes(` ${mnt} hugetlbfs `), 'hugetlbfs mounted where asked');
  assert.equal(setup('hugepages', String(before.total + 96), mnt).status, 0, 'running it again changes nothing');

  topology(t);
  const freeBefore = huge().free;
  const v = new Proc(
    spawn(process.execPath, [
      MAIN, '--port', `dpdk:dev=net_af_packet0,netns=${P}port`, '--src-ip', '198.18.251.10', '--duration', '60',
      // Hugepages, not --no-huge: -m 128 takes 64 of them; --huge-unlink leaves no files behind.
      '--', '--huge-dir', mnt, '--huge-unlink', '--no-shconf', '-m', '128', '--no-pci', '--no-telemetry',
      '--vdev', `net_af_packet0,iface=${P}a`,
    ]),
  );
  try {
    await v.waitFor(/^vaigai: dpdk /m, 60_000);
    assert.ok(freeBefore - huge().free >= 64, `the EAL holds hugepages: ${freeBefore} free before, ${huge().free} now`);
    const ping = sh('ip', ['netns', 'exec', `${P}peer`, 'ping', '-c', '20', '-i', '0.05', '-W', '2', '-q', '198.18.251.10']);
    assert.match(ping, /20 packets transmitted, 20 received/, ping);
  } finally {
    assert.equal(await v.stop(), 0, v.out);
  }
  assert.match(v.out, /icmpRxEchoRequests=20 icmpTxEchoReplies=20/, v.out);
  assert.equal(huge().free, huge().total, 'every hugepage is free again once vaigai exited');
});

test('setup.sh: bad arguments are refused with a message naming them', (t) => {
  if (process.getuid?.() !== 0) return t.skip('needs root');
  const cases: [string[], number, RegExp][] = [
    [['hugepages', 'many'], 1, /hugepage count 'many' is not a number/],
    [['bind', 'eth0'], 1, /'eth0' is not a PCI address like 0000:81:00\.0/],
    // PCI domain ffff does not exist on any machine.
    [['bind', 'ffff:ff:1f.7'], 1, /no PCI device ffff:ff:1f\.7/],
    [['unbind'], 1, /usage: setup\.sh unbind PCI/],
    [['topo', 'sideways'], 1, /usage: setup\.sh topo up\|down/],
    [[], 2, /^\s*setup\.sh hugepages \[COUNT\] \[MOUNT\]/m],
  ];
  for (const [args, status, re] of cases) {
    const r = setup(...args);
    assert.equal(r.status, status, `${args.join(' ')}: ${r.out}${r.err}`);
    assert.match(r.out + r.err, re, args.join(' '));
  }
});
