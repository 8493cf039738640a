// The af_packet driver against the kernel across a veth pair, both ends in
// namespaces the test creates (vgnat-*, 198.18.251.0/24).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { BufferPool } from '../../src/core/buffer_pool.js';
import { nativeDrivers, nativeLoadError, openNativePort } from '../../src/port/native.js';
import {
  flowSummary,
  l4ChecksumOk,
  macHex,
  NetnsLab,
  netTestSkipReason,
  probeFrame,
  rxAll,
  sendAll,
  udpFlowQueues,
  udpFlowsScript,
} from '../helpers/netns.js';

const N = 200;

function skipReason(): string | null {
  if (!nativeDrivers().includes('af_packet')) return nativeLoadError() || 'af_packet driver not built';
  return netTestSkipReason(['tshark', 'ethtool', 'scapy']);
}

/** Namespaces vgnat-port (vgnat-a, the port's side) and vgnat-peer (vgnat-b, the kernel's). */
function topology(lab: NetnsLab): { port: string; peer: string } {
  const port = lab.addNs('port');
  const peer = lab.addNs('peer');
  lab.addVeth({ name: 'vgnat-a', ns: port }, { name: 'vgnat-b', ns: peer });
  // Full checksums and no GSO super-frames from the kernel peer (see port_af_packet.cc).
  lab.run(peer, 'ethtool', ['-K', 'vgnat-b', 'tx', 'off']);
  lab.run(peer, 'ip', ['addr', 'add', '198.18.251.2/24', 'dev', 'vgnat-b']);
  return { port, peer };
}

test('af_packet: N frames sent from the port arrive at the kernel peer byte for byte', async (t) => {
  const reason = skipReason();
  if (reason) return t.skip(reason);
  const lab = new NetnsLab('vgnat-');
  t.after(() => lab.cleanup());
  const { port: ns, peer } = topology(lab);
  const port = openNativePort('af_packet', { iface: 'vgnat-a', netns: ns }, 'vgnat-a');
  t.after(() => port.close());
  assert.deepEqual([...port.caps.mac], [...lab.mac(ns, 'vgnat-a')], 'caps report the interface MAC');
  const pool = new BufferPool(1024);
  const q = port.openQueue(0, pool, 32);
  t.after(() => q.close());
  assert.ok(q.waitFd > 2, 'the queue offers a descriptor to wait on');
  const dst = lab.mac(peer, 'vgnat-b');
  const sent = Array.from({ length: N }, (_, i) => probeFrame(dst, port.caps.mac, i, 64));
  const rx0 = lab.counter(peer, 'vgnat-b', 'rx_packets');
  const cap = await lab.capture(peer, 'vgnat-b', 'ether proto 0x88b5', N);
  assert.equal(sendAll(q, sent), N, 'all frames accepted');
  const got = await cap.frames();
  assert.equal(lab.counter(peer, 'vgnat-b', 'rx_packets') - rx0, N, 'peer interface counted N frames');
  assert.equal(got.length, N, 'tshark captured N frames');
  for (let i = 0; i < N; i++) assert.deepEqual(got[i], sent[i], `frame ${i} identical on the wire`);
  const st = q.stats();
  assert.equal(st.txFrames, N);
  assert.equal(st.txBytes, N * 64);
  assert.equal(pool.available, 1024, 'sent slots went back to the pool');
});

for (const rx of ['ring', 'mmsg']) {
  test(`af_packet rx=${rx}: frames injected by the peer arrive in the port, VLAN tags re-inserted`, async (t) => {
    const reason = skipReason();
    if (reason) return t.skip(reason);
    const lab = new NetnsLab('vgnat-');
    t.after(() => lab.cleanup());
    const { port: ns, peer } = topology(lab);
    const port = openNativePort('af_packet', { iface: 'vgnat-a', netns: ns, rx }, 'vgnat-a');
    t.after(() => port.close());
    const pool = new BufferPool(1024);
    const q = port.openQueue(0, pool, 64);
    t.after(() => q.close());
    const mac = macHex(port.caps.mac);
    // Plain frames, then tagged ones: the kernel strips the tag into metadata on receive.
    lab.scapy(
      peer,
      `fs = [Ether(dst='${mac}', type=0x88b5)/Raw(bytes([i & 255, i >> 8]) + bytes(60)) for i in range(${N})]
fs += [Ether(dst='${mac}')/Dot1Q(vlan=100 + i, prio=5)/Raw(b'tagged' + bytes([i]) + bytes(50)) for i in range(10)]
sendp(fs, iface='vgnat-b')`,
    );
    const frames = rxAll(q, N + 10, 5000);
    assert.equal(frames.length, N + 10, 'all injected frames received');
    for (let i = 0; i < N; i++) {
      assert.deepEqual([...frames[i].subarray(0, 6)], [...port.caps.mac]);
      assert.equal((frames[i][12] << 8) | frames[i][13], 0x88b5);
      assert.equal(frames[i][14] | (frames[i][15] << 8), i, 'in order');
      assert.equal(frames[i].length, 76);
    }
    for (let i = 0; i < 10; i++) {
      const f = frames[N + i];
      assert.equal((f[12] << 8) | f[13], 0x8100, 'tag back in the frame');
      assert.equal(((f[14] << 8) | f[15]) & 0xfff, 100 + i, 'VLAN id kept');
      assert.equal(f[14] >> 5, 5, 'priority kept');
      assert.equal(Buffer.from(f.subarray(18, 24)).toString(), 'tagged');
    }
    assert.equal(q.stats().rxFrames, N + 10);
  });

  test(`af_packet rx=${rx}: GSO super-frames are dropped and counted; with peer tx off they arrive`, async (t) => {
    const reason = skipReason();
    if (reason) return t.skip(reason);
    const lab = new NetnsLab('vgnat-');
    t.after(() => lab.cleanup());
    const { port: ns, peer } = topology(lab);
    const port = openNativePort('af_packet', { iface: 'vgnat-a', netns: ns, rx }, 'vgnat-a');
    t.after(() => port.close());
    const pool = new BufferPool(256);
    const q = port.openQueue(0, pool, 32);
    t.after(() => q.close());
    lab.run(peer, 'ip', ['neigh', 'replace', '198.18.251.1', 'lladdr', macHex(port.caps.mac), 'dev', 'vgnat-b']);
    // One 8000-byte UDP send segmented at 1000 bytes (UDP_SEGMENT): a single GSO
    // skb while the veth offers segmentation offload, 8 datagrams once it does not.
    const send = () =>
      lab.run(peer, '/usr/bin/python3', [
        '-c',
        `import socket
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.setsockopt(socket.SOL_UDP, 103, 1000)
u.sendto(bytes(8000), ('198.18.251.1', 9000))`,
      ]);
    lab.run(peer, 'ethtool', ['-K', 'vgnat-b', 'tx', 'on', 'tx-udp-segmentation', 'on']);
    send();
    assert.deepEqual(rxAll(q, 1, 1000), [], 'the super-frame does not fit a slot');
    assert.equal(q.stats().rxDropped, 1, 'and is counted');
    lab.run(peer, 'ethtool', ['-K', 'vgnat-b', 'tx', 'off']);
    send();
    const frames = rxAll(q, 8, 3000);
    assert.equal(frames.length, 8, 'segmented by the kernel: 8 datagrams');
    for (const f of frames) {
      assert.equal(f.length, 14 + 20 + 8 + 1000);
      assert.ok(l4ChecksumOk(f));
    }
  });

  test(`af_packet rx=${rx}: partial checksums from a peer with TX offload are completed`, async (t) => {
    const reason = skipReason();
    if (reason) return t.skip(reason);
    const lab = new NetnsLab('vgnat-');
    t.after(() => lab.cleanup());
    const { port: ns, peer } = topology(lab);
    lab.run(peer, 'ethtool', ['-K', 'vgnat-b', 'tx', 'on']);
    const port = openNativePort('af_packet', { iface: 'vgnat-a', netns: ns, rx }, 'vgnat-a');
    t.after(() => port.close());
    const pool = new BufferPool(256);
    const q = port.openQueue(0, pool, 32);
    t.after(() => q.close());
    lab.run(peer, 'ip', ['neigh', 'replace', '198.18.251.1', 'lladdr', macHex(port.caps.mac), 'dev', 'vgnat-b']);
    // Kernel UDP and TCP sockets: with TX checksum offload on veth they leave the checksum partial.
    lab.run(peer, '/usr/bin/python3', [
      '-c',
      `import socket
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(5): u.sendto(b'partial-%d' % i * 20, ('198.18.251.1', 9000 + i))
s = socket.socket(); s.setblocking(False)
try: s.connect(('198.18.251.1', 80))
except BlockingIOError: pass`,
    ]);
    const frames = rxAll(q, 6, 3000).filter((f) => f[12] === 0x08 && f[13] === 0x00);
    assert.equal(frames.length, 6, '5 UDP datagrams and a TCP SYN');
    for (const f of frames) assert.ok(l4ChecksumOk(f), 'L4 checksum valid');
  });
}

test('af_packet: fanout over 2 queues keeps each flow on one queue', async (t) => {
  const reason = skipReason();
  if (reason) return t.skip(reason);
  const lab = new NetnsLab('vgnat-');
  t.after(() => lab.cleanup());
  const { port: ns, peer } = topology(lab);
  const port = openNativePort('af_packet', { iface: 'vgnat-a', netns: ns, queues: '2' }, 'vgnat-a');
  t.after(() => port.close());
  assert.equal(port.queueCount, 2);
  const pool = new BufferPool(2048);
  const qs = [port.openQueue(0, pool, 32), port.openQueue(1, pool, 32)];
  t.after(() => qs.forEach((q) => q.close()));
  lab.scapy(peer, udpFlowsScript(port.caps.mac, 'vgnat-b', 16, 20));
  const seen = flowSummary(udpFlowQueues(qs, 16 * 20, 5000));
  assert.equal(seen.flows, 16, 'every flow arrived');
  assert.deepEqual(seen.split, [], 'no flow split over queues');
  assert.equal(seen.queuesUsed, 2, '16 flows spread over both queues');
});

test('af_packet: a worker thread attaches to the port by handle and sends on its queue', async (t) => {
  const reason = skipReason();
  if (reason) return t.skip(reason);
  const lab = new NetnsLab('vgnat-');
  t.after(() => lab.cleanup());
  const { port: ns, peer } = topology(lab);
  const port = openNativePort('af_packet', { iface: 'vgnat-a', netns: ns }, 'vgnat-a');
  t.after(() => port.close());
  const rx0 = lab.counter(peer, 'vgnat-b', 'rx_packets');
  const here = (p: string) => JSON.stringify(new URL(p, import.meta.url).href);
  const w = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
    Promise.all([import(${here('../../src/port/native.js')}), import(${here('../../src/core/buffer_pool.js')}),
                 import(${here('../helpers/netns.js')})]).then(([n, b, h]) => {
      const port = n.attachNativePort(workerData.handle, 'vgnat-a');
      const pool = new b.BufferPool(256);
      const q = port.openQueue(0, pool, 32);
      const dst = Uint8Array.from(workerData.dst);
      const sent = h.sendAll(q, Array.from({ length: ${N} }, (_, i) => h.probeFrame(dst, port.caps.mac, i, 64)));
      const st = q.stats();
      q.close();
      port.close();
      parentPort.postMessage({ sent, txFrames: st.txFrames });
    });`,
    { eval: true, workerData: { handle: port.handle, dst: [...lab.mac(peer, 'vgnat-b')] } },
  );
  const msg = await new Promise<{ sent: number; txFrames: number }>((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  });
  await w.terminate();
  assert.equal(msg.sent, N);
  assert.equal(msg.txFrames, N);
  assert.equal(lab.counter(peer, 'vgnat-b', 'rx_packets') - rx0, N, 'the peer counted the worker\'s frames');
  assert.equal(port.queueCount, 1, 'the main thread still holds the port');
});

test('af_packet: closing queues and the port releases every socket and ring mapping', (t) => {
  const reason = skipReason();
  if (reason) return t.skip(reason);
  const lab = new NetnsLab('vgnat-');
  t.after(() => lab.cleanup());
  const { port: ns } = topology(lab);
  const fds = () => readdirSync('/proc/self/fd').length;
  const socketMaps = () => readFileSync('/proc/self/maps', 'utf8').split('\n').filter((l) => l.includes('socket:')).length;
  const fd0 = fds();
  const maps0 = socketMaps();
  const pool = new BufferPool(256);
  const port = openNativePort('af_packet', { iface: 'vgnat-a', netns: ns, queues: '2' }, 'vgnat-a');
  const qs = [port.openQueue(0, pool, 32), port.openQueue(1, pool, 32)];
  assert.equal(fds(), fd0 + 2, 'one socket per queue');
  assert.equal(socketMaps(), maps0 + 2, 'one RX ring per queue');
  const out = new Int32Array(32);
  qs[0].rxBurst(out, 32);
  qs.forEach((q) => q.close());
  port.close();
  assert.equal(fds(), fd0);
  assert.equal(socketMaps(), maps0);
  assert.equal(pool.available, 256, 'slots reserved for RX went back to the pool');
  assert.equal(qs[0].rxBurst(out, 32), 0, 'a closed queue receives nothing');
  assert.equal(pool.available, 256, 'and reserves nothing');
  assert.equal(qs[0].lastError, 9, 'EBADF');
});
