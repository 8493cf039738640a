/**
 * RFC 6675 conservative SACK-based loss recovery: IsLost and SetPipe on the
 * scoreboard, then a scripted recovery with several holes checking the pipe
 * after each ACK, that data leaves only while cwnd - pipe >= SMSS, NextSeg's
 * rules in order (lost hole, new data, rescue), and the exit.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SackBoard } from '../../src/net/tcp/sack.js';
import { F_PIPE, F_RECOVERY } from '../../src/net/tcp/tcb.js';
import { type Conn, bytes, fromPeer, sackConn } from './harness.js';

test('IsLost: three SACKed ranges above, or more than 2 SMSS SACKed above; SetPipe counts holes by it and HighRxt', () => {
  const s = new SackBoard(1);
  const mss = 1000;
  s.add(0, 3000, 5000); // 2 SMSS: not yet enough for 2000
  assert.equal(s.isLost(0, 2000, mss), false);
  s.add(0, 6000, 6001); // one byte more: more than 2 SMSS
  assert.equal(s.isLost(0, 2000, mss), true);
  assert.equal(s.isLost(0, 5000, mss), false); // only 1 byte above
  // Three small discontiguous ranges make the hole below them lost however few bytes they hold.
  const t = new SackBoard(1);
  for (const l of [2000, 2100, 2200]) t.add(0, l, l + 10);
  assert.equal(t.isLost(0, 1000, mss), true);
  assert.equal(t.isLost(0, 2010, mss), false);
  // SetPipe over [1000, 10000) with ranges [3000,5000) [6000,6001): hole [1000,3000) lost, [5000,6000) and [6001,10000) in flight.
  assert.equal(s.pipe(0, 1000, 10_000, 1000, mss), 1000 + 3999);
  // Retransmitted bytes (below HighRxt) count once more, lost or not.
  assert.equal(s.pipe(0, 1000, 10_000, 2000, mss), 1000 + 1000 + 3999);
  assert.equal(s.pipe(0, 1000, 10_000, 5500, mss), 2000 + 500 + 1000 + 3999);
  // The highest un-SACKed byte: the tail above the last range, else below it.
  assert.equal(s.highestUnsacked(0, 1000, 10_000), 10_000);
  assert.equal(s.highestUnsacked(0, 1000, 6001), 6000);
});

/** RFC 6675 SetPipe of the connection, as the sender computes it. */
function pipe(k: Conn): number {
  const t = k.rig.tcp.t;
  return k.rig.tcp.sack.pipe(k.c, t.sndUna[k.c], t.sndMax[k.c], t.highRxt[k.c], t.sndMss[k.c]);
}

test('SACK recovery by the pipe: three holes, sends only while cwnd - pipe >= SMSS, lost holes first, then un-SACKed ones, the rescue, the exit', () => {
  const { rig, k, base } = sackConn();
  const b = (x: number) => base + x;
  const data = bytes(13_000, 3);
  rig.tcp.write(k.c, data, 0, data.length);
  assert.equal(rig.sent().length, 10); // IW10: [0, 10000) out
  const t = rig.tcp.t;
  const c = k.c;
  const ack = (una: number, sack: [number, number][]) =>
    rig.exchange(fromPeer(k, { ack: b(una), sack: sack.map(([l, r]) => [b(l), b(r)] as [number, number]) })).map((s) => s.seq - base);
  // Segments 2, 5 and 10 are lost. The ACK of [0, 2000) grows cwnd to 11000: the last 3000 bytes go out.
  assert.deepEqual(ack(2000, []), [10_000, 11_000, 12_000]);
  assert.deepEqual(ack(2000, [[3000, 4000]]), []);
  assert.deepEqual(ack(2000, [[3000, 5000]]), []);
  assert.equal(t.flags[c] & F_RECOVERY, 0);
  // Third duplicate: recovery (RFC 6675 §5 step 4): ssthresh = cwnd = FlightSize / 2, the first hole resent.
  assert.deepEqual(ack(2000, [[6000, 7000], [3000, 5000]]), [2000]);
  assert.equal(t.flags[c] & (F_RECOVERY | F_PIPE), F_RECOVERY | F_PIPE);
  assert.equal(t.cwnd[c], 5500);
  // Pipe: [2000,3000) lost but resent (1000), [5000,6000) in flight (1000), [7000,13000) in flight (6000).
  assert.equal(pipe(k), 8000);
  // [5000,6000) has 2 SMSS SACKed above: not lost yet; pipe 7000 > cwnd: nothing leaves.
  assert.deepEqual(ack(2000, [[6000, 8000], [3000, 5000]]), []);
  assert.equal(pipe(k), 7000);
  // Lost now, but pipe 1000 + 4000 = 5000 leaves 500 < SMSS: still nothing.
  assert.deepEqual(ack(2000, [[6000, 9000], [3000, 5000]]), []);
  assert.equal(pipe(k), 5000);
  // Pipe 4000: room for one segment, NextSeg rule 1 (the lost hole).
  assert.deepEqual(ack(2000, [[6000, 10_000], [3000, 5000]]), [5000]);
  assert.equal(pipe(k), 5000);
  // [11000,12000) SACKed: [10000,11000) has one range above, not lost; pipe 4000: no new data, rule 3 resends it.
  assert.deepEqual(ack(2000, [[11_000, 12_000], [6000, 10_000], [3000, 5000]]), [10_000]);
  assert.equal(pipe(k), 5000);
  assert.equal(rig.tcp.counters.retransSegs, 3);
  // Partial ACK up to the second hole, pipe 4000: nothing lost, new or un-SACKed above HighRxt:
  // the rescue retransmission (rule 4) of the highest un-SACKed segment, once per recovery.
  assert.deepEqual(ack(5000, [[11_000, 12_000], [6000, 10_000]]), [12_000]);
  assert.equal(rig.tcp.counters.rescueRetransmits, 1);
  assert.deepEqual(ack(6000, [[11_000, 12_000]]), []);
  assert.equal(rig.tcp.counters.rescueRetransmits, 1);
  // The ACK covering RecoveryPoint (13000) ends recovery; cwnd stays at ssthresh (nothing
  // was inflated), not the flight of one segment or none that RFC 6582's deflation would leave.
  assert.deepEqual(ack(13_000, []), []);
  assert.equal(t.flags[c] & (F_RECOVERY | F_PIPE), 0);
  assert.equal(t.cwnd[c], 5500);
  assert.equal(rig.tcp.counters.fastRetransmits, 1);
  assert.equal(rig.tcp.counters.retransSegs, 4);
});

test('early retransmit (RFC 5827): two segments outstanding and nothing more to send, one duplicate ACK retransmits', () => {
  const { rig, k, base } = sackConn();
  const data = bytes(2000, 4);
  rig.tcp.write(k.c, data, 0, data.length);
  assert.equal(rig.sent().length, 2);
  const r = rig.exchange(fromPeer(k, { ack: base, sack: [[base + 1000, base + 2000]] }));
  assert.deepEqual(r.map((s) => s.seq - base), [0]);
  assert.equal(rig.tcp.counters.fastRetransmits, 1);
  assert.equal(rig.tcp.counters.rtoFires, 0);
});

test('a lost retransmission: once data sent after it is SACKed, the hole is resent without waiting for the RTO', () => {
  const { rig, k, base } = sackConn();
  const data = bytes(30_000, 5);
  rig.tcp.write(k.c, data, 0, data.length);
  assert.equal(rig.sent().length, 10);
  // Segment 0 is lost, and so is its first retransmission; everything else arrives.
  let hi = 10_000;
  const resent: number[] = [];
  for (let x = 2000; x <= hi && x <= 16_000; x += 1000) {
    for (const s of rig.exchange(fromPeer(k, { ack: base, sack: [[base + 1000, base + x]] }))) {
      if (s.seq === base) resent.push(x);
      if (s.data !== undefined) hi = Math.max(hi, s.seq - base + s.data.length);
    }
  }
  // Fast retransmit on the third duplicate (SACK up to 4000), when SND.MAX was 12000 (limited transmit sent
  // 10000 and 11000); the SACK of [12000, 13000), sent after it, shows the retransmission lost.
  assert.deepEqual(resent, [4000, 13_000]);
  assert.equal(rig.tcp.counters.lostRetransmits, 1);
  assert.equal(rig.tcp.counters.rtoFires, 0);
});
