/**
 * Steering of the UDP and ICMP client modes' replies between workers: a UDP
 * datagram goes to the worker owning its destination port, an echo reply to
 * the worker its identifier names (echoIdent), a port unreachable quoting a
 * UDP datagram to the worker whose port the datagram left from.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BufferPool } from '../../src/core/buffer_pool.js';
import { createFrameRing } from '../../src/core/frame_ring.js';
import { echoIdent, FlowSteer, portShare } from '../../src/net/flow_steer.js';

const CLIENT = 0xc6124001;
const PEER = 0xc6124002;

/** Ethernet + IPv4 (no options) of protocol `proto` to `dst`, then `l4` bytes written by `fill`; a fresh slot. */
function frame(pool: BufferPool, proto: number, dst: number, l4: number, fill: (dv: DataView, at: number) => void): number {
  const s = pool.alloc();
  const dv = pool.dv;
  const start = pool.base(s);
  dv.setUint16(start + 12, 0x0800);
  const ip = start + 14;
  dv.setUint8(ip, 0x45);
  dv.setUint8(ip + 9, proto);
  dv.setUint32(ip + 12, PEER);
  dv.setUint32(ip + 16, dst);
  fill(dv, ip + 20);
  pool.dataLen[s] = 14 + 20 + l4;
  return s;
}

function udp(pool: BufferPool, dstPort: number, dst = CLIENT): number {
  return frame(pool, 17, dst, 8, (dv, at) => {
    dv.setUint16(at, 7);
    dv.setUint16(at + 2, dstPort);
    dv.setUint16(at + 4, 8);
  });
}

function echoReply(pool: BufferPool, ident: number, type = 0): number {
  return frame(pool, 1, CLIENT, 8, (dv, at) => {
    dv.setUint8(at, type);
    dv.setUint16(at + 4, ident);
  });
}

function udpUnreachable(pool: BufferPool, quotedSrcPort: number): number {
  return frame(pool, 1, CLIENT, 8 + 28, (dv, at) => {
    dv.setUint8(at, 3);
    dv.setUint8(at + 1, 3);
    const q = at + 8;
    dv.setUint8(q, 0x45);
    dv.setUint8(q + 9, 17);
    dv.setUint32(q + 12, CLIENT);
    dv.setUint32(q + 16, PEER);
    dv.setUint16(q + 20, quotedSrcPort);
    dv.setUint16(q + 22, 7);
  });
}

test('echoIdent gives each worker identifiers that map back to it, within 16 bits, for any base', () => {
  for (const n of [1, 2, 3, 8, 64]) {
    for (const base of [0, 1, 777, 65535 - n, 65535]) {
      for (let w = 0; w < n; w++) {
        const id = echoIdent(base, w, n);
        assert.ok(id >= 0 && id <= 0xffff, `${id}`);
        assert.equal(id % n, w, `base ${base}, worker ${w} of ${n}`);
      }
    }
  }
});

test('FlowSteer: UDP by destination port, echo replies by identifier, port unreachables by the quoted source port', () => {
  const cfg = { rings: [createFrameRing(16), createFrameRing(16)], addrs: [{ lo: CLIENT, hi: CLIENT }] };
  const p0 = new BufferPool(64);
  const p1 = new BufferPool(64);
  const w0 = new FlowSteer(cfg, 0, p0, 16, () => {});
  const w1 = new FlowSteer(cfg, 1, p1, 16, () => {});
  const mine = portShare(0, 2).lo + 3;
  const theirs = portShare(1, 2).lo + 3;
  const slots = Int32Array.from([
    udp(p0, mine),
    udp(p0, theirs),
    udp(p0, theirs, CLIENT + 1), // to another address
    echoReply(p0, echoIdent(4242, 0, 2)),
    echoReply(p0, echoIdent(4242, 1, 2)),
    echoReply(p0, echoIdent(4242, 1, 2), 8), // an echo request is no reply of ours
    udpUnreachable(p0, mine),
    udpUnreachable(p0, theirs),
  ]);
  const passed = [1, 4, 7].map((i) => p0.read(slots[i]));
  assert.equal(w0.steer(slots, slots.length), 5);
  assert.equal(w0.out, 3);
  assert.equal(w1.take(), 3);
  assert.deepEqual([0, 1, 2].map((i) => p1.read(w1.slots[i])), passed);
});
