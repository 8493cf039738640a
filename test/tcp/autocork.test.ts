import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ESTABLISHED } from '../../src/net/tcp/tcb.js';
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_SYN } from '../../src/wire/tcp.js';
import { A_IP, B_IP, Recorder, ScriptRig, fromPeer, openConn } from './harness.js';

/** Answers every delivery with `answer` bytes of its first byte. */
class Answerer extends Recorder {
  onPeerClosedHook: ((c: number) => void) | null = null;
  constructor(
    private readonly rig: ScriptRig,
    private readonly answer: number,
  ) {
    super();
  }
  override onData(c: number, u8: Uint8Array, off: number, len: number): void {
    super.onData(c, u8, off, len);
    assert.equal(this.rig.tcp.write(c, new Uint8Array(this.answer).fill(u8[off]), 0, this.answer), this.answer);
  }
  override onPeerClosed(c: number): void {
    super.onPeerClosed(c);
    this.onPeerClosedHook?.(c);
  }
}

test('autocork: answers written while a burst is processed leave together at its end, carrying the ACK', () => {
  const rig = new ScriptRig({ timestamps: false });
  const k = openConn(rig);
  const app = new Answerer(rig, 10);
  rig.tcp.t.handler[k.c] = app;
  for (let i = 0; i < 3; i++) rig.peer.send(fromPeer(k, { seq: k.peerNxt + 100 * i, data: new Uint8Array(100).fill(i + 1) }));
  const out = rig.sent();
  assert.equal(out.length, 1, 'one segment for three answers, no separate every-second-segment ACK');
  const [s] = out;
  assert.equal(s.flags, TCP_ACK | TCP_PSH);
  assert.equal(s.seq, k.sndNxt);
  assert.equal(s.ack, k.peerNxt + 300);
  assert.deepEqual(s.data, Uint8Array.from([...new Uint8Array(10).fill(1), ...new Uint8Array(10).fill(2), ...new Uint8Array(10).fill(3)]));
  assert.equal(rig.tcp.counters.segsOut, 3, 'SYN, ACK of the SYN-ACK, the answers');
});

test('autocork: when the window holds the answers back, the burst still ACKs every second segment', () => {
  const rig = new ScriptRig({ timestamps: false });
  const k = openConn(rig, {}, 0);
  const app = new Answerer(rig, 10);
  rig.tcp.t.handler[k.c] = app;
  for (let i = 0; i < 2; i++) rig.peer.send(fromPeer(k, { seq: k.peerNxt + 100 * i, win: 0, data: new Uint8Array(100) }));
  const out = rig.sent();
  assert.equal(out.length, 1);
  assert.equal(out[0].flags, TCP_ACK);
  assert.equal(out[0].ack, k.peerNxt + 200);
  assert.equal(out[0].data, undefined, 'nothing may go into a zero window');
  assert.equal(rig.tcp.sb.len[k.c], 20, 'the answers wait in the send buffer');
});

test('autocork: a request written in onConnected carries the ACK of the SYN-ACK (RFC 9293 §3.10.7.3)', () => {
  const rig = new ScriptRig({ timestamps: false });
  const app = new Recorder();
  app.onConnectedHook = (c) => assert.equal(rig.tcp.write(c, Uint8Array.of(1, 2, 3), 0, 3), 3);
  const c = rig.tcp.connect(A_IP, B_IP, 80, app);
  const [syn] = rig.sent();
  const out = rig.exchange({ sport: 80, dport: syn.sport, seq: 7000, ack: syn.seq + 1, flags: TCP_SYN | TCP_ACK, win: 65535 });
  assert.equal(out.length, 1, 'no bare ACK before the data');
  assert.equal(out[0].flags, TCP_ACK | TCP_PSH);
  assert.equal(out[0].ack, 7001);
  assert.deepEqual(out[0].data, Uint8Array.of(1, 2, 3));
  assert.equal(rig.tcp.state(c), ESTABLISHED);
});

test('autocork: a FIN answered by a write and close in the same burst is ACKed by the answer and our FIN', () => {
  const rig = new ScriptRig({ timestamps: false });
  const k = openConn(rig);
  const app = new Answerer(rig, 10);
  app.onPeerClosedHook = (c) => rig.tcp.close(c);
  rig.tcp.t.handler[k.c] = app;
  const out = rig.exchange(fromPeer(k, { flags: TCP_ACK | TCP_FIN, data: new Uint8Array(100).fill(7) }));
  assert.equal(out.length, 1, 'answer, FIN and ACK in one segment');
  assert.equal(out[0].flags, TCP_ACK | TCP_PSH | TCP_FIN);
  assert.equal(out[0].ack, k.peerNxt + 101);
  assert.deepEqual(out[0].data, new Uint8Array(10).fill(7));
});
