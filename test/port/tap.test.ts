// The tap driver against the kernel: the tap device is created inside a
// namespace the test owns (vgnat-tap), whose kernel is the peer.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { BufferPool } from '../../src/core/buffer_pool.js';
import { nativeDrivers, nativeLoadError, openNativePort } from '../../src/port/native.js';
import { assertFlowAffinity, assertTxToPeer, macHex, openTestQueue, probeFrame, rxAll } from '../helpers/frames.js';
import { NetnsLab, netTestSkipReason } from '../helpers/netns.js';

const N = 200;
const DEV = 'vgnat-t0';

function skipReason(): string | null {
  if (!nativeDrivers().includes('tap')) return nativeLoadError() || 'tap driver not built';
  return netTestSkipReason(['tshark', 'scapy']);
}

/** A fresh lab with namespace vgnat-tap, where the port creates DEV; queue 0 open. */
function setup(t: TestContext, burst: number) {
  const lab = new NetnsLab('vgnat-');
  t.after(() => lab.cleanup());
  const ns = lab.addNs('tap');
  return { lab, ns, ...openTestQueue(t, 'tap', { name: DEV, netns: ns }, DEV, 512, burst) };
}

test('tap: N frames sent from the port arrive at the kernel byte for byte', async (t) => {
  const reason = skipReason();
  if (reason) return t.skip(reason);
  const { lab, ns, port, q } = setup(t, 32);
  assert.ok(q.waitFd > 2, 'the queue offers a descriptor to wait on');
  const kernelMac = lab.mac(ns, DEV);
  assert.notDeepEqual([...port.caps.mac], [...kernelMac], 'the port has its own MAC');
  await assertTxToPeer(lab, ns, DEV, q, Array.from({ length: N }, (_, i) => probeFrame(kernelMac, port.caps.mac, i, 64)));
});

test('tap: frames the kernel sends out of the device arrive in the port', async (t) => {
  const reason = skipReason();
  if (reason) return t.skip(reason);
  const { lab, ns, port, q } = setup(t, 64);
  lab.scapy(
    ns,
    `sendp([Ether(dst='${macHex(port.caps.mac)}', type=0x88b5)/Raw(bytes([i & 255, i >> 8]) + bytes(40 + i % 50)) for i in range(${N})], iface='${DEV}')`,
  );
  const frames = rxAll(q, N, 5000);
  assert.equal(frames.length, N);
  for (let i = 0; i < N; i++) {
    assert.equal(frames[i][14] | (frames[i][15] << 8), i, 'in order');
    assert.equal(frames[i].length, 14 + 2 + 40 + (i % 50), 'length kept');
  }
  assert.equal(q.stats().rxFrames, N);
});

test('tap: multi-queue device keeps each flow on one queue; ports opened per thread share it', async (t) => {
  const reason = skipReason();
  if (reason) return t.skip(reason);
  const lab = new NetnsLab('vgnat-');
  t.after(() => lab.cleanup());
  const ns = lab.addNs('tap');
  // Each worker opens the port spec itself and takes its own queue.
  const spec = { name: DEV, netns: ns, queues: '2' };
  const ports = [openNativePort('tap', spec, DEV), openNativePort('tap', spec, DEV)];
  t.after(() => ports.forEach((p) => p.close()));
  const pool = new BufferPool(2048);
  const qs = [ports[0].openQueue(0, pool, 32), ports[1].openQueue(1, pool, 32)];
  t.after(() => qs.forEach((q) => q.close()));
  assert.throws(() => ports[0].openQueue(1, pool), /tap queue 1 is already open/);
  assert.throws(() => openNativePort('tap', { ...spec, queues: '3' }, DEV), /open in this process with 2 queues/);
  const txQueues = lab.run(ns, 'ls', [`/sys/class/net/${DEV}/queues`]).split('\n').filter((q) => q.startsWith('tx-'));
  assert.equal(txQueues.length, 2, 'the device has exactly 2 queues');
  assert.deepEqual([...ports[1].caps.mac], [...ports[0].caps.mac]);
  assertFlowAffinity(lab, ns, DEV, ports[0].caps.mac, qs, { flows: 16, per: 20, src: '198.18.251.2', dst: '198.18.251.1' });
});
