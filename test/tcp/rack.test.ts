/**
 * RACK-TLP (RFC 8985) on scripted exchanges: the reordering window (0 until
 * reordering is seen and three segments are SACKed, min_RTT / 4 otherwise,
 * growing on D-SACK and decaying after 16 recoveries), the reordering timer,
 * lost retransmissions found by time, the loss probe's episode, and the
 * window restored when the retransmissions come back as D-SACKs.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CA_OPEN, CA_RECOVERY, TcbStore } from '../../src/net/tcp/tcb.js';
import { Undo } from '../../src/net/tcp/undo.js';
import { type Conn, type Seg, ScriptRig, bytes, fromPeer, openConn, rackConn } from './harness.js';

/** The peer's ACK of `una` with SACK blocks, all relative to `base`; returns the offsets of what the node sent back. */
function acker(rig: ScriptRig, k: Conn, base: number) {
  return (una: number, sack: [number, number][] = []): number[] =>
    rig.exchange(fromPeer(k, { ack: base + una, sack: sack.map(([l, r]) => [base + l, base + r] as [number, number]) })).map((s) => s.seq - base);
}

test('RACK: without reordering seen, three SACKed segments above a hole make it lost at once (reordering window 0)', () => {
  const { rig, k, base } = rackConn(10_000);
  rig.tcp.write(k.c, bytes(10_000, 1), 0, 10_000);
  assert.equal(rig.sent().length, 10);
  rig.advance(10_000);
  const ack = acker(rig, k, base);
  // One or two SACKed segments: within the reordering window, min_RTT / 4 = 2.5 ms.
  assert.deepEqual(ack(0, [[1000, 2000]]), []);
  assert.deepEqual(ack(0, [[1000, 3000]]), []);
  // The third: RFC 8985 §6.2 step 4, reo_wnd = 0 (no reordering seen, DupThresh SACKed): lost, fast recovery.
  assert.deepEqual(ack(0, [[1000, 4000]]), [0]);
  const t = rig.tcp.t;
  assert.equal(t.ca[k.c], CA_RECOVERY);
  assert.equal(rig.tcp.counters.rackRetransmits, 1);
  assert.equal(rig.tcp.counters.fastRetransmits, 1);
});

test('RACK: one SACKed segment above a hole waits the reordering window (min_RTT / 4), then the reordering timer resends it', () => {
  const { rig, k, base } = rackConn(8000);
  assert.equal(rig.tcp.rack.minRtt[k.c], 8000);
  rig.tcp.write(k.c, bytes(3000, 2), 0, 3000);
  assert.equal(rig.sent().length, 3);
  rig.advance(8000);
  const ack = acker(rig, k, base);
  assert.deepEqual(ack(0, [[1000, 2000]]), []);
  // RACK.rtt = 8 ms (the SACKed segment), reo_wnd = 2 ms: segment 0 is lost 2 ms from now; the timer
  // fires 2 ms after that (as Linux's TCP_TIMEOUT_MIN), in case an ACK was only held up.
  assert.ok(rig.tcp.rack.reoAt[k.c] > 0);
  assert.deepEqual(rig.advance(3000), []);
  const [rx, ...more] = rig.advance(2000);
  assert.deepEqual(more, []);
  assert.equal(rx.seq, base);
  assert.equal(rig.tcp.counters.reoTimeouts, 1);
  assert.equal(rig.tcp.counters.rtoFires, 0);
  assert.equal(rig.tcp.t.ca[k.c], CA_RECOVERY);
});

test('RACK: once reordering is seen, three SACKed segments no longer zero the reordering window', () => {
  const { rig, k, base } = rackConn(8000);
  const data = bytes(20_000, 3);
  rig.tcp.write(k.c, data, 0, 4000);
  rig.sent();
  rig.advance(8000);
  const ack = acker(rig, k, base);
  // Segment 1 arrives before segment 0: a never-retransmitted segment delivered below RACK.fack.
  assert.deepEqual(ack(0, [[1000, 2000]]), []);
  assert.deepEqual(ack(4000), []);
  assert.equal(rig.tcp.counters.retransSegs, 0);
  rig.tcp.write(k.c, data, 4000, 10_000);
  assert.equal(rig.sent().length, 10);
  rig.advance(8000);
  // Three SACKed above a hole: with reordering seen the window stays min_RTT / 4.
  assert.deepEqual(ack(4000, [[5000, 8000]]), []);
  assert.equal(rig.tcp.t.ca[k.c], CA_OPEN);
  const out = rig.advance(5000);
  assert.deepEqual(out.map((s) => s.seq - base), [4000]);
});

test('RACK: a D-SACK widens the reordering window once per round trip (the multiplier doubles), and it decays after 16 recoveries without one', () => {
  const { rig, k, base } = rackConn(8000);
  const rack = rig.tcp.rack;
  const c = k.c;
  rig.tcp.write(k.c, bytes(4000, 4), 0, 4000);
  rig.sent();
  rig.advance(8000);
  const ack = acker(rig, k, base);
  // Four SACKed behind a hole: lost at once, resent.
  assert.deepEqual(ack(0, [[1000, 4000]]), [0]);
  // The original arrives after all: the receiver reports the resend as a duplicate.
  rig.advance(1000);
  assert.deepEqual(ack(4000, [[0, 1000]]), []);
  assert.equal(rig.tcp.counters.dsacksIn, 1);
  assert.equal(rig.tcp.counters.spuriousRetransmits, 1);
  assert.equal(rack.reoMult[c], 2);
  // Every retransmission of the episode came back as a D-SACK: the window reduction is undone.
  assert.equal(rig.tcp.counters.undoneReductions, 1);
  assert.equal(rig.tcp.t.ca[c], CA_OPEN);
  // A second D-SACK in the same round trip does not grow it again.
  assert.deepEqual(ack(4000, [[0, 1000]]), []);
  assert.equal(rack.reoMult[c], 2);
  // It persists for 16 recoveries (the undone one ended the first): then the multiplier is 1 again.
  assert.equal(rack.reoPersist[c], 15);
  for (let i = 0; i < 14; i++) rack.onRecoveryEnd(c);
  assert.equal(rack.reoMult[c], 2);
  rack.onRecoveryEnd(c);
  assert.equal(rack.reoMult[c], 1);
});

test('RACK: a lost retransmission is resent once a segment sent after it is delivered, without the RTO', () => {
  const { rig, k, base } = rackConn(8000);
  const data = bytes(30_000, 5);
  rig.tcp.write(k.c, data, 0, data.length);
  assert.equal(rig.sent().length, 10);
  rig.advance(8000);
  const ack = acker(rig, k, base);
  // Segment 0 is lost; the SACKs of 1..3 mark it and it is resent first, new data after it.
  const out = [...ack(0, [[1000, 2000]]), ...ack(0, [[1000, 3000]])];
  assert.ok(!out.includes(0));
  const first = ack(0, [[1000, 4000]]);
  assert.deepEqual(first, [0]);
  // PRR lets new data out as more is delivered (one segment per two delivered: ssthresh is half
  // the flight): sent after the retransmission.
  let next: number[] = [];
  for (let r = 5000; next.length === 0 && r <= 14_000; r += 1000) next = ack(0, [[1000, r]]);
  assert.ok(next.length > 0 && !next.includes(0), `${next}`);
  const after = Math.max(...next);
  // The retransmission is lost too. The segment sent after it is delivered: RACK.xmit_ts passes the
  // retransmission's send time, and it is lost again.
  rig.advance(8000);
  const again = ack(0, [[1000, after + 1000]]);
  assert.equal(again[0], 0);
  assert.equal(rig.tcp.counters.rackRetransmits, 2);
  assert.equal(rig.tcp.counters.rtoFires, 0);
});

test('TLP episode (RFC 8985 §7.4): a resent tail acknowledged without a D-SACK repaired a loss and reduces the window once; with one it does not', () => {
  for (const dsack of [false, true]) {
    const { rig, k, base } = rackConn(2000);
    rig.tcp.write(k.c, bytes(5000, 6), 0, 5000);
    assert.equal(rig.sent().length, 5);
    const cwnd = rig.tcp.t.cwnd[k.c];
    // No ACK: after the PTO (2 SRTT + 2 ms) the tail goes again.
    let probe = rig.advance(5000);
    for (let i = 0; i < 10 && probe.length === 0; i++) probe = rig.advance(1000);
    assert.deepEqual(probe.map((s) => s.seq - base), [4000]);
    assert.equal(rig.tcp.counters.tlpRetransmits, 1);
    // The ACK of everything; with `dsack`, the receiver reports the probe as a duplicate (both copies arrived).
    rig.exchange(fromPeer(k, { ack: base + 5000, ...(dsack ? { sack: [[base + 4000, base + 5000]] as [number, number][] } : {}) }));
    // An ACK beyond the probe's end settles the episode.
    rig.tcp.write(k.c, bytes(1000, 7), 0, 1000);
    rig.sent();
    rig.exchange(fromPeer(k, { ack: base + 6000 }));
    assert.equal(rig.tcp.counters.tlpRecoveries, dsack ? 0 : 1, `dsack ${dsack}`);
    assert.equal(rig.tcp.t.cwnd[k.c] < cwnd, !dsack, `dsack ${dsack}: cwnd ${rig.tcp.t.cwnd[k.c]} from ${cwnd}`);
    assert.equal(rig.tcp.counters.rtoFires, 0);
  }
});

test('an ACK overtaken by a later one (PAWS fails) is not answered, and its D-SACK still undoes a spurious recovery', () => {
  const rig = new ScriptRig({ cc: 'newreno' });
  // MSS 1012: 1000 bytes of data beside the timestamp option.
  const k = openConn(rig, { mss: 1012, sackOk: true, ts: [1000, 0] });
  const base = k.sndNxt;
  rig.tcp.write(k.c, bytes(4000, 8), 0, 4000);
  const sent = rig.sent();
  assert.equal(sent.length, 4);
  rig.advance(8000);
  let ecr = k.nodeTs;
  const ack = (una: number, ts: number, sack: [number, number][] = []): Seg[] =>
    rig.exchange(fromPeer(k, { ack: base + una, ts: [ts, ecr], sack: sack.map(([l, r]) => [base + l, base + r] as [number, number]) }));
  // Segments 1..3 overtook segment 0: three SACKed with no reordering seen, 0 is lost and resent.
  const [rx] = ack(0, 1010, [[1000, 4000]]);
  assert.equal(rx.seq, base);
  assert.equal(rig.tcp.t.ca[k.c], CA_RECOVERY);
  const undone = rig.tcp.counters.undoneReductions;
  // The original arrived: the receiver ACKs all and, for the resend, a D-SACK. The ACK of a later
  // duplicate (TSval 1012) overtakes the one carrying the D-SACK (TSval 1011) on the way back; both
  // echo the resend's timestamp, so Eifel (RFC 3522) does not tell the episode spurious.
  ecr = rx.ts![0];
  ack(4000, 1012);
  assert.equal(rig.tcp.counters.undoneReductions, undone);
  // RFC 7323 §5.3 R1 would drop it and answer; as Linux's tcp_disordered_ack it moves nothing and is
  // not answered, and its D-SACK (RFC 2883, sent once) reaches the scoreboard: the reduction is undone.
  assert.deepEqual(ack(4000, 1011, [[0, 1000]]), []);
  assert.equal(rig.tcp.counters.pawsDrops, 1);
  assert.equal(rig.tcp.counters.dsacksIn, 1);
  assert.equal(rig.tcp.counters.undoneReductions, undone + 1);
  // Older than TS.Recent by more than an RTO: a possible old duplicate, dropped and answered as RFC 7323 says.
  const [a] = ack(4000, 1011 - Math.ceil(rig.tcp.t.rto[k.c] / 1000) - 1, [[0, 1000]]);
  assert.equal(a.ack, k.peerNxt);
  assert.equal(rig.tcp.counters.dsacksIn, 1);
});

test('undo: one D-SACK block covering two resent segments accounts for both (RFC 3708 counts resent segments; a receiver reports adjacent duplicates in one block)', () => {
  const { rig, k, base } = rackConn(8000);
  rig.tcp.write(k.c, bytes(6000, 9), 0, 6000);
  assert.equal(rig.sent().length, 6);
  const cwnd = rig.tcp.t.cwnd[k.c];
  rig.advance(8000);
  const ack = acker(rig, k, base);
  // Segments 2..5 overtook 0 and 1: both are lost at once (no reordering seen yet) and resent.
  assert.deepEqual(ack(0, [[2000, 6000]]), [0, 1000]);
  assert.ok(rig.tcp.t.cwnd[k.c] < cwnd);
  // The originals arrive; the receiver reports both resends in one D-SACK block [0, 2000).
  rig.advance(1000);
  ack(6000, [[0, 2000]]);
  assert.equal(rig.tcp.counters.dsacksIn, 1);
  assert.equal(rig.tcp.counters.undoneReductions, 1);
  assert.equal(rig.tcp.t.cwnd[k.c], cwnd);
});

/** Six segments sent; 2..5 SACKed first: 0 and 1 are resent (reordering window 0), and the cwnd before is returned. */
function spuriousRecovery(): { rig: ScriptRig; k: Conn; base: number; ack: ReturnType<typeof acker>; cwnd: number } {
  const { rig, k, base } = rackConn(8000);
  rig.tcp.write(k.c, bytes(6000, 10), 0, 6000);
  rig.sent();
  const cwnd = rig.tcp.t.cwnd[k.c];
  rig.advance(8000);
  const ack = acker(rig, k, base);
  assert.deepEqual(ack(0, [[2000, 6000]]), [0, 1000]);
  return { rig, k, base, ack, cwnd };
}

test('undo: a D-SACK that comes a window after the recovery ended still undoes it (RFC 3708: every resend of the episode reported; Linux keeps undo_marker past the end)', () => {
  const { rig, k, ack, cwnd } = spuriousRecovery();
  // The originals arrive: the recovery ends, the D-SACKs are still on their way (no timestamps: no Eifel).
  rig.advance(1000);
  ack(6000);
  assert.equal(rig.tcp.t.ca[k.c], CA_OPEN);
  const reduced = rig.tcp.t.cwnd[k.c];
  assert.ok(reduced < cwnd);
  // A window more is sent and acknowledged: SND.UNA passes SND.MAX of the end.
  rig.tcp.write(k.c, bytes(2000, 11), 0, 2000);
  assert.equal(rig.sent().length, 2);
  rig.advance(8000);
  ack(8000);
  assert.equal(rig.tcp.counters.undoneReductions, 0);
  // The receiver's report of both resends (the ACK carrying it was reordered): the reduction is undone.
  ack(8000, [[0, 2000]]);
  assert.equal(rig.tcp.counters.undoneReductions, 1);
  assert.equal(rig.tcp.t.cwnd[k.c], cwnd);
});

test('undo: a recovery that starts while the last one awaits its D-SACKs extends it; once every resend of both is reported, the window before the first returns', () => {
  const { rig, k, base, ack, cwnd } = spuriousRecovery();
  rig.advance(1000);
  ack(6000);
  // The reduced window (half the flight) lets three segments out.
  rig.tcp.write(k.c, bytes(3000, 12), 0, 3000);
  assert.equal(rig.sent().length, 3);
  rig.advance(8000);
  // Segments 7000 and 8000 overtake 6000: after the reordering window, a second recovery resends 6000.
  const out = [...ack(6000, [[7000, 9000]]), ...rig.advance(5000).map((s) => s.seq - base)];
  assert.equal(out[0], 6000);
  assert.equal(rig.tcp.counters.fastRetransmits, 2);
  // The first recovery's two resends reported: the second's resend is still unreported.
  ack(6000, [[0, 2000], [7000, 9000]]);
  assert.equal(rig.tcp.counters.undoneReductions, 0);
  ack(9000, [[6000, 7000]]);
  assert.equal(rig.tcp.counters.undoneReductions, 1);
  assert.equal(rig.tcp.t.cwnd[k.c], cwnd);
  assert.equal(rig.tcp.t.sndUna[k.c], base + 9000);
});

test('undo: a recovery whose end is acknowledged before any resend left (pacing held it) was spurious; one with a resend not reported back was not', () => {
  const t = new TcbStore(1);
  const undo = new Undo(1);
  t.cwnd[0] = 40_000;
  t.ssthresh[0] = 0x7fffffff;
  undo.begin(t, 0, 1000);
  t.cwnd[0] = t.ssthresh[0] = 28_000;
  // Nothing resent, the recovery point acknowledged: every segment deemed lost arrived as sent.
  assert.ok(undo.mayUndo(0, 0));
  undo.undo(t, 0);
  assert.equal(t.cwnd[0], 40_000);
  undo.begin(t, 0, 1000);
  undo.onRetransmit(0, 500);
  assert.ok(!undo.mayUndo(0, 0));
  // Eifel (RFC 3522): the ACK echoes a timestamp from before the resend.
  assert.ok(undo.mayUndo(0, 499));
});
