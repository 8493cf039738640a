/**
 * Wire-level timing of the TCP layer (src/net/tcp/wire_rtt.ts) on a ring port
 * and a manual clock: a segment's TX time is its flush's, its answer's the
 * clock at receipt (a ring port has no kernel stamps), so every figure is
 * exact. The SYN and a data segment are timed to the ACK covering them, a
 * retransmission drops the timing (Karn), connect counts from the first SYN,
 * and send runs give a request's first and last byte out.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { A_IP, B_IP, bytes, Recorder, ScriptRig } from './harness.js';

/** A Recorder that also keeps the wire round trips. */
class WireRecorder extends Recorder {
  readonly rtts: number[] = [];
  onWireRtt(_c: number, us: number): void {
    this.rtts.push(us);
  }
}

/** An active open whose SYN-ACK comes `synRttUs` after the SYN left. */
function open(rig: ScriptRig, synRttUs: number): { app: WireRecorder; c: number; port: number; sndNxt: number } {
  const app = new WireRecorder();
  const c = rig.tcp.connect(A_IP, B_IP, 80, app);
  const [syn] = rig.sent();
  rig.clock.advance(synRttUs);
  rig.exchange({ sport: 80, dport: syn.sport, seq: 7000, ack: syn.seq + 1, flags: 0x12, win: 65535, mss: 1000 });
  return { app, c, port: syn.sport, sndNxt: syn.seq + 1 };
}

test('the SYN and a data segment are timed to the ACK covering them, on the ring port\'s stack clock', () => {
  const rig = new ScriptRig({ timestamps: false });
  const { app, c, port, sndNxt } = open(rig, 300);
  assert.equal(rig.tcp.wire.clock, 'stack');
  assert.deepEqual(app.rtts, [300]);
  assert.equal(rig.tcp.connectUs(c), 300);
  rig.tcp.write(c, bytes(100), 0, 100);
  assert.equal(rig.sent().length, 1);
  rig.clock.advance(450);
  // A partial ACK does not cover the timed segment; the full one does.
  rig.exchange({ sport: 80, dport: port, seq: 7001, ack: sndNxt + 50, flags: 0x10, win: 65535 });
  assert.deepEqual(app.rtts, [300]);
  rig.clock.advance(20);
  rig.exchange({ sport: 80, dport: port, seq: 7001, ack: sndNxt + 100, flags: 0x10, win: 65535 });
  assert.deepEqual(app.rtts, [300, 470]);
});

test('a retransmitted segment is not timed (Karn), the next new one is', () => {
  const rig = new ScriptRig({ timestamps: false, rtoMinUs: 200_000, rtoInitialUs: 200_000 });
  const { app, c, port, sndNxt } = open(rig, 1000);
  rig.tcp.write(c, bytes(100), 0, 100);
  rig.sent();
  const again = rig.advance(400_000);
  assert.ok(again.some((s) => s.data?.length === 100), 'the RTO resent the segment');
  rig.exchange({ sport: 80, dport: port, seq: 7001, ack: sndNxt + 100, flags: 0x10, win: 65535 });
  assert.deepEqual(app.rtts, [1000], 'no sample from an ACK of a resent segment');
  rig.tcp.write(c, bytes(10), 0, 10);
  rig.sent();
  rig.clock.advance(700);
  rig.exchange({ sport: 80, dport: port, seq: 7001, ack: sndNxt + 110, flags: 0x10, win: 65535 });
  assert.deepEqual(app.rtts, [1000, 700]);
});

test('connect counts from the first SYN, through its retransmission', () => {
  const rig = new ScriptRig({ timestamps: false, rtoInitialUs: 100_000 });
  const app = new WireRecorder();
  const c = rig.tcp.connect(A_IP, B_IP, 80, app);
  const [syn] = rig.sent();
  const again = rig.advance(150_000);
  assert.ok(again.some((s) => s.flags === 0x02), 'the SYN was resent');
  rig.exchange({ sport: 80, dport: syn.sport, seq: 7000, ack: syn.seq + 1, flags: 0x12, win: 65535 });
  assert.equal(rig.tcp.connectUs(c), 150_000);
  assert.deepEqual(app.rtts, [], 'the resent SYN gives no round trip');
});

test('send runs: a request\'s first and last data segment out, a new run after data came in', () => {
  const rig = new ScriptRig({ timestamps: false });
  const { c, port, sndNxt } = open(rig, 100);
  const w = rig.tcp.wire;
  const t0 = rig.clock.nowUs();
  rig.tcp.write(c, bytes(600), 0, 600);
  rig.sent();
  rig.clock.advance(40);
  rig.tcp.write(c, bytes(600), 0, 600);
  rig.sent();
  assert.equal(w.runFirstTxUs(c), t0);
  assert.equal(w.runLastTxUs(c), t0 + 40);
  // The answer: its receipt is the time the next request is timed against; the run closes.
  rig.clock.advance(200);
  rig.exchange({ sport: 80, dport: port, seq: 7001, ack: sndNxt + 1200, flags: 0x18, win: 65535, data: bytes(50) });
  rig.clock.advance(10);
  rig.tcp.write(c, bytes(10), 0, 10);
  rig.sent();
  assert.equal(w.runFirstTxUs(c), t0 + 250);
  assert.equal(w.runLastTxUs(c), t0 + 250);
});
