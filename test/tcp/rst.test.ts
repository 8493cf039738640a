import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CloseReason } from '../../src/net/tcp/api.js';
import { CLOSED, ESTABLISHED, TIME_WAIT } from '../../src/net/tcp/tcb.js';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from '../../src/wire/tcp.js';
import { Recorder, ScriptRig, fromPeer, openConn } from './harness.js';

test('RFC 5961 §3.2: a RST at exactly RCV.NXT resets; in-window elsewhere draws a challenge ACK; outside the window is ignored', () => {
  const rig = new ScriptRig();
  const k = openConn(rig);
  const [ch] = rig.exchange(fromPeer(k, { seq: k.peerNxt + 10, flags: TCP_RST }));
  assert.equal(ch.flags, TCP_ACK);
  assert.equal(ch.seq, k.sndNxt);
  assert.equal(ch.ack, k.peerNxt);
  assert.equal(rig.tcp.counters.challengeAcks, 1);
  assert.deepEqual(rig.exchange(fromPeer(k, { seq: k.peerNxt + 10_000_000, flags: TCP_RST })), []);
  assert.equal(rig.tcp.state(k.c), ESTABLISHED);
  assert.deepEqual(rig.exchange(fromPeer(k, { flags: TCP_RST })), []);
  assert.equal(rig.tcp.state(k.c), CLOSED);
  assert.equal(k.app.closed.get(k.c), CloseReason.RESET);
});

test('RFC 5961 §4.2: a SYN on an established connection draws a challenge ACK and changes nothing', () => {
  const rig = new ScriptRig();
  const k = openConn(rig);
  const [ch] = rig.exchange(fromPeer(k, { seq: k.peerNxt + 5, flags: TCP_SYN }));
  assert.equal(ch.flags, TCP_ACK);
  assert.equal(ch.ack, k.peerNxt);
  assert.equal(rig.tcp.state(k.c), ESTABLISHED);
});

test('RFC 5961 §5.2: an ACK for data never sent is answered with an ACK and dropped (its data too)', () => {
  const rig = new ScriptRig();
  const k = openConn(rig);
  const [a] = rig.exchange(fromPeer(k, { ack: k.sndNxt + 1000, data: new Uint8Array(10) }));
  assert.equal(a.flags, TCP_ACK);
  assert.equal(a.ack, k.peerNxt);
  assert.equal(k.app.bytes(k.c).length, 0);
});

test('challenge ACKs are rate-limited per second', () => {
  const rig = new ScriptRig();
  const k = openConn(rig);
  for (let i = 0; i < 1100; i++) rig.exchange(fromPeer(k, { seq: k.peerNxt + 1, flags: TCP_RST }));
  assert.equal(rig.tcp.counters.challengeAcks, 1000);
  assert.equal(rig.tcp.counters.challengeAcksSuppressed, 100);
  rig.advance(1_000_000);
  assert.equal(rig.exchange(fromPeer(k, { seq: k.peerNxt + 1, flags: TCP_RST })).length, 1);
});

test('abort() sends <SEQ=SND.NXT><RST> and reports ABORTED; RSTs in TIME_WAIT are ignored (RFC 1337)', () => {
  const rig = new ScriptRig();
  const k = openConn(rig);
  rig.tcp.abort(k.c);
  const [r] = rig.sent();
  assert.equal(r.flags, TCP_RST);
  assert.equal(r.seq, k.sndNxt);
  assert.equal(k.app.closed.get(k.c), CloseReason.ABORTED);
  assert.equal(rig.tcp.state(k.c), CLOSED);

  const k2 = openConn(rig);
  rig.tcp.close(k2.c);
  rig.sent();
  rig.exchange(fromPeer(k2, { ack: k2.sndNxt + 1, flags: TCP_FIN | TCP_ACK }));
  assert.equal(rig.tcp.state(k2.c), TIME_WAIT);
  rig.exchange(fromPeer(k2, { seq: k2.peerNxt + 1, ack: k2.sndNxt + 1, flags: TCP_RST }));
  assert.equal(rig.tcp.state(k2.c), TIME_WAIT);
});

test('a RST in SYN_RECEIVED returns a passive connection to LISTEN without telling the application', () => {
  const rig = new ScriptRig();
  const app = new Recorder();
  rig.tcp.listen(0, 81, app);
  const [sa] = rig.exchange({ sport: 999, dport: 81, seq: 10, ack: 0, flags: TCP_SYN, win: 1000 });
  assert.equal(rig.tcp.activeConnections, 1);
  rig.exchange({ sport: 999, dport: 81, seq: 11, ack: sa.seq + 1, flags: TCP_RST, win: 0 });
  assert.equal(rig.tcp.activeConnections, 0);
  assert.deepEqual(app.events, []);
  assert.equal(rig.tcp.listeners[0].pending, 0);
});

test('an ACK in SYN_RECEIVED that does not acknowledge our SYN draws <SEQ=SEG.ACK><RST>', () => {
  const rig = new ScriptRig();
  const app = new Recorder();
  rig.tcp.listen(0, 81, app);
  const [sa] = rig.exchange({ sport: 999, dport: 81, seq: 10, ack: 0, flags: TCP_SYN, win: 1000 });
  const [r] = rig.exchange({ sport: 999, dport: 81, seq: 11, ack: sa.seq + 50, flags: TCP_ACK, win: 1000 });
  assert.equal(r.flags, TCP_RST);
  assert.equal(r.seq, sa.seq + 50);
  assert.equal(app.connected.length, 0);
});

test('a source port freed by a RST goes to the back of the free order: the next connect() takes another one', () => {
  const rig = new ScriptRig();
  const k1 = openConn(rig);
  const k2 = openConn(rig);
  assert.deepEqual(rig.exchange(fromPeer(k1, { flags: TCP_RST })), []);
  assert.equal(rig.tcp.state(k1.c), CLOSED);
  const k3 = openConn(rig);
  assert.notEqual(k3.port, k1.port);
  assert.notEqual(k3.port, k2.port);
});
