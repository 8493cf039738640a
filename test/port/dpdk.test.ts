// The dpdk driver with --no-huge vdevs: a ring pair in memory, net_null,
// net_tap (its tap device in a namespace), and net_af_packet and net_af_xdp on
// a veth pair whose ends are in namespaces the test creates (vgxdp-*,
// 198.18.252.0/24). The EAL is initialised once per process, so every DPDK
// test lives in this file and shares one set of EAL arguments (hugepages:
// test/port/setup_script.test.ts).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { BufferPool } from '../../src/core/buffer_pool.js';
import { nativeDrivers, nativeLoadError, openNativePort } from '../../src/port/native.js';
import { assertFlowAffinity, assertTxToPeer, macHex, probeFrame, rxAll, sendAll } from '../helpers/frames.js';
import { NetnsLab, netTestSkipReason } from '../helpers/netns.js';

const N = 200;
/** The EAL arguments of this process: no hugepages, no shared config, no PCI scan. */
const EAL = '--no-huge --no-shconf -m 512 --no-pci --no-telemetry';

function skipReason(tools: string[] = []): string | null {
  if (!nativeDrivers().includes('dpdk')) return nativeLoadError() || 'dpdk driver not built (libdpdk-dev)';
  return netTestSkipReason(tools);
}

/**
 * A lab removed after the test, with namespaces vgxdp-port (vgxdp-a, the DPDK
 * port's interface) and vgxdp-peer (vgxdp-b, the kernel's).
 */
function topology(t: TestContext): { lab: NetnsLab; port: string; peer: string } {
  const lab = new NetnsLab('vgxdp-');
  t.after(() => lab.cleanup());
  const port = lab.addNs('port');
  const peer = lab.addNs('peer');
  lab.addVeth({ name: 'vgxdp-a', ns: port }, { name: 'vgxdp-b', ns: peer });
  lab.run(peer, 'ip', ['addr', 'add', '198.18.252.2/24', 'dev', 'vgxdp-b']);
  return { lab, port, peer };
}

function afPacketPort(ns: string) {
  return openNativePort('dpdk', { netns: ns }, 'vgxdp-a', `${EAL} --vdev=net_af_packet0,iface=vgxdp-a`);
}

test('dpdk: frames sent on one side of a ring pair come out of the other, byte for byte', (t) => {
  const reason = skipReason();
  if (reason) return t.skip(reason);
  const a = openNativePort('dpdk', { pair: 'vgx', side: '0' }, 'ring-a', EAL);
  t.after(() => a.close());
  const b = openNativePort('dpdk', { pair: 'vgx', side: '1' }, 'ring-b', EAL);
  t.after(() => b.close());
  const pa = new BufferPool(512);
  const pb = new BufferPool(512);
  const qa = a.openQueue(0, pa, 32);
  t.after(() => qa.close());
  const qb = b.openQueue(0, pb, 32);
  t.after(() => qb.close());
  const dst = Uint8Array.of(2, 0, 0, 0, 0, 2);
  const sent = Array.from({ length: N }, (_, i) => probeFrame(dst, a.caps.mac, i, 60 + (i % 50)));
  // The rings hold 1024 frames: N fit without a reader.
  assert.equal(sendAll(qa, sent), N, 'all frames accepted');
  assert.deepEqual(rxAll(qa, 1, 50), [], 'nothing loops back to the sender');
  const got = rxAll(qb, N, 2000);
  assert.equal(got.length, N);
  for (let i = 0; i < N; i++) assert.deepEqual(got[i], sent[i], `frame ${i} identical`);
  assert.equal(qa.stats().txFrames, N);
  assert.equal(qb.stats().rxFrames, N);
  assert.equal(qb.stats().rxBytes, sent.reduce((s, f) => s + f.length, 0));
  assert.equal(pa.available, 512, 'sender slots freed after the copy into mbufs; an empty receive holds none');
});

test('dpdk: a ring pair with 2 queues keeps each queue separate', (t) => {
  const reason = skipReason();
  if (reason) return t.skip(reason);
  const a = openNativePort('dpdk', { pair: 'vgq', side: '0', queues: '2' }, 'ring-a', EAL);
  t.after(() => a.close());
  const b = openNativePort('dpdk', { pair: 'vgq', side: '1', queues: '2' }, 'ring-b', EAL);
  t.after(() => b.close());
  assert.equal(a.queueCount, 2);
  const pool = new BufferPool(512);
  const qa = [a.openQueue(0, pool, 32), a.openQueue(1, pool, 32)];
  const qb = [b.openQueue(0, pool, 32), b.openQueue(1, pool, 32)];
  t.after(() => [...qa, ...qb].forEach((q) => q.close()));
  const dst = Uint8Array.of(2, 0, 0, 0, 0, 2);
  assert.equal(sendAll(qa[0], [probeFrame(dst, a.caps.mac, 10, 64)]), 1);
  assert.equal(sendAll(qa[1], [probeFrame(dst, a.caps.mac, 11, 64), probeFrame(dst, a.caps.mac, 12, 64)]), 2);
  const on0 = rxAll(qb[0], 3, 200).map((f) => f[14]);
  const on1 = rxAll(qb[1], 3, 200).map((f) => f[14]);
  assert.deepEqual(on0, [10], 'queue 0 to queue 0');
  assert.deepEqual(on1, [11, 12], 'queue 1 to queue 1');
  assert.throws(() => a.openQueue(2, pool, 32), /no queue 2/);
});

test('dpdk: a worker thread drives a queue (registered with the EAL on first use)', async (t) => {
  const reason = skipReason();
  if (reason) return t.skip(reason);
  const a = openNativePort('dpdk', { pair: 'vgw', side: '0' }, 'ring-a', EAL);
  t.after(() => a.close());
  const b = openNativePort('dpdk', { pair: 'vgw', side: '1' }, 'ring-b', EAL);
  t.after(() => b.close());
  const qb = b.openQueue(0, new BufferPool(512), 32);
  t.after(() => qb.close());
  const src = new URL('../../src/', import.meta.url).href;
  const helpers = new URL('../helpers/frames.js', import.meta.url).href;
  // The worker attaches to side 0 by handle, sends N frames and reports its count.
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    (async () => {
      const { BufferPool } = await import('${src}core/buffer_pool.js');
      const { attachNativePort } = await import('${src}port/native.js');
      const { probeFrame, sendAll } = await import('${helpers}');
      const port = attachNativePort(workerData.handle, 'ring-a');
      const q = port.openQueue(0, new BufferPool(256), 32);
      const frames = Array.from({ length: workerData.n }, (_, i) => probeFrame(new Uint8Array(6), port.caps.mac, i, 64));
      const sent = sendAll(q, frames);
      q.close();
      parentPort.postMessage(sent);
    })().catch((e) => parentPort.postMessage(String(e)));`;
  const w = new Worker(code, { eval: true, workerData: { handle: a.handle, n: N } });
  const sent = await new Promise((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  });
  await w.terminate();
  assert.equal(sent, N, 'the worker sent every frame');
  const got = rxAll(qb, N, 2000);
  assert.equal(got.length, N);
  for (let i = 0; i < N; i++) assert.equal(got[i][14] | (got[i][15] << 8), i, 'in order');
});

test('dpdk: net_af_packet on a veth: N frames sent arrive at the kernel peer byte for byte', async (t) => {
  const reason = skipReason(['tshark']);
  if (reason) return t.skip(reason);
  const { lab, port: ns, peer } = topology(t);
  const port = afPacketPort(ns);
  let closed = false;
  t.after(() => closed || port.close());
  assert.deepEqual([...port.caps.mac], [...lab.mac(ns, 'vgxdp-a')], 'caps report the interface MAC');
  const pool = new BufferPool(1024);
  const q = port.openQueue(0, pool, 32);
  t.after(() => closed || q.close());
  const dst = lab.mac(peer, 'vgxdp-b');
  await assertTxToPeer(lab, peer, 'vgxdp-b', q, Array.from({ length: N }, (_, i) => probeFrame(dst, port.caps.mac, i, 60 + (i % 40))));
  assert.match(lab.run(ns, 'ip', ['link', 'show', 'vgxdp-a']), /PROMISC/, 'promiscuous while open');
  // An open queue keeps its port open: the port stops when both are closed.
  q.close();
  port.close();
  closed = true;
  assert.doesNotMatch(lab.run(ns, 'ip', ['link', 'show', 'vgxdp-a']), /PROMISC/, 'close turns promiscuous mode off');
});

test('dpdk: net_af_packet on a veth: frames injected by the peer arrive', async (t) => {
  const reason = skipReason(['scapy']);
  if (reason) return t.skip(reason);
  const { lab, port: ns, peer } = topology(t);
  // Same vdev name as the test before: closing removed it, so it is probed again.
  const port = afPacketPort(ns);
  t.after(() => port.close());
  const pool = new BufferPool(1024);
  const q = port.openQueue(0, pool, 64);
  t.after(() => q.close());
  const mac = macHex(port.caps.mac);
  const src = macHex(lab.mac(peer, 'vgxdp-b'));
  lab.scapy(
    peer,
    `sendp([Ether(dst='${mac}', src='${src}', type=0x88b5)/Raw(bytes([i & 255, i >> 8]) + bytes(range(i % 200))) for i in range(${N})], iface='vgxdp-b')`,
  );
  const frames = rxAll(q, N, 5000).filter((f) => f[12] === 0x88 && f[13] === 0xb5);
  assert.equal(frames.length, N, 'all injected frames received');
  for (let i = 0; i < N; i++) {
    const f = frames[i];
    assert.equal(macHex(f.subarray(0, 6)), mac);
    assert.equal(f[14] | (f[15] << 8), i, 'in order');
    assert.equal(f.length, 16 + (i % 200));
    for (let j = 0; j < i % 200; j++) assert.equal(f[16 + j], j);
  }
});

test('dpdk: net_af_packet with 2 queue pairs: every flow stays on one queue', async (t) => {
  const reason = skipReason(['scapy']);
  if (reason) return t.skip(reason);
  const { lab, port: ns, peer } = topology(t);
  // qpairs=2: two AF_PACKET sockets in a PACKET_FANOUT_HASH group, the PMD's flow steering.
  const port = openNativePort('dpdk', { netns: ns, queues: '2' }, 'vgxdp-a', `${EAL} --vdev=net_af_packet1,iface=vgxdp-a,qpairs=2`);
  t.after(() => port.close());
  assert.equal(port.queueCount, 2);
  const pool = new BufferPool(2048);
  const qs = [port.openQueue(0, pool, 32), port.openQueue(1, pool, 32)];
  t.after(() => qs.forEach((q) => q.close()));
  assertFlowAffinity(lab, peer, 'vgxdp-b', port.caps.mac, qs, { flows: 64, per: 5, src: '198.18.252.2', dst: '198.18.252.1' });
});

test('dpdk: errors name the problem', (t) => {
  const reason = skipReason();
  if (reason) return t.skip(reason);
  assert.throws(() => openNativePort('dpdk', { dev: 'net_vgnone' }, 'x', EAL), /no port named net_vgnone/);
  assert.throws(
    () => openNativePort('dpdk', { pair: 'vgx' }, 'x', '--no-huge -m 256'),
    /already initialised .* not change other EAL arguments/,
  );
  assert.throws(() => openNativePort('dpdk', { pair: 'vgx', side: '2' }, 'x', EAL), /side=0 or side=1/);
  assert.throws(() => openNativePort('dpdk', { pair: 'vgx', queues: '0' }, 'x', EAL), /queues/);
  assert.throws(() => openNativePort('dpdk', { port: '7' }, 'x', EAL), /no port 7/);
});

/** Opens a dpdk port in a fresh process (the EAL of this one is already up); returns the error text. */
function openInChild(eal: string): string {
  const native = new URL('../../src/port/native.js', import.meta.url).href;
  const script = `import('${native}').then((m) => {
    try { m.openNativePort('dpdk', {}, 'x', ${JSON.stringify(eal)}); console.log('opened'); }
    catch (e) { console.log(e.message); }
  })`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60_000 });
  return r.stdout.trim();
}

test('dpdk: start-up errors name the problem (missing hugepages, no ports, no such PCI device, a bad EAL argument)', (t) => {
  const reason = skipReason();
  if (reason) return t.skip(reason);
  assert.match(openInChild(EAL), /no ports found/);
  // PCI domain ffff does not exist on any machine.
  assert.match(openInChild('--no-huge --no-shconf -m 512 --no-telemetry -a ffff:ff:1f.7'), /no such PCI device ffff:ff:1f.7/);
  // getopt's complaint becomes the error; the EAL's usage text does not reach stdout.
  const bad = openInChild('--no-huge --no-shconf -m 512 --no-pci --bogus-flag');
  assert.match(bad, /^dpdk: rte_eal_init failed \(Invalid argument\): unrecognized option '--bogus-flag'/);
  assert.equal(bad.split('\n').length, 1, `only the error is printed: ${bad}`);
  const huge = /HugePages_Total:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'));
  if (huge !== null && huge[1] === '0') {
    assert.match(openInChild('--no-shconf -m 512 --no-pci --no-telemetry'), /no hugepages are reserved/);
  }
});

test('dpdk: net_tap: N frames sent appear on the kernel side of its tap byte for byte; frames the kernel sends arrive', async (t) => {
  const reason = skipReason(['tshark']);
  if (reason) return t.skip(reason);
  const lab = new NetnsLab('vgxdp-');
  t.after(() => lab.cleanup());
  const ns = lab.addNs('tap');
  // The PMD creates the tap device, in the namespace netns= names, and removes it on close.
  const port = openNativePort('dpdk', { netns: ns }, 'vgxdp-t', `${EAL} --vdev=net_tap0,iface=vgxdp-t`);
  let closed = false;
  t.after(() => closed || port.close());
  const q = port.openQueue(0, new BufferPool(1024), 32);
  t.after(() => closed || q.close());
  const kernelMac = lab.mac(ns, 'vgxdp-t');
  await assertTxToPeer(lab, ns, 'vgxdp-t', q, Array.from({ length: N }, (_, i) => probeFrame(kernelMac, port.caps.mac, i, 60 + (i % 40))));
  const sender = openNativePort('af_packet', { iface: 'vgxdp-t', netns: ns }, 'vgxdp-t');
  t.after(() => closed || sender.close());
  const sq = sender.openQueue(0, new BufferPool(256), 32);
  t.after(() => closed || sq.close());
  const sent = Array.from({ length: N }, (_, i) => probeFrame(port.caps.mac, kernelMac, i, 64 + (i % 100)));
  assert.equal(sendAll(sq, sent), N);
  // The kernel also sends its own frames out of a new device (IPv6 neighbour discovery): ours are 0x88b5.
  const got = rxAll(q, N + 20, 2000).filter((f) => f[12] === 0x88 && f[13] === 0xb5);
  assert.equal(got.length, N, 'every frame the kernel sent arrived');
  for (let i = 0; i < N; i++) assert.deepEqual(got[i], sent[i], `frame ${i} identical`);
  sq.close();
  sender.close();
  q.close();
  port.close();
  closed = true;
  assert.doesNotMatch(lab.run(ns, 'ip', ['-o', 'link']), /vgxdp-t/, 'close removes the tap device');
});

test('dpdk: net_null: receives 64-byte frames on every burst and accepts every frame sent', (t) => {
  const reason = skipReason();
  if (reason) return t.skip(reason);
  const port = openNativePort('dpdk', {}, 'net_null0', `${EAL} --vdev=net_null0`);
  t.after(() => port.close());
  const pool = new BufferPool(256);
  const q = port.openQueue(0, pool, 64);
  t.after(() => q.close());
  const out = new Int32Array(64);
  for (let i = 0; i < 4; i++) {
    assert.equal(q.rxBurst(out, 64), 64, 'a full burst every time');
    for (let k = 0; k < 64; k++) assert.equal(pool.dataLen[out[k]], 64);
    pool.freeBurst(out, 64);
  }
  assert.equal(sendAll(q, Array.from({ length: N }, (_, i) => probeFrame(Uint8Array.of(2, 0, 0, 0, 0, 9), port.caps.mac, i, 64))), N);
  assert.equal(q.stats().txFrames, N);
  assert.equal(q.stats().rxFrames, 4 * 64);
  assert.equal(pool.available, 256, 'every slot is back');
});

// Last in the file: DPDK 22.11's net_af_xdp leaves its queue bound after close
// in this process (docs/DRIVERS.md), so no test after it may open that interface.
test('dpdk: net_af_xdp on a veth: bursts of 256 receive every frame the peer sends, in order', (t) => {
  const reason = skipReason();
  if (reason) return t.skip(reason);
  if (!nativeDrivers().includes('af_xdp')) return t.skip('af_xdp driver not built (libxdp-dev libbpf-dev)');
  const { lab, port: ns, peer } = topology(t);
  // rxd=4096: the PMD primes its fill queue with 2048 buffers (1024 at the default rxd).
  const port = openNativePort('dpdk', { netns: ns, rxd: '4096' }, 'vgxdp-a', `${EAL} --vdev=net_af_xdp0,iface=vgxdp-a`);
  t.after(() => port.close());
  const q = port.openQueue(0, new BufferPool(4096), 256);
  t.after(() => q.close());
  const sender = openNativePort('af_packet', { iface: 'vgxdp-b', netns: peer }, 'vgxdp-b');
  t.after(() => sender.close());
  const sq = sender.openQueue(0, new BufferPool(256), 32);
  t.after(() => sq.close());
  // More frames than one burst of the PMD's (64) and fewer than its fill queue holds (2048):
  // all wait before the first read, so every read asks for 256 while 256 wait. Several
  // rounds: the fill queue must get back every buffer a round took.
  const count = 1500;
  const src = lab.mac(peer, 'vgxdp-b');
  const out = new Int32Array(256);
  let largest = 0;
  for (let round = 0; round < 4; round++) {
    assert.equal(sendAll(sq, Array.from({ length: count }, (_, i) => probeFrame(port.caps.mac, src, i, 64))), count);
    const got: number[] = [];
    const deadline = Date.now() + 3000;
    while (got.length < count && Date.now() < deadline) {
      const n = q.rxBurst(out, 256);
      largest = Math.max(largest, n);
      for (let i = 0; i < n; i++) {
        const f = q.pool.read(out[i]);
        if (f[12] === 0x88 && f[13] === 0xb5) got.push(f[14] | (f[15] << 8));
      }
      q.pool.freeBurst(out, n);
    }
    assert.equal(got.length, count, `round ${round}: every frame arrived`);
    assert.deepEqual(got, Array.from({ length: count }, (_, i) => i), `round ${round}: in order`);
  }
  assert.equal(largest, 256, 'one call returns a whole burst of 256');
});
