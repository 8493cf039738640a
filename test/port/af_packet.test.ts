// The af_packet driver against the kernel across a veth pair, both ends in
// namespaces the test creates (vgnat-*, 198.18.251.0/24).
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { monotonicClock } from '../../src/common/clock.js';
import { BufferPool, HEADROOM } from '../../src/core/buffer_pool.js';
import { nativeDrivers, nativeLoadError, openNativePort } from '../../src/port/native.js';
import { assertFlowAffinity, assertTxToPeer, l4ChecksumOk, macHex, openTestQueue, probeFrame, rxAll } from '../helpers/frames.js';
import { NetnsLab, netTestSkipReason } from '../helpers/netns.js';

const N = 200;

function skipReason(): string | null {
  if (!nativeDrivers().includes('af_packet')) return nativeLoadError() || 'af_packet driver not built';
  return netTestSkipReason(['tshark', 'ethtool', 'scapy']);
}

/**
 * A lab removed after the test, with namespaces vgnat-port (vgnat-a, the
 * port's side) and vgnat-peer (vgnat-b, the kernel's).
 */
function topology(t: TestContext): { lab: NetnsLab; port: string; peer: string } {
  const lab = new NetnsLab('vgnat-');
  t.after(() => lab.cleanup());
  const port = lab.addNs('port');
  const peer = lab.addNs('peer');
  lab.addVeth({ name: 'vgnat-a', ns: port }, { name: 'vgnat-b', ns: peer });
  // Full checksums and no GSO super-frames from the kernel peer (see port_af_packet.cc).
  lab.run(peer, 'ethtool', ['-K', 'vgnat-b', 'tx', 'off']);
  lab.run(peer, 'ip', ['addr', 'add', '198.18.251.2/24', 'dev', 'vgnat-b']);
  return { lab, port, peer };
}

/** The topology of a fresh lab and an af_packet port on vgnat-a with `options`, queue 0 open. */
function setup(t: TestContext, options: Record<string, string>, slots: number, burst: number) {
  const { lab, port: ns, peer } = topology(t);
  return { lab, ns, peer, ...openTestQueue(t, 'af_packet', { iface: 'vgnat-a', netns: ns, ...options }, 'vgnat-a', slots, burst) };
}

test('af_packet: N frames sent from the port arrive at the kernel peer byte for byte', async (t) => {
  const reason = skipReason();
  if (reason) return t.skip(reason);
  const { lab, ns, peer, port, pool, q } = setup(t, {}, 1024, 32);
  assert.deepEqual([...port.caps.mac], [...lab.mac(ns, 'vgnat-a')], 'caps report the interface MAC');
  assert.ok(q.waitFd > 2, 'the queue offers a descriptor to wait on');
  const dst = lab.mac(peer, 'vgnat-b');
  await assertTxToPeer(lab, peer, 'vgnat-b', q, Array.from({ length: N }, (_, i) => probeFrame(dst, port.caps.mac, i, 64)));
  assert.equal(pool.available, 1024, 'sent slots went back to the pool');
});

for (const rx of ['ring', 'mmsg']) {
  test(`af_packet rx=${rx}: a receive pops slots off the pool only for the frames that arrived`, async (t) => {
    const reason = skipReason();
    if (reason) return t.skip(reason);
    const { lab, peer, port, pool, q } = setup(t, { rx }, 128, 64);
    // Freed slots keep the headroom of their last use: the receive must reset it.
    pool.dataOff.fill(7);
    const mac = macHex(port.caps.mac);
    const sentFrom = monotonicClock.nowUs();
    lab.scapy(peer, `sendp([Ether(dst='${mac}', type=0x88b5)/Raw(bytes([i]) + bytes(59)) for i in range(5)], iface='vgnat-b')`);
    const out = new Int32Array(64);
    const got: number[] = [];
    const seenBy: number[] = [];
    for (const deadline = Date.now() + 5000; got.length < 5 && Date.now() < deadline; ) {
      const n = q.rxBurst(out, 64);
      for (let i = 0; i < n; i++) got.push(out[i]);
      for (let i = 0; i < n; i++) seenBy.push(monotonicClock.nowUs());
      if (n === 0) await new Promise((r) => setTimeout(r, 5));
    }
    assert.equal(got.length, 5, 'five frames');
    // The ring carries the kernel's receive time of each frame, on the stack's clock: after the peer
    // began sending, before the burst that took it returned, in order. recvmmsg carries none here.
    // veth stamps transmits in software (ethtool -T: software-transmit): the ring's socket asks for them.
    assert.equal(q.wire.clock, rx === 'ring' ? 'kernel' : 'stack');
    if (rx === 'ring') {
      got.forEach((s, i) => {
        const at = q.wire.rxUs[s];
        assert.ok(at >= sentFrom && at <= seenBy[i] + 1, `frame ${i} received at ${at}: sending from ${sentFrom}, taken by ${seenBy[i]}`);
        if (i > 0) assert.ok(at >= q.wire.rxUs[got[i - 1]], 'stamps in arrival order');
      });
    }
    assert.equal(pool.available, 128 - 5, 'five slots taken, the other 59 of the window left on the stack');
    const onStack = [...pool.freeStack.subarray(0, pool.top)];
    assert.equal(new Set([...onStack, ...got]).size, 128, 'free and received slots are the whole pool, none twice');
    got.forEach((s, i) => {
      assert.equal(pool.dataOff[s], HEADROOM, 'frame starts after the default headroom');
      assert.equal(pool.dataLen[s], 74);
      assert.equal(pool.u8[pool.base(s) + 14], i, 'in order');
    });
    for (const s of got) pool.free(s);
    assert.equal(pool.available, 128);
  });

  test(`af_packet rx=${rx}: frames injected by the peer arrive in the port, VLAN tags re-inserted`, async (t) => {
    const reason = skipReason();
    if (reason) return t.skip(reason);
    const { lab, peer, port, q } = setup(t, { rx }, 1024, 64);
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
    const { lab, peer, port, q } = setup(t, { rx }, 256, 32);
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
    const { lab, peer, port, q } = setup(t, { rx }, 256, 32);
    lab.run(peer, 'ethtool', ['-K', 'vgnat-b', 'tx', 'on']);
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

test('af_packet ring: a TX burst is stamped by the device, after the hand-over and before the peer receives it', async (t) => {
  const reason = skipReason();
  if (reason) return t.skip(reason);
  const { lab, ns, peer, port, pool, q } = setup(t, {}, 256, 32);
  // The receiving end is a ring port too, so both stamps are the kernel's, on the same clock.
  const rx = openTestQueue(t, 'af_packet', { iface: 'vgnat-b', netns: peer }, 'vgnat-b', 256, 32);
  assert.equal(q.wire.clock, 'kernel', 'veth stamps transmits in software (ethtool -T: software-transmit)');
  const dst = lab.mac(peer, 'vgnat-b');
  assert.deepEqual([...lab.mac(ns, 'vgnat-a')], [...port.caps.mac]);
  const slots = new Int32Array(1);
  const out = new Int32Array(8);
  let last = -Infinity;
  for (let i = 0; i < 20; i++) {
    slots[0] = pool.alloc();
    pool.write(slots[0], probeFrame(dst, port.caps.mac, i, 64));
    const before = monotonicClock.nowUs();
    assert.equal(q.txBurst(slots, 1), 1);
    const after = monotonicClock.nowUs();
    const tx = q.wire.txUs[0];
    // The port namespace's kernel may send too (IPv6 autoconfiguration): the probe is the 0x88b5 frame.
    let at = -1;
    for (const deadline = Date.now() + 2000; at < 0 && Date.now() < deadline; ) {
      const n = rx.q.rxBurst(out, 8);
      for (let k = 0; k < n; k++) {
        const f = rx.pool.read(out[k]);
        if (f[12] === 0x88 && f[13] === 0xb5 && f[14] === i) at = rx.q.wire.rxUs[out[k]];
        rx.pool.free(out[k]);
      }
    }
    assert.ok(at >= 0, `frame ${i} arrived`);
    // A stale stamp (an earlier burst's) would fall before the hand-over; the device's comes after
    // the call began, within it (veth transmits inside the call), and before the peer's receive stamp.
    assert.ok(tx > before && tx <= after, `burst ${i}: stamp ${tx} outside the call [${before}, ${after}]`);
    assert.ok(tx <= at, `burst ${i}: stamped ${tx}, received ${at}`);
    assert.ok(tx > last, 'each burst has its own stamp');
    last = tx;
  }
});

test('af_packet: fanout over 2 queues keeps each flow on one queue', async (t) => {
  const reason = skipReason();
  if (reason) return t.skip(reason);
  const { lab, port: ns, peer } = topology(t);
  const port = openNativePort('af_packet', { iface: 'vgnat-a', netns: ns, queues: '2' }, 'vgnat-a');
  t.after(() => port.close());
  assert.equal(port.queueCount, 2);
  const pool = new BufferPool(2048);
  const qs = [port.openQueue(0, pool, 32), port.openQueue(1, pool, 32)];
  t.after(() => qs.forEach((q) => q.close()));
  assertFlowAffinity(lab, peer, 'vgnat-b', port.caps.mac, qs, { flows: 16, per: 20, src: '198.18.251.2', dst: '198.18.251.1' });
});

test('af_packet: a worker thread attaches to the port by handle and sends on its queue', async (t) => {
  const reason = skipReason();
  if (reason) return t.skip(reason);
  const { lab, port: ns, peer } = topology(t);
  const port = openNativePort('af_packet', { iface: 'vgnat-a', netns: ns }, 'vgnat-a');
  t.after(() => port.close());
  const rx0 = lab.counter(peer, 'vgnat-b', 'rx_packets');
  const here = (p: string) => JSON.stringify(new URL(p, import.meta.url).href);
  const w = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
    Promise.all([import(${here('../../src/port/native.js')}), import(${here('../../src/core/buffer_pool.js')}),
                 import(${here('../helpers/frames.js')})]).then(([n, b, h]) => {
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
  const { port: ns } = topology(t);
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
  assert.equal(pool.available, 256, 'no slot is held by a closed queue');
  assert.equal(qs[0].rxBurst(out, 32), 0, 'a closed queue receives nothing');
  assert.equal(pool.available, 256, 'and reserves nothing');
  assert.equal(qs[0].lastError, 9, 'EBADF');
});

test('af_packet promisc=1: the interface is promiscuous while the queues are open, and not after close', async (t) => {
  const reason = skipReason();
  if (reason) return t.skip(reason);
  const { lab, port: ns } = topology(t);
  // A packet membership counts in the device's promiscuity (ip -d link) and sets
  // IFF_PROMISC (0x100) in its flags, not in the flags `ip link` shows for `ip link set promisc`.
  const promiscuity = () => Number(/promiscuity (\d+)/.exec(lab.run(ns, 'ip', ['-d', 'link', 'show', 'vgnat-a']))?.[1]);
  const promiscFlag = () => (Number(lab.run(ns, 'cat', ['/sys/class/net/vgnat-a/flags'])) & 0x100) !== 0;
  const pool = new BufferPool(256);
  const plain = openNativePort('af_packet', { iface: 'vgnat-a', netns: ns }, 'vgnat-a');
  const q = plain.openQueue(0, pool, 32);
  assert.equal(promiscuity(), 0, 'not promiscuous by default');
  q.close();
  plain.close();
  const port = openNativePort('af_packet', { iface: 'vgnat-a', netns: ns, queues: '2', promisc: '1' }, 'vgnat-a');
  assert.equal(promiscuity(), 0, 'the memberships belong to the queue sockets');
  const qs = [port.openQueue(0, pool, 32), port.openQueue(1, pool, 32)];
  assert.equal(promiscuity(), 2, 'one membership per queue socket');
  assert.equal(promiscFlag(), true, 'promiscuous while open');
  qs[0].close();
  assert.equal(promiscuity(), 1, 'closing a queue drops its membership');
  qs[1].close();
  port.close();
  assert.equal(promiscuity(), 0);
  assert.equal(promiscFlag(), false, 'not promiscuous after close');
  assert.throws(() => openNativePort('af_packet', { iface: 'vgnat-a', netns: ns, promisc: 'maybe' }, 'x'), /promisc=maybe is not a boolean/);
  // A process killed while its queue is open leaves nothing behind: the kernel drops the membership.
  const url = (p: string) => JSON.stringify(new URL(p, import.meta.url).href);
  const child = lab.spawn(null, process.execPath, ['--input-type=module', '-e', `
    const n = await import(${url('../../src/port/native.js')});
    const b = await import(${url('../../src/core/buffer_pool.js')});
    const p = n.openNativePort('af_packet', { iface: 'vgnat-a', netns: '${ns}', promisc: '1' }, 'x');
    p.openQueue(0, new b.BufferPool(64), 16);
    console.log('open');
    setTimeout(() => {}, 30000);`]);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the child did not open its queue')), 10_000);
    child.stdout?.once('data', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  assert.equal(promiscuity(), 1, 'promiscuous while the child holds its queue');
  const exited = new Promise((resolve) => child.once('exit', resolve));
  process.kill(child.pid ?? -1, 'SIGKILL');
  await exited;
  assert.equal(promiscuity(), 0, 'not promiscuous once the child was killed');
});
