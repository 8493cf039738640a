import assert from 'node:assert/strict';
import { test } from 'node:test';
import { F_RECOVERY } from '../../src/net/tcp/tcb.js';
import { ScriptRig, bytes, fromPeer, openConn } from './harness.js';

test('fast retransmit on the third duplicate ACK, window inflation, NewReno partial ACK, full ACK ends recovery', () => {
  const rig = new ScriptRig({ sack: false, timestamps: false });
  const k = openConn(rig, { mss: 1000 });
  const base = k.sndNxt;
  const data = bytes(15_000);
  assert.equal(rig.tcp.write(k.c, data, 0, data.length), data.length);
  const first = rig.sent();
  assert.deepEqual(first.map((s) => s.seq - base), [0, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000]); // IW10
  // Segments 0 and 3 are lost; 1, 2 draw duplicate ACKs.
  const dup = fromPeer(k, { ack: base });
  assert.deepEqual(rig.exchange(dup), []);
  assert.deepEqual(rig.exchange(dup), []);
  const [rx] = rig.exchange(dup);
  assert.equal(rx.seq, base);
  assert.deepEqual(rx.data, data.subarray(0, 1000));
  const t = rig.tcp.t;
  assert.equal(t.ssthresh[k.c], 5000);
  assert.equal(t.cwnd[k.c], 8000);
  assert.ok((t.flags[k.c] & F_RECOVERY) !== 0);
  // Each further duplicate inflates cwnd by one MSS; beyond the flight new data goes out.
  assert.deepEqual(rig.exchange(dup), []);
  assert.deepEqual(rig.exchange(dup), []);
  const [nu] = rig.exchange(dup);
  assert.equal(nu.seq - base, 10_000);
  // Partial ACK (up to the second hole): the next unacknowledged segment goes out at once.
  const part = rig.exchange(fromPeer(k, { ack: base + 3000 }));
  assert.equal(part[0].seq - base, 3000);
  assert.deepEqual(part[0].data, data.subarray(3000, 4000));
  assert.ok((t.flags[k.c] & F_RECOVERY) !== 0);
  // Full ACK of everything sent before recovery: out of recovery, cwnd deflated to ssthresh at most.
  rig.exchange(fromPeer(k, { ack: base + 10_000 }));
  assert.equal(t.flags[k.c] & F_RECOVERY, 0);
  assert.ok(t.cwnd[k.c] <= 5000);
  assert.equal(rig.tcp.counters.fastRetransmits, 1);
});

test('SACK: recovery retransmits exactly the holes the scoreboard shows, in order', () => {
  const rig = new ScriptRig({ timestamps: false });
  const k = openConn(rig, { mss: 1000, sackOk: true });
  const base = k.sndNxt;
  const data = bytes(10_000, 3);
  rig.tcp.write(k.c, data, 0, data.length);
  assert.equal(rig.sent().length, 10);
  const b = (x: number) => base + x;
  // Segments 2 and 5 are lost: an ACK up to the first, then duplicates carrying SACK blocks.
  assert.deepEqual(rig.exchange(fromPeer(k, { ack: b(2000) })), []);
  assert.deepEqual(rig.exchange(fromPeer(k, { ack: b(2000), sack: [[b(3000), b(4000)]] })), []);
  assert.deepEqual(rig.exchange(fromPeer(k, { ack: b(2000), sack: [[b(3000), b(5000)]] })), []);
  const [r1] = rig.exchange(fromPeer(k, { ack: b(2000), sack: [[b(6000), b(7000)], [b(3000), b(5000)]] }));
  assert.equal(r1.seq, b(2000));
  assert.deepEqual(r1.data, data.subarray(2000, 3000));
  const [r2] = rig.exchange(fromPeer(k, { ack: b(2000), sack: [[b(6000), b(8000)], [b(3000), b(5000)]] }));
  assert.equal(r2.seq, b(5000));
  assert.deepEqual(r2.data, data.subarray(5000, 6000));
  // Nothing else is missing below the highest SACKed byte: no more retransmissions.
  const r3 = rig.exchange(fromPeer(k, { ack: b(2000), sack: [[b(6000), b(9000)], [b(3000), b(5000)]] }));
  assert.ok(r3.every((s) => s.seq - base >= 10_000 || s.data === undefined));
  assert.equal(rig.tcp.counters.retransSegs, 2);
  // The first hole's retransmission arrives: a partial ACK up to the second hole.
  rig.exchange(fromPeer(k, { ack: b(5000), sack: [[b(6000), b(9000)]] }));
  rig.exchange(fromPeer(k, { ack: b(10_000) }));
  assert.equal(rig.tcp.t.flags[k.c] & F_RECOVERY, 0);
  assert.equal(rig.tcp.counters.retransSegs, 2);
});
