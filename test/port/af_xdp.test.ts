// The af_xdp driver (copy mode) against the kernel across a veth pair, both
// ends in namespaces the test creates (vgxdp-*, 198.18.252.0/24).
import { readdirSync } from 'node:fs';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BufferPool } from '../../src/core/buffer_pool.js';
import { nativeDrivers, nativeLoadError, openNativePort } from '../../src/port/native.js';
import { macHex, NetnsLab, netTestSkipReason, probeFrame, rxAll, sendAll } from '../helpers/netns.js';

const N = 200;

function skipReason(): string | null {
  if (!nativeDrivers().includes('af_xdp')) return nativeLoadError() || 'af_xdp driver not built (libxdp-dev, libbpf-dev)';
  return netTestSkipReason(['tshark', 'scapy']);
}

/** Namespaces vgxdp-port (vgxdp-a, the port's side) and vgxdp-peer (vgxdp-b, the kernel's). */
function topology(lab: NetnsLab, queues = 1): { port: string; peer: string } {
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
  return { port, peer };
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
  const lab = new NetnsLab('vgxdp-');
  t.after(() => lab.cleanup());
  const { port: ns, peer } = topology(lab);
  const port = openNativePort('af_xdp', { iface: 'vgxdp-a', netns: ns, mode: 'copy' }, 'vgxdp-a');
  t.after(() => port.close());
  assert.deepEqual([...port.caps.mac], [...lab.mac(ns, 'vgxdp-a')], 'caps report the interface MAC');
  const pool = new BufferPool(1024);
  const q = port.openQueue(0, pool, 32);
  t.after(() => q.close());
  const dst = lab.mac(peer, 'vgxdp-b');
  const sent = Array.from({ length: N }, (_, i) => probeFrame(dst, port.caps.mac, i, 60 + (i % 40)));
  const rx0 = lab.counter(peer, 'vgxdp-b', 'rx_packets');
  const cap = await lab.capture(peer, 'vgxdp-b', 'ether proto 0x88b5', N);
  assert.equal(sendAll(q, sent), N, 'all frames accepted');
  const got = await cap.frames();
  assert.equal(lab.counter(peer, 'vgxdp-b', 'rx_packets') - rx0, N, 'peer interface counted N frames');
  assert.equal(got.length, N, 'tshark captured N frames');
  for (let i = 0; i < N; i++) assert.deepEqual(got[i], sent[i], `frame ${i} identical on the wire`);
  const st = q.stats();
  assert.equal(st.txFrames, N);
  assert.equal(st.txBytes, sent.reduce((a, f) => a + f.length, 0));
  assert.equal(st.txDropped, 0);
  assert.equal(pool.available, 1024, 'sent slots went back to the pool');
});

test('af_xdp: frames injected by the peer arrive in the port', async (t) => {
  const reason = skipReason();
  if (reason) return t.skip(reason);
  const lab = new NetnsLab('vgxdp-');
  t.after(() => lab.cleanup());
  const { port: ns, peer } = topology(lab);
  const port = openNativePort('af_xdp', { iface: 'vgxdp-a', netns: ns }, 'vgxdp-a');
  t.after(() => port.close());
  const pool = new BufferPool(1024);
  const q = port.openQueue(0, pool, 64);
  t.after(() => q.close());
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
  const lab = new NetnsLab('vgxdp-');
  t.after(() => lab.cleanup());
  const { port: ns, peer } = topology(lab, 2);
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
  const flows = 64;
  const per = 5;
  const mac = macHex(port.caps.mac);
  lab.scapy(
    peer,
    `sendp([Ether(dst='${mac}')/IP(src='198.18.252.2', dst='198.18.252.1')/UDP(sport=10000 + f, dport=9)/Raw(bytes(20))
      for _ in range(${per}) for f in range(${flows})], iface='vgxdp-b')`,
  );
  const queuesOfFlow = new Map<number, Set<number>>();
  let total = 0;
  const out = new Int32Array(32);
  const deadline = Date.now() + 5000;
  while (total < flows * per && Date.now() < deadline) {
    for (let qi = 0; qi < 2; qi++) {
      const n = qs[qi].rxBurst(out, 32);
      for (let i = 0; i < n; i++) {
        const f = pool.read(out[i]);
        pool.free(out[i]);
        if (f[12] !== 0x08 || f[13] !== 0x00 || f[23] !== 17) continue; // IPv4 UDP from the peer only
        const sport = (f[34] << 8) | f[35];
        const set = queuesOfFlow.get(sport) ?? new Set<number>();
        set.add(qi);
        queuesOfFlow.set(sport, set);
        total++;
      }
    }
  }
  assert.equal(total, flows * per, 'all frames arrived');
  assert.equal(queuesOfFlow.size, flows);
  for (const [sport, set] of queuesOfFlow) assert.equal(set.size, 1, `flow ${sport} stayed on one queue`);
  const onQ0 = [...queuesOfFlow.values()].filter((set) => set.has(0)).length;
  assert.ok(onQ0 > 0 && onQ0 < flows, `flows spread over both queues (${onQ0} of ${flows} on queue 0)`);
});

test('af_xdp: close detaches the XDP program and frees the socket; reopening at once works', (t) => {
  const reason = skipReason();
  if (reason) return t.skip(reason);
  const lab = new NetnsLab('vgxdp-');
  t.after(() => lab.cleanup());
  const { port: ns } = topology(lab);
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
  assert.equal(pool.available, 256, 'reserved RX slots returned on close');
});

test('af_xdp: errors name the problem', (t) => {
  const reason = skipReason();
  if (reason) return t.skip(reason);
  const lab = new NetnsLab('vgxdp-');
  t.after(() => lab.cleanup());
  const { port: ns } = topology(lab);
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
