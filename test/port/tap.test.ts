// The tap driver against the kernel: the tap device is created inside a
// namespace the test owns (vgnat-tap), whose kernel is the peer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BufferPool } from '../../src/core/buffer_pool.js';
import { nativeDrivers, nativeLoadError, openNativePort } from '../../src/port/native.js';
import {
  flowSummary,
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
const DEV = 'vgnat-t0';

function skipReason(): string | null {
  if (!nativeDrivers().includes('tap')) return nativeLoadError() || 'tap driver not built';
  return netTestSkipReason(['tshark', 'scapy']);
}

test('tap: N frames sent from the port arrive at the kernel byte for byte', async (t) => {
  const reason = skipReason();
  if (reason) return t.skip(reason);
  const lab = new NetnsLab('vgnat-');
  t.after(() => lab.cleanup());
  const ns = lab.addNs('tap');
  const port = openNativePort('tap', { name: DEV, netns: ns }, DEV);
  t.after(() => port.close());
  const pool = new BufferPool(512);
  const q = port.openQueue(0, pool, 32);
  t.after(() => q.close());
  assert.ok(q.waitFd > 2, 'the queue offers a descriptor to wait on');
  const kernelMac = lab.mac(ns, DEV);
  assert.notDeepEqual([...port.caps.mac], [...kernelMac], 'the port has its own MAC');
  const sent = Array.from({ length: N }, (_, i) => probeFrame(kernelMac, port.caps.mac, i, 64));
  const rx0 = lab.counter(ns, DEV, 'rx_packets');
  const cap = await lab.capture(ns, DEV, 'ether proto 0x88b5', N);
  assert.equal(sendAll(q, sent), N);
  const got = await cap.frames();
  assert.equal(lab.counter(ns, DEV, 'rx_packets') - rx0, N, 'kernel interface counted N frames');
  assert.equal(got.length, N, 'tshark captured N frames');
  for (let i = 0; i < N; i++) assert.deepEqual(got[i], sent[i], `frame ${i} identical`);
  assert.equal(q.stats().txFrames, N);
  assert.equal(q.stats().txBytes, N * 64);
});

test('tap: frames the kernel sends out of the device arrive in the port', async (t) => {
  const reason = skipReason();
  if (reason) return t.skip(reason);
  const lab = new NetnsLab('vgnat-');
  t.after(() => lab.cleanup());
  const ns = lab.addNs('tap');
  const port = openNativePort('tap', { name: DEV, netns: ns }, DEV);
  t.after(() => port.close());
  const pool = new BufferPool(512);
  const q = port.openQueue(0, pool, 64);
  t.after(() => q.close());
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
  lab.scapy(ns, udpFlowsScript(ports[0].caps.mac, DEV, 16, 20));
  const seen = flowSummary(udpFlowQueues(qs, 16 * 20, 5000));
  assert.equal(seen.flows, 16, 'every flow arrived');
  assert.deepEqual(seen.split, [], 'no flow split over queues');
  assert.equal(seen.queuesUsed, 2, '16 flows spread over both queues');
});
