/**
 * The receiver's side of what RACK relies on: D-SACK blocks (RFC 2883) for
 * duplicates, so a sender can tell a spurious retransmission and widen its
 * reordering window, and a FIN that arrives out of order kept and SACKed
 * (as Linux keeps it) rather than dropped for the sender to resend.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TCP_FIN } from '../../src/wire/tcp.js';
import { ScriptRig, bytes, fromPeer, openConn } from './harness.js';

test('D-SACK: a duplicate below RCV.NXT is reported as the first SACK block', () => {
  const rig = new ScriptRig({ timestamps: false });
  const k = openConn(rig, { sackOk: true });
  const data = bytes(2000, 9);
  rig.exchange(fromPeer(k, { data: data.slice(0, 1000) }));
  rig.exchange(fromPeer(k, { seq: k.peerNxt + 1000, data: data.slice(1000, 2000) }));
  // The first segment again (a spurious retransmission).
  const [a] = rig.exchange(fromPeer(k, { data: data.slice(0, 1000) }));
  assert.equal(a.ack, k.peerNxt + 2000);
  assert.deepEqual(a.sack, [[k.peerNxt, k.peerNxt + 1000]]);
  // The next ACK has no D-SACK left over.
  const [b] = rig.exchange(fromPeer(k, { seq: k.peerNxt + 2000, data: bytes(1000, 10) }));
  assert.equal(b?.sack, undefined);
});

test('D-SACK: a duplicate of queued out-of-order data comes first, then the block holding it', () => {
  const rig = new ScriptRig({ timestamps: false });
  const k = openConn(rig, { sackOk: true });
  const data = bytes(4000, 11);
  const seg = (from: number, to: number) => fromPeer(k, { seq: k.peerNxt + from, data: data.slice(from, to) });
  rig.exchange(seg(1000, 2000));
  rig.exchange(seg(2000, 3000));
  const [a] = rig.exchange(seg(2000, 3000));
  assert.deepEqual(a.sack, [
    [k.peerNxt + 2000, k.peerNxt + 3000],
    [k.peerNxt + 1000, k.peerNxt + 3000],
  ]);
});

test('a FIN out of order is kept: its SACK block covers it, and it is processed once the hole fills', () => {
  const rig = new ScriptRig({ timestamps: false });
  const k = openConn(rig, { sackOk: true });
  const data = bytes(2000, 12);
  const [a] = rig.exchange(fromPeer(k, { seq: k.peerNxt + 1000, flags: 0x10 | TCP_FIN, data: data.slice(1000, 2000) }));
  assert.equal(a.ack, k.peerNxt);
  assert.deepEqual(a.sack, [[k.peerNxt + 1000, k.peerNxt + 2001]]);
  assert.ok(!k.app.events.some((e) => e.startsWith('peerclosed')));
  // The hole fills: data and the FIN are delivered, the FIN is acknowledged.
  const [b] = rig.exchange(fromPeer(k, { data: data.slice(0, 1000) }));
  assert.equal(b.ack, k.peerNxt + 2001);
  assert.equal(b.sack, undefined);
  assert.deepEqual(k.app.bytes(k.c), data);
  assert.ok(k.app.events.includes(`peerclosed ${k.c}`));
  // The same FIN alone out of order (no data with it) is SACKed as one sequence number.
  const rig2 = new ScriptRig({ timestamps: false });
  const k2 = openConn(rig2, { sackOk: true });
  const [c] = rig2.exchange(fromPeer(k2, { seq: k2.peerNxt + 500, flags: 0x10 | TCP_FIN }));
  assert.deepEqual(c.sack, [[k2.peerNxt + 500, k2.peerNxt + 501]]);
});
