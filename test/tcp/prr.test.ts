/**
 * Proportional Rate Reduction (RFC 6937): while the pipe is above ssthresh the
 * sender sends ssthresh / RecoverFS of what is delivered; below it, no faster
 * than slow start (PRR-SSRB); the first ACK of recovery always sends the
 * retransmission; recovery ends with cwnd = ssthresh.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Prr } from '../../src/net/tcp/prr.js';
import { CA_OPEN, CA_RECOVERY } from '../../src/net/tcp/tcb.js';
import { bytes, fromPeer, rackConn } from './harness.js';

test('PRR unit: the proportional part (RFC 6937 §3), the slow-start bound, the forced first segment', () => {
  const p = new Prr(1);
  const mss = 1000;
  p.init(0, 20_000); // RecoverFS; ssthresh 10,000: one segment out per two delivered
  // First ACK: the proportional count is 500, but the fast retransmit goes anyway.
  assert.equal(p.sndcnt(0, 1000, 18_000, 10_000, mss, false, true), 1000);
  p.sent(0, 1000);
  assert.equal(p.sndcnt(0, 1000, 17_000, 10_000, mss, false, false), 0); // ceil(2000 / 2) - 1000
  assert.equal(p.sndcnt(0, 1000, 16_000, 10_000, mss, false, false), 500); // less than a segment: nothing leaves
  assert.equal(p.sndcnt(0, 1000, 15_000, 10_000, mss, false, false), 1000); // ceil(4000 / 2) - 1000
  p.sent(0, 1000);
  // Heavy losses took the pipe below ssthresh: PRR-SSRB, what was delivered and one more segment
  // when SND.UNA advanced without new losses, at most up to ssthresh.
  assert.equal(p.sndcnt(0, 3000, 4000, 10_000, mss, true, false), Math.max(7000 - 2000, 3000) + 1000);
  assert.equal(p.sndcnt(0, 3000, 9500, 10_000, mss, true, false), 500);
});

test('PRR scripted: in recovery the sender sends in proportion to what is delivered (ssthresh / RecoverFS = 1/2), the retransmission first, then holds the pipe at ssthresh; recovery ends with cwnd = ssthresh', () => {
  const { rig, k, base } = rackConn(8000); // NewReno: ssthresh = FlightSize / 2
  const t = rig.tcp.t;
  const c = k.c;
  rig.tcp.write(k.c, bytes(40_000, 8), 0, 40_000);
  assert.equal(rig.sent().length, 10);
  rig.advance(8000);
  const ack = (una: number, r: number): number[] =>
    rig.exchange(fromPeer(k, { ack: base + una, sack: una < r ? [[base + 1000, base + r]] : [] })).map((s) => s.seq - base);
  // Segment 0 lost; two SACKs grow cwnd (slow start) and send four new segments: 14 in flight.
  assert.deepEqual(ack(0, 2000), [10_000, 11_000]);
  assert.deepEqual(ack(0, 3000), [12_000, 13_000]);
  // The third SACKed segment: RACK marks segment 0 lost; RecoverFS = 14,000, ssthresh = 7000.
  assert.deepEqual(ack(0, 4000), [0]);
  assert.equal(t.ca[c], CA_RECOVERY);
  assert.equal(t.ssthresh[c], 7000);
  assert.equal(rig.tcp.prr.recoverFs[c], 14_000);
  // Each further ACK delivers 1000 bytes. While the pipe is above ssthresh, sndcnt = ceil(d * 7000 / 14000)
  // - prr_out: a segment once d reaches 4000 (prr_out 1000 → 2000), not at 5000 (500 left over); at 6000
  // the pipe is down to ssthresh (7000) and PRR-SSRB holds it there: a segment per segment delivered.
  const sent: number[][] = [];
  for (let r = 5000; r <= 12_000; r += 1000) sent.push(ack(0, r));
  assert.deepEqual(sent, [[], [], [14_000], [], [], [15_000], [16_000], [17_000]]);
  assert.equal(rig.tcp.rtx.pipe(c, (t.sndMax[c] - t.sndUna[c]) >>> 0), 7000);
  // The retransmission arrives: SND.UNA passes the recovery point (SND.MAX at its start); cwnd = ssthresh.
  ack(14_000, 14_000);
  assert.equal(t.ca[c], CA_OPEN);
  assert.equal(t.cwnd[c], 7000);
  assert.equal(rig.tcp.counters.rtoFires, 0);
});
