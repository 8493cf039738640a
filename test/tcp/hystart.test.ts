/**
 * HyStart++ (RFC 9406): a round's minimum RTT (after 8 samples) above the
 * last round's by RttThresh = clamp(last / 8, 4 ms, 16 ms) starts
 * Conservative Slow Start (a quarter of the growth); an RTT back below the
 * CSS baseline resumes slow start; 5 rounds of CSS end slow start with
 * ssthresh = cwnd. Through CUBIC on a connection too.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Cubic } from '../../src/net/tcp/cubic.js';
import { CSS_ROUNDS, HY_CSS, HY_DONE, HY_EXIT, HY_GROW, HY_GROW_CSS, HY_SS, HyStart } from '../../src/net/tcp/hystart.js';
import { SSTHRESH_INIT } from '../../src/net/tcp/reno.js';
import { TcbStore } from '../../src/net/tcp/tcb.js';
import { bytes, fromPeer, rackConn } from './harness.js';

/**
 * One round trip: `n` ACKs of 1000 bytes with RTT `rttUs`; returns what onAck
 * said to each. `n` segments are in flight beyond each ACK, so the round
 * that starts with this call's first ACK ends with the next call's first.
 */
function round(h: HyStart, seq: { v: number }, rttUs: number, n = 10): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    seq.v += 1000;
    out.push(h.onAck(0, seq.v, rttUs, seq.v + n * 1000));
  }
  return out;
}

test('HyStart++: a round whose minimum RTT rose by RttThresh enters CSS; CSS_ROUNDS rounds later slow start ends', () => {
  const h = new HyStart(1);
  h.init(0);
  const seq = { v: 0 };
  // Two rounds at 10 ms: slow start.
  assert.ok(round(h, seq, 10_000).every((g) => g === HY_GROW));
  assert.ok(round(h, seq, 10_000).every((g) => g === HY_GROW));
  // 13 ms: below 10 + max(4, 10/8) ms: still slow start.
  assert.ok(round(h, seq, 13_000).every((g) => g === HY_GROW));
  assert.equal(h.mode[0], HY_SS);
  // 18 ms against 13 ms: +5 >= 4 ms. After N_RTT_SAMPLE = 8 samples, CSS: growth divided by 4.
  const r = round(h, seq, 18_000);
  assert.deepEqual(r.slice(0, 7), Array(7).fill(HY_GROW));
  assert.deepEqual(r.slice(7), Array(3).fill(HY_GROW_CSS));
  assert.equal(h.mode[0], HY_CSS);
  assert.equal(h.cssBaseline[0], 18_000);
  // CSS_ROUNDS rounds at the same RTT: the start of the fifth ends slow start.
  let exit = -1;
  for (let i = 0; i < CSS_ROUNDS && exit < 0; i++) {
    const g = round(h, seq, 18_000);
    exit = g.indexOf(HY_EXIT);
  }
  assert.ok(exit >= 0);
  assert.equal(h.mode[0], HY_DONE);
});

test('HyStart++: in CSS, a round whose minimum RTT falls below the CSS baseline resumes slow start', () => {
  const h = new HyStart(1);
  h.init(0);
  const seq = { v: 0 };
  round(h, seq, 20_000);
  round(h, seq, 20_000);
  // RttThresh = max(4, min(20/8 = 2.5, 16)) = 4 ms: 26 ms enters CSS.
  round(h, seq, 26_000);
  assert.equal(h.mode[0], HY_CSS);
  // 24 ms < the 26 ms baseline: the increase was spurious.
  const r = round(h, seq, 24_000);
  assert.equal(h.mode[0], HY_SS);
  assert.equal(r[r.length - 1], HY_GROW);
});

test('HyStart++ in CUBIC: slow start grows by what is acknowledged (L = 8 SMSS unpaced), by a quarter in CSS, and ends with ssthresh = cwnd', () => {
  const t = new TcbStore(1);
  const clock = { nowUs: 1_000_000 };
  const cc = new Cubic(t, clock, false);
  const mss = 1000;
  t.sndMss[0] = mss;
  cc.init(0);
  assert.equal(t.cwnd[0], 10 * mss);
  let una = 0;
  const ack = (bytes: number, rtt: number): void => {
    una += bytes;
    t.sndUna[0] = una;
    t.sndMax[0] = una + t.cwnd[0];
    t.sndNxt[0] = t.sndMax[0];
    cc.onAck(0, bytes, una, rtt);
  };
  // An ACK of 12 segments grows cwnd by L = 8 segments at most (RFC 9406 §4.2, not paced).
  ack(12 * mss, 10_000);
  assert.equal(t.cwnd[0], 18 * mss);
  // Rounds at a rising RTT until CSS: then a 2-segment ACK grows cwnd by half a segment.
  let rtt = 10_000;
  while (cc.hystart.mode[0] !== HY_CSS) {
    for (let i = 0; i < 12; i++) ack(2 * mss, rtt);
    rtt += 5000;
  }
  const before = t.cwnd[0];
  ack(2 * mss, rtt);
  assert.equal(t.cwnd[0] - before, (2 * mss) / 4);
  // Keep the RTT: after CSS_ROUNDS rounds, congestion avoidance with ssthresh = cwnd.
  for (let i = 0; i < 5000 && t.ssthresh[0] === 0x7fffffff; i++) ack(2 * mss, rtt);
  assert.equal(t.ssthresh[0], t.cwnd[0]);
  assert.equal(cc.hystart.mode[0], HY_DONE);
});

test('HyStart++ after an undone recovery in the initial slow start: the rounds are watched again (no loss happened to end it, RFC 9406 §4.2)', () => {
  const { rig, k, base } = rackConn(8000, { cc: 'cubic' });
  const cc = rig.tcp.ccOf(k.c) as Cubic;
  const ack = (una: number, sack: [number, number][] = []): number[] =>
    rig.exchange(fromPeer(k, { ack: base + una, sack: sack.map(([l, r]) => [base + l, base + r] as [number, number]) })).map((s) => s.seq - base);
  rig.tcp.write(k.c, bytes(6000, 14), 0, 6000);
  rig.sent();
  rig.advance(8000);
  // Segments 2..5 overtake 0 and 1: both resent, the window reduced, HyStart++ ends with slow start.
  assert.deepEqual(ack(0, [[2000, 6000]]), [0, 1000]);
  assert.equal(cc.hystart.mode[k.c], HY_DONE);
  // The originals arrive, the receiver reports both resends: the reduction is undone, slow start goes on.
  rig.advance(1000);
  ack(6000, [[0, 2000]]);
  assert.equal(rig.tcp.counters.undoneReductions, 1);
  assert.equal(rig.tcp.t.ssthresh[k.c], SSTHRESH_INIT);
  assert.notEqual(cc.hystart.mode[k.c], HY_DONE);
});
