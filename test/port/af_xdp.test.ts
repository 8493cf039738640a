// The af_xdp driver (copy mode) against the kernel across a veth pair, both
// ends in namespaces the test creates (vgxdp-*, 198.18.252.0/24).
import { readdirSync } from 'node:fs';
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { BufferPool } from '../../src/core/buffer_pool.js';
import { nativeDrivers, nativeLoadError, openNativePort } from '../../src/port/native.js';
import { assertFlowAffinity, assertTxToPeer, macHex, openTestQueue, probeFrame, rxAll } from '../helpers/frames.js';
import { NetnsLab, netTestSkipReason } from '../helpers/netns.js';

const N = 200;

function skipReason(): string | null {
  if (!nativeDrivers().includes('af_xdp')) return nativeLoadError() || 'af_xdp driver not built (libxdp-dev, libbpf-dev)';
  return netTestSkipReason(['tshark', 'scapy']);
}

/**
 * A lab removed after the test, with namespaces vgxdp-port (vgxdp-a, the
 * port's side) and vgxdp-peer (vgxdp-b, the kernel's).
 */
function topology(t: TestContext, queues = 1): { lab: NetnsLab; port: string; peer: string } {
  const lab = new NetnsLab('vgxdp-');
  t.after(() => lab.cleanup());
  const port = lab.addNs('port');
  const peer = lab.addNs('peer');
  if (queues === 1) {
    lab.addVeth({ name: 'vgxdp-a', ns: port }, { name: 'vgxdp-b', ns: peer });
  } else {
    // addVeth makes single-queue pairs; XDP sockets bind per RX queue.
    const q = String(queues);
    lab.run(port, 'ip', ['link', 'add', 'vgxdp-a', 'numtxqueues', q, 'numrxqueues', q, 'type', 'veth', 'peer', 'name',
      'vgxdp-b', 'numtxqueues', q, 'numrxqueues', q, 'netns', peer]);
    lab.run(port, 'ip', ['link', 'set', 'vgxdp-a', 'up']);
    lab.run(peer, 'ip', ['link', 'set', 'vgxdp-b', 'up']);
  }
  lab.run(peer, 'ip', ['addr', 'add', '198.18.252.2/24', 'dev', 'vgxdp-b']);
  return { lab, port, peer };
}

/** XDP program ids attached to an interface (empty when none). */
function xdpProgs(lab: NetnsLab, ns: string, iface: string): string[] {
  return [...lab.run(ns, 'ip', ['-d', 'link', 'show', iface]).matchAll(/prog\/xdp id (\d+)/g)].map((m) => m[1]);
}

/** Descriptors this process has open (XDP sockets among them; the kernel here has no XSK diag for ss). */
function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

/** The frames of the probe ethertype (the kernel may add IPv6 chatter of its own). */
function probes(frames: Uint8Array[]): Uint8Array[] {
  return frames.filter((f) => f[12] === 0x88 && f[13] === 0xb5);
}

test('af_xdp: N frames sent from the port arrive at the kernel peer byte for byte', async (t) => {
  const reason = skipReason();
  if (reason) return t.skip(reason);
  const { lab, port: ns, peer } = topology(t);
  const { port, pool, q } = openTestQueue(t, 'af_xdp', { iface: 'vgxdp-a', netns: ns, mode: 'copy' }, 'vgxdp-a', 1024, 32);
  assert.deepEqual([...port.caps.mac], [...lab.mac(ns, 'vgxdp-a')], 'caps report the interface MAC');
  const dst = lab.mac(peer, 'vgxdp-b');
  await assertTxToPeer(lab, peer, 'vgxdp-b', q, Array.from({ length: N }, (_, i) => probeFrame(dst, port.caps.mac, i, 60 + (i % 40))));
  assert.equal(q.stats().txDropped, 0);
  assert.equal(pool.available, 1024, 'sent slots went back to the pool');
});

test('af_xdp: frames injected by the peer arrive in the port', async (t) => {
  const reason = skipReason();
  if (reason) return t.skip(reason);
  const { lab, port: ns, peer } = topology(t);
  const { port, q } = openTestQueue(t, 'af_xdp', { iface: 'vgxdp-a', netns: ns }, 'vgxdp-a', 1024, 64);
  const mac = macHex(port.caps.mac);
  const src = lab.mac(peer, 'vgxdp-b');
  lab.scapy(
    peer,
    `sendp([Ether(dst='${mac}', src='${macHex(src)}', type=0x88b5)/Raw(bytes([i & 255, i >> 8]) + bytes(range(i % 200))) for i in range(${N})], iface='vgxdp-b')`,
  );
  const frames = probes(rxAll(q, N, 5000));
  assert.equal(frames.length, N, 'all injected frames received');
  for (let i = 0; i < N; i++) {
    const f = frames[i];
    assert.deepEqual([...f.subarray(0, 12)], [...port.caps.mac, ...src], 'addresses');
    assert.equal((f[12] << 8) | f[13], 0x88b5);
    assert.equal(f[14] | (f[15] << 8), i, 'in order');
    // veth does not pad short frames: lengths and payload survive exactly.
    assert.equal(f.length, 16 + (i % 200));
    for (let j = 0; j < i % 200; j++) assert.equal(f[16 + j], j);
  }
  const st = q.stats();
  assert.ok(st.rxFrames >= N);
  assert.equal(st.rxDropped, 0);
});

test('af_xdp: two queues, one socket each; every flow stays on one queue and both queues get flows', async (t) => {
  const reason = skipReason();
  if (reason) return t.skip(reason);
  const { lab, port: ns, peer } = topology(t, 2);
  const port = openNativePort('af_xdp', { iface: 'vgxdp-a', netns: ns, queues: '2' }, 'vgxdp-a');
  t.after(() => port.close());
  assert.equal(port.queueCount, 2);
  assert.equal(port.caps.maxQueues, 2);
  const pool = new BufferPool(2048);
  const fds = openFds();
  const qs = [port.openQueue(0, pool, 32), port.openQueue(1, pool, 32)];
  t.after(() => qs.forEach((q) => q.close()));
  assert.ok(openFds() >= fds + 2, 'one XDP socket per queue');
  // veth delivers on the RX queue matching the peer's TX queue, which the
  // kernel picks by flow hash (the analogue of RSS): 64 flows of 5 frames.
  assertFlowAffinity(lab, peer, 'vgxdp-b', port.caps.mac, qs, { flows: 64, per: 5, src: '198.18.252.2', dst: '198.18.252.1' });
});

test('af_xdp: close detaches the XDP program and frees the socket; reopening at once works', (t) => {
  const reason = skipReason();
  if (reason) return t.skip(reason);
  const { lab, port: ns } = topology(t);
  const pool = new BufferPool(256);
  const fds = openFds();
  for (let round = 0; round < 3; round++) {
    const port = openNativePort('af_xdp', { iface: 'vgxdp-a', netns: ns, mode: 'copy', frames: '256' }, 'vgxdp-a');
    const q = port.openQueue(0, pool, 16);
    assert.equal(xdpProgs(lab, ns, 'vgxdp-a').length, 1, `round ${round}: program attached while open`);
    q.close();
    port.close();
    assert.deepEqual(xdpProgs(lab, ns, 'vgxdp-a'), [], `round ${round}: program detached after close`);
    // A socket left open would also hold the queue: the next round would fail with EBUSY.
    assert.equal(openFds(), fds, `round ${round}: no descriptor left open`);
  }
  assert.equal(pool.available, 256, 'no slot is held by a closed queue');
});

test('af_xdp: errors name the problem', (t) => {
  const reason = skipReason();
  if (reason) return t.skip(reason);
  const { lab, port: ns } = topology(t);
  assert.throws(() => openNativePort('af_xdp', { iface: 'vgxdp-none', netns: ns }, 'x'), /interface 'vgxdp-none' not found in netns vgxdp-port/);
  assert.throws(() => openNativePort('af_xdp', { netns: ns }, 'x'), /missing option iface/);
  assert.throws(() => openNativePort('af_xdp', { iface: 'vgxdp-a', netns: 'vgxdp-none' }, 'x'), /network namespace 'vgxdp-none' not found/);
  assert.throws(() => openNativePort('af_xdp', { iface: 'vgxdp-a', netns: ns, queues: '2' }, 'x'), /has 1 RX queue\(s\)/);
  assert.throws(() => openNativePort('af_xdp', { iface: 'vgxdp-a', netns: ns, mode: 'fast' }, 'x'), /mode=fast/);
  assert.throws(() => openNativePort('af_xdp', { iface: 'vgxdp-a', netns: ns, frames: '1000' }, 'x'), /power of two/);
  const port = openNativePort('af_xdp', { iface: 'vgxdp-a', netns: ns, mode: 'zerocopy' }, 'x');
  assert.throws(() => port.openQueue(0, new BufferPool(64), 16), /does not support zero-copy/);
  assert.throws(() => openNativePort('af_xdp', { iface: 'vgxdp-a', netns: ns }, 'y'), /already has an XDP program/);
  port.close();
  assert.deepEqual(xdpProgs(lab, ns, 'vgxdp-a'), [], 'closing the port after a failed bind leaves no program behind');
});
