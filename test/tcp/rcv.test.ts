import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TCP_ACK } from '../../src/wire/tcp.js';
import type { TcpOptions } from '../../src/net/tcp/api.js';
import { A_IP, B_IP, Recorder, ScriptRig, bytes, fromPeer, openConn, type Conn, type Seg } from './harness.js';

test('out-of-order segments are queued, SACKed (latest block first) and delivered in order once the hole fills', () => {
  const rig = new ScriptRig({ timestamps: false });
  const k = openConn(rig, { sackOk: true });
  const data = bytes(4000, 6);
  const seg = (from: number, to: number) => fromPeer(k, { seq: k.peerNxt + from, data: data.slice(from, to) });
  const [a1] = rig.exchange(seg(1000, 2000));
  assert.equal(a1.ack, k.peerNxt);
  assert.deepEqual(a1.sack, [[k.peerNxt + 1000, k.peerNxt + 2000]]);
  const [a2] = rig.exchange(seg(3000, 4000));
  assert.deepEqual(a2.sack, [
    [k.peerNxt + 3000, k.peerNxt + 4000],
    [k.peerNxt + 1000, k.peerNxt + 2000],
  ]);
  // A duplicate of queued data changes nothing but is acknowledged.
  assert.equal(rig.exchange(seg(1000, 2000)).length, 1);
  assert.equal(k.app.bytes(k.c).length, 0);
  const [a3] = rig.exchange(seg(0, 1000));
  assert.equal(a3.ack, k.peerNxt + 2000);
  assert.deepEqual(a3.sack, [[k.peerNxt + 3000, k.peerNxt + 4000]]);
  const [a4] = rig.exchange(seg(1500, 3500)); // overlaps both sides of the last hole
  assert.equal(a4.ack, k.peerNxt + 4000);
  assert.equal(a4.sack, undefined);
  assert.deepEqual(k.app.bytes(k.c), data);
  assert.equal(rig.tcp.chunks.available, rig.tcp.chunks.count);
});

test('delayed ACK: every second segment is acknowledged at once, a lone one after the delayed-ACK time', () => {
  const rig = new ScriptRig({ timestamps: false, delayedAckUs: 40_000 });
  const k = openConn(rig);
  assert.deepEqual(rig.exchange(fromPeer(k, { data: new Uint8Array(100) })), []);
  const [a] = rig.exchange(fromPeer(k, { seq: k.peerNxt + 100, data: new Uint8Array(100) }));
  assert.equal(a.ack, k.peerNxt + 200);
  assert.deepEqual(rig.exchange(fromPeer(k, { seq: k.peerNxt + 200, data: new Uint8Array(100) })), []);
  assert.deepEqual(rig.advance(39_000), []);
  const [d] = rig.advance(2000);
  assert.equal(d.flags, TCP_ACK);
  assert.equal(d.ack, k.peerNxt + 300);
});

test('PAWS (RFC 7323 §5): a segment with an older timestamp is dropped and answered with an ACK', () => {
  const rig = new ScriptRig();
  const k = openConn(rig, { ts: [1000, 0] });
  rig.exchange(fromPeer(k, { ts: [1010, k.nodeTs], data: new Uint8Array([1, 2, 3]) }));
  assert.equal(rig.tcp.t.tsRecent[k.c], 1010);
  const [a] = rig.exchange(fromPeer(k, { seq: k.peerNxt + 3, ts: [1005, k.nodeTs], data: new Uint8Array([4, 5]) }));
  assert.equal(a.flags, TCP_ACK);
  assert.equal(a.ack, k.peerNxt + 3);
  assert.deepEqual(a.ts?.[1], 1010);
  assert.equal(rig.tcp.counters.pawsDrops, 1);
  assert.deepEqual(k.app.bytes(k.c), Uint8Array.of(1, 2, 3));
  // Wrap-around: 0x7fffffff ahead is still "newer".
  rig.exchange(fromPeer(k, { seq: k.peerNxt + 3, ts: [(1010 + 0x7ffffff0) >>> 0, k.nodeTs], data: new Uint8Array([4]) }));
  assert.deepEqual(k.app.bytes(k.c), Uint8Array.of(1, 2, 3, 4));
});

test('segments outside the receive window are acknowledged and dropped; data beyond the window is trimmed', () => {
  const rig = new ScriptRig({ timestamps: false, rcvBuf: 2000, windowScale: false });
  const k = openConn(rig);
  const [a] = rig.exchange(fromPeer(k, { seq: k.peerNxt + 5000, data: new Uint8Array(10) }));
  assert.equal(a.ack, k.peerNxt);
  assert.equal(a.win, 2000);
  assert.equal(rig.tcp.counters.outOfWindow, 1);
  rig.exchange(fromPeer(k, { data: bytes(3000) }));
  assert.equal(k.app.bytes(k.c).length, 2000);
});

test('the out-of-order queue of one connection is bounded, so tiny segments cannot drain the shared chunk pool', () => {
  const rig = new ScriptRig({ timestamps: false, rcvBuf: 4096, windowScale: false });
  const k = openConn(rig);
  // Bytes 10..17 one by one (queued), then 12 more beyond them (over the bound: dropped).
  for (let i = 0; i < 20; i++) rig.exchange(fromPeer(k, { seq: k.peerNxt + (i < 8 ? 10 + i : 30 + i), data: Uint8Array.of(i) }));
  assert.equal(rig.tcp.t.rcvSpace[k.c], 4096, 'the window: 8 quarter-full chunks');
  assert.equal(rig.tcp.chunks.count - rig.tcp.chunks.available, 8);
  assert.equal(rig.tcp.counters.oooDropped, 12);
  rig.exchange(fromPeer(k, { data: new Uint8Array(10) }));
  assert.equal(rig.tcp.chunks.available, rig.tcp.chunks.count);
  assert.equal(k.app.bytes(k.c).length, 18);
});

/** An open connection whose handshake took 10 ms and negotiated window scaling (the peer's shift 7), and a sender of its data. */
function scaledConn(opts: Partial<TcpOptions>): { rig: ScriptRig; k: Conn; send: (n: number) => Seg[]; sent: () => number } {
  const rig = new ScriptRig({ timestamps: false, ...opts });
  const app = new Recorder();
  const c = rig.tcp.connect(A_IP, B_IP, 80, app);
  const [syn] = rig.sent();
  rig.advance(10_000);
  rig.exchange({ sport: 80, dport: syn.sport, seq: 7000, ack: syn.seq + 1, flags: 0x12, win: 65535, mss: 1000, ws: 7, sackOk: true });
  const k: Conn = { rig, app, c, port: syn.sport, sndNxt: syn.seq + 1, peerNxt: 7001, nodeTs: 0 };
  let seq = k.peerNxt;
  const send = (n: number): Seg[] => {
    const out = rig.exchange(fromPeer(k, { seq, data: new Uint8Array(n) }));
    seq = (seq + n) >>> 0;
    return out;
  };
  return { rig, k, send, sent: () => (seq - k.peerNxt) >>> 0 };
}

test('receive-window autotuning: a peer that fills the window in a round trip doubles it each trip, up to the ceiling; the scale says the ceiling', () => {
  const { rig, k, send, sent } = scaledConn({ rcvBuf: 64 * 1024, rcvBufMax: 1024 * 1024 });
  assert.equal(rig.tcp.t.rcvWs[k.c], 5, '1 MB >> 5 fits 16 bits');
  const space = (): number => rig.tcp.t.rcvSpace[k.c];
  assert.equal(space(), 64 * 1024);
  const seen = [space()];
  // Each round trip (10 ms, the handshake's) the peer sends a whole window; the trip's end is seen with the next segment.
  for (let trip = 0; trip < 6; trip++) {
    const w = space();
    for (let sent = 0; sent < w; sent += 1000) send(Math.min(1000, w - sent));
    rig.advance(11_000);
    send(1);
    seen.push(space());
  }
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i] >= Math.min(2 * seen[i - 1], 1024 * 1024), `windows per trip: ${seen.join(', ')}`);
  assert.equal(seen.at(-1), 1024 * 1024, 'grown to the ceiling, no further');
  assert.equal(rig.tcp.counters.rcvWindowGrowths, seen.filter((w, i) => i > 0 && w > seen[i - 1]).length);
  const a = send(1).at(-1) ?? rig.advance(50_000).at(-1);
  assert.equal(a?.win, (1024 * 1024) >>> 5, 'the ACK offers the grown window');
  assert.equal(k.app.bytes(k.c).length, sent(), 'every byte delivered');
});

test('receive-window autotuning leaves a window alone that the peer does not fill, and is off when rcvBufMax is rcvBuf', () => {
  for (const [max, filled] of [[1024 * 1024, false], [64 * 1024, true]] as const) {
    const { rig, k, send } = scaledConn({ rcvBuf: 64 * 1024, rcvBufMax: max });
    for (let trip = 0; trip < 4; trip++) {
      for (let n = 0; n < (filled ? 64 * 1024 : 1000); n += 1000) send(1000);
      rig.advance(11_000);
    }
    assert.equal(rig.tcp.t.rcvSpace[k.c], 64 * 1024, `ceiling ${max}, window ${filled ? '' : 'not '}filled`);
    assert.equal(rig.tcp.counters.rcvWindowGrowths, 0);
  }
});
