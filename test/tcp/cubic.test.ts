/**
 * CUBIC (RFC 9438): the window follows W(t) = C (t - K)^3 + W_max after a
 * loss (concave up to W_max, convex beyond), ssthresh = 0.7 cwnd, fast
 * convergence lowers W_max when a loss comes below the last one, the
 * Reno-friendly estimate takes over at short RTTs, and an RTO leaves one
 * segment.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CUBIC_ALPHA, CUBIC_BETA, CUBIC_C, Cubic } from '../../src/net/tcp/cubic.js';
import { CC_CUBIC, CC_NEWRENO } from '../../src/net/tcp/reno.js';
import { TcbStore } from '../../src/net/tcp/tcb.js';
import { A_IP, B_IP, Recorder, ScriptRig } from './harness.js';
import { TcpError } from '../../src/net/tcp/api.js';

const MSS = 1000;

/** One connection under a Cubic on a clock the test moves; the window is kept full (not application-limited). */
function rig(cwndSeg: number): { t: TcbStore; cc: Cubic; clock: { nowUs: number } } {
  const t = new TcbStore(1);
  const clock = { nowUs: 1_000_000 };
  const cc = new Cubic(t, clock, false);
  t.sndMss[0] = MSS;
  t.sndUna[0] = 0;
  t.sndNxt[0] = 0;
  cc.init(0);
  t.cwnd[0] = cwndSeg * MSS;
  t.sndMax[0] = t.cwnd[0];
  return { t, cc, clock };
}

/** Acknowledges one window in two-segment ACKs over `rttUs`, keeping the flight at cwnd. */
function roundTrip(r: ReturnType<typeof rig>, rttUs: number): void {
  const { t, cc, clock } = r;
  const acks = Math.max(1, Math.floor(t.cwnd[0] / (2 * MSS)));
  for (let i = 0; i < acks; i++) {
    clock.nowUs += rttUs / acks;
    t.sndUna[0] = (t.sndUna[0] + 2 * MSS) >>> 0;
    t.sndMax[0] = (t.sndUna[0] + t.cwnd[0]) >>> 0;
    t.sndNxt[0] = t.sndMax[0];
    cc.onAck(0, 2 * MSS, t.sndUna[0] | 0, rttUs);
  }
}

/** A loss at the current window, and the end of its recovery (PRR leaves cwnd at ssthresh). */
function loss(r: ReturnType<typeof rig>): void {
  r.cc.enterRecovery(0, true);
  r.cc.exitRecovery(0, true);
}

test('CUBIC: after a loss at W_max = 100 segments, cwnd = 70 and then follows W(t) = C (t - K)^3 + W_max, K = cbrt(W_max (1 - beta) / C)', () => {
  const r = rig(100);
  const rtt = 200_000;
  r.t.srtt[0] = rtt;
  loss(r);
  assert.equal(r.t.ssthresh[0], 70 * MSS);
  assert.equal(r.t.cwnd[0], 70 * MSS);
  assert.equal(r.cc.wMax[0], 100);
  const K = Math.cbrt((100 * (1 - CUBIC_BETA)) / CUBIC_C);
  assert.ok(Math.abs(K - 4.217) < 0.001);
  const t0 = r.clock.nowUs;
  const W = (s: number): number => CUBIC_C * (s - K) ** 3 + 100;
  const seen: [number, number][] = [];
  for (const at of [K / 2, K, 1.5 * K, 2 * K]) {
    while ((r.clock.nowUs - t0) / 1e6 < at) roundTrip(r, rtt);
    const s = (r.clock.nowUs - t0) / 1e6;
    // Each ACK aims at W one RTT ahead, which a window of ACKs reaches one RTT later: cwnd tracks W(t).
    const want = W(s);
    seen.push([s, r.t.cwnd[0] / MSS]);
    assert.ok(Math.abs(r.t.cwnd[0] / MSS - want) < 2, `t=${s.toFixed(2)} s: cwnd ${r.t.cwnd[0] / MSS} segments, W(t) ${want.toFixed(1)}`);
  }
  // Concave below W_max, a plateau around it, convex beyond.
  assert.ok(seen[0][1] < 100 && seen[1][1] >= 99 && seen[1][1] < 103 && seen[3][1] > 125, JSON.stringify(seen));
});

test('CUBIC fast convergence: a loss below the last W_max sets W_max to cwnd (1 + beta) / 2', () => {
  const r = rig(100);
  loss(r);
  assert.equal(r.cc.wMax[0], 100);
  r.t.cwnd[0] = 90 * MSS;
  loss(r);
  assert.ok(Math.abs(r.cc.wMax[0] - (90 * (1 + CUBIC_BETA)) / 2) < 1e-4, `W_max ${r.cc.wMax[0]}`);
  assert.equal(r.t.ssthresh[0], 63 * MSS);
  // Above the last W_max: W_max is the window of the loss.
  r.t.cwnd[0] = 120 * MSS;
  loss(r);
  assert.ok(Math.abs(r.cc.wMax[0] - 120) < 1e-4);
  // Without fast convergence, W_max is always the window of the loss.
  const t = new TcbStore(1);
  const plain = new Cubic(t, { nowUs: 1 }, false, false);
  t.sndMss[0] = MSS;
  plain.init(0);
  t.cwnd[0] = 100 * MSS;
  plain.enterRecovery(0, true);
  t.cwnd[0] = 90 * MSS;
  plain.enterRecovery(0, true);
  assert.ok(Math.abs(plain.wMax[0] - 90) < 1e-4);
});

test('CUBIC Reno-friendly region: at a short RTT the window grows like Reno with alpha = 3 (1 - beta) / (1 + beta) per RTT', () => {
  const r = rig(100);
  const rtt = 1000;
  r.t.srtt[0] = rtt;
  loss(r);
  for (let i = 0; i < 40; i++) roundTrip(r, rtt);
  // 40 ms is nothing on the cubic curve (K = 4.2 s): W_est leads, alpha segments per RTT.
  const grown = r.t.cwnd[0] / MSS - 70;
  assert.ok(Math.abs(grown - 40 * CUBIC_ALPHA) < 3, `grew ${grown} segments in 40 RTTs`);
  // Once W_est passes W_max, alpha is 1 (RFC 9438 §4.3): a segment per RTT.
  while (r.cc.wEst[0] < 100) roundTrip(r, rtt);
  const from = r.t.cwnd[0] / MSS;
  for (let i = 0; i < 20; i++) roundTrip(r, rtt);
  assert.ok(Math.abs(r.t.cwnd[0] / MSS - from - 20) < 2, `grew ${r.t.cwnd[0] / MSS - from} segments in 20 RTTs past W_max`);
});

test('CUBIC: an RTO sets ssthresh to 0.7 cwnd and cwnd to one segment', () => {
  const r = rig(100);
  r.cc.onRto(0);
  assert.equal(r.t.cwnd[0], MSS);
  assert.equal(r.t.ssthresh[0], 70 * MSS);
  assert.equal(r.cc.wMax[0], 100);
});

test('congestion control per connection: the layer default (cubic unless TcpOptions.cc says), or the one connect() is given', () => {
  const rig = new ScriptRig();
  const a = rig.tcp.connect(A_IP, B_IP, 80, new Recorder());
  const b = rig.tcp.connect(A_IP, B_IP, 81, new Recorder(), 0, { tos: 0, cc: CC_NEWRENO });
  assert.equal(rig.tcp.t.ccAlgo[a], CC_CUBIC);
  assert.equal(rig.tcp.t.ccAlgo[b], CC_NEWRENO);
  assert.equal(rig.tcp.connect(A_IP, B_IP, 82, new Recorder(), 0, { tos: 0, cc: 7 }), TcpError.INVALID, 'no controller 7');
  assert.equal(rig.tcp.connect(A_IP, B_IP, 83, new Recorder(), 0, { tos: 256, cc: -1 }), TcpError.INVALID, 'a TOS byte is 0..255');
  assert.equal(new ScriptRig({ cc: 'newreno' }).tcp.cfg.cc, CC_NEWRENO);
  assert.throws(() => new ScriptRig({ cc: 'vegas' as 'cubic' }), /cc must be newreno or cubic/);
});
