import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CloseReason } from '../../src/net/tcp/api.js';
import { CLOSED, CLOSE_WAIT, CLOSING, ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2, LAST_ACK, STATE_NAMES, TIME_WAIT } from '../../src/net/tcp/tcb.js';
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_SYN } from '../../src/wire/tcp.js';
import { seqGt } from '../../src/net/tcp/seq.js';
import { A_IP, B_IP, Recorder, ScriptRig, bytes, fromPeer, openConn } from './harness.js';

const FA = TCP_FIN | TCP_ACK;

test('active close: FIN_WAIT_1 -> FIN_WAIT_2 -> TIME_WAIT, the TCB is freed after 2*MSL', () => {
  const rig = new ScriptRig({ timeWaitUs: 5_000_000 });
  const k = openConn(rig);
  rig.tcp.close(k.c);
  const [fin] = rig.sent();
  assert.equal(fin.flags, FA);
  assert.equal(fin.seq, k.sndNxt);
  assert.equal(rig.tcp.state(k.c), FIN_WAIT_1);
  assert.deepEqual(rig.exchange(fromPeer(k, { ack: k.sndNxt + 1 })), []);
  assert.equal(STATE_NAMES[rig.tcp.state(k.c)], 'FIN_WAIT_2');
  const [ack] = rig.exchange(fromPeer(k, { ack: k.sndNxt + 1, flags: FA }));
  assert.equal(ack.flags, TCP_ACK);
  assert.equal(ack.ack, k.peerNxt + 1);
  assert.equal(rig.tcp.state(k.c), TIME_WAIT);
  assert.deepEqual(k.app.events, [`connected ${k.c}`, `closed ${k.c} ${CloseReason.NORMAL}`]);
  // A retransmitted FIN in TIME_WAIT is acknowledged again.
  const [again] = rig.exchange(fromPeer(k, { ack: k.sndNxt + 1, flags: FA }));
  assert.equal(again.ack, k.peerNxt + 1);
  assert.equal(rig.tcp.activeConnections, 1);
  rig.advance(4_900_000);
  assert.equal(rig.tcp.state(k.c), TIME_WAIT);
  rig.advance(200_000);
  assert.equal(rig.tcp.state(k.c), CLOSED);
  assert.equal(rig.tcp.activeConnections, 0);
  assert.equal(rig.tcp.t.lookup(A_IP, k.port, B_IP, 80), -1, 'the tuple is free again');
});

test('passive close: CLOSE_WAIT (we may still send) -> LAST_ACK -> CLOSED', () => {
  const rig = new ScriptRig();
  const k = openConn(rig);
  const [ack] = rig.exchange(fromPeer(k, { flags: FA }));
  assert.equal(ack.ack, k.peerNxt + 1);
  assert.equal(rig.tcp.state(k.c), CLOSE_WAIT);
  assert.deepEqual(k.app.events.slice(-1), [`peerclosed ${k.c}`]);
  // Half-closed by the peer: data still flows our way.
  const data = bytes(100);
  assert.equal(rig.tcp.write(k.c, data, 0, 100), 100);
  const [d] = rig.sent();
  assert.equal(d.flags, TCP_ACK | TCP_PSH);
  assert.deepEqual(d.data, data);
  rig.tcp.close(k.c);
  const [fin] = rig.sent();
  assert.equal(fin.flags, FA);
  assert.equal(fin.seq, k.sndNxt + 100);
  assert.equal(rig.tcp.state(k.c), LAST_ACK);
  rig.exchange(fromPeer(k, { seq: k.peerNxt + 1, ack: k.sndNxt + 101 }));
  assert.equal(rig.tcp.state(k.c), CLOSED);
  assert.equal(k.app.closed.get(k.c), CloseReason.NORMAL);
});

test('simultaneous close: FIN crosses FIN, CLOSING -> TIME_WAIT', () => {
  const rig = new ScriptRig();
  const k = openConn(rig);
  rig.tcp.shutdown(k.c);
  const [fin] = rig.sent();
  assert.equal(fin.flags, FA);
  // The peer's FIN does not acknowledge ours.
  const [ack] = rig.exchange(fromPeer(k, { flags: FA }));
  assert.equal(ack.flags, TCP_ACK);
  assert.equal(ack.ack, k.peerNxt + 1);
  assert.equal(rig.tcp.state(k.c), CLOSING);
  rig.exchange(fromPeer(k, { seq: k.peerNxt + 1, ack: k.sndNxt + 1 }));
  assert.equal(rig.tcp.state(k.c), TIME_WAIT);
});

test('half-close: after shutdown() we keep receiving until the peer closes', () => {
  const rig = new ScriptRig();
  const k = openConn(rig);
  rig.tcp.shutdown(k.c);
  rig.sent();
  rig.exchange(fromPeer(k, { ack: k.sndNxt + 1 }));
  assert.equal(rig.tcp.state(k.c), FIN_WAIT_2);
  const data = bytes(300, 2);
  rig.exchange(fromPeer(k, { ack: k.sndNxt + 1, data }));
  assert.deepEqual(k.app.bytes(k.c), data);
  assert.equal(rig.tcp.write(k.c, data, 0, 10) < 0, true); // no sending after our FIN
  rig.exchange(fromPeer(k, { seq: k.peerNxt + 300, ack: k.sndNxt + 1, flags: FA }));
  assert.equal(rig.tcp.state(k.c), TIME_WAIT);
  assert.deepEqual(k.app.events.slice(-2), [`data ${k.c} 300`, `closed ${k.c} ${CloseReason.NORMAL}`]);
});

test('an orphaned FIN_WAIT_2 is dropped after finWait2 time', () => {
  const rig = new ScriptRig({ finWait2Us: 3_000_000 });
  const k = openConn(rig);
  rig.tcp.close(k.c);
  rig.sent();
  rig.exchange(fromPeer(k, { ack: k.sndNxt + 1 }));
  assert.equal(rig.tcp.state(k.c), FIN_WAIT_2);
  rig.advance(3_100_000);
  assert.equal(rig.tcp.state(k.c), CLOSED);
  assert.equal(rig.tcp.counters.finWait2Timeouts, 1);
});

test('TIME_WAIT reuse: a SYN with a newer timestamp opens a new incarnation; an older one is answered with an ACK', () => {
  const rig = new ScriptRig({ timeWaitUs: 60_000_000 });
  const srv = new Recorder();
  rig.tcp.listen(0, 80, srv);
  // The peer is the client here; the node closes first so it holds TIME_WAIT.
  const [sa] = rig.exchange({ sport: 3333, dport: 80, seq: 100, ack: 0, flags: TCP_SYN, win: 65535, ts: [50, 0] });
  rig.exchange({ sport: 3333, dport: 80, seq: 101, ack: sa.seq + 1, flags: TCP_ACK, win: 65535, ts: [51, sa.ts![0]] });
  const c = srv.connected[0];
  rig.tcp.close(c);
  const [fin] = rig.sent();
  rig.exchange({ sport: 3333, dport: 80, seq: 101, ack: fin.seq + 1, flags: FA, win: 65535, ts: [52, fin.ts![0]] });
  assert.equal(rig.tcp.state(c), TIME_WAIT);
  // Older timestamp: not a new connection (RFC 6191); PAWS answers with an ACK.
  const [old] = rig.exchange({ sport: 3333, dport: 80, seq: 5000, ack: 0, flags: TCP_SYN, win: 65535, ts: [40, 0] });
  assert.equal(old.flags, TCP_ACK);
  assert.equal(rig.tcp.state(c), TIME_WAIT);
  const [sa2] = rig.exchange({ sport: 3333, dport: 80, seq: 5000, ack: 0, flags: TCP_SYN, win: 65535, ts: [60, 0] });
  assert.equal(sa2.flags, TCP_SYN | TCP_ACK);
  assert.equal(sa2.ack, 5001);
  assert.equal(rig.tcp.counters.twRecycled, 1);
  rig.exchange({ sport: 3333, dport: 80, seq: 5001, ack: sa2.seq + 1, flags: TCP_ACK, win: 65535, ts: [61, sa2.ts![0]] });
  assert.equal(srv.connected.length, 2);
  assert.equal(rig.tcp.state(srv.connected[1]), ESTABLISHED);
});

test('TIME_WAIT reuse by connect(): an explicit port in TIME_WAIT is taken over with an ISS past the old one', () => {
  const rig = new ScriptRig({ timeWaitUs: 60_000_000 });
  const k = openConn(rig);
  rig.tcp.close(k.c);
  rig.sent();
  rig.exchange(fromPeer(k, { ack: k.sndNxt + 1, flags: FA }));
  assert.equal(rig.tcp.state(k.c), TIME_WAIT);
  const app = new Recorder();
  const c2 = rig.tcp.connect(A_IP, B_IP, 80, app, k.port);
  assert.ok(c2 >= 0);
  const [syn] = rig.sent();
  assert.equal(syn.flags, TCP_SYN);
  assert.equal(syn.sport, k.port);
  assert.equal(rig.tcp.counters.twRecycled, 1);
  // Same instant, so the RFC 6528 clock has not moved: the ISS still starts past the old incarnation.
  assert.ok(seqGt(syn.seq, k.sndNxt + 65535));
});

test('a full TCB store recycles the oldest TIME_WAIT connection for each new connect(), over and over', () => {
  const rig = new ScriptRig({ maxConns: 4, timeWaitUs: 60_000_000 });
  for (let i = 0; i < 200; i++) {
    const k = openConn(rig);
    rig.tcp.close(k.c);
    rig.sent();
    rig.exchange(fromPeer(k, { ack: k.sndNxt + 1, flags: FA }));
    assert.equal(rig.tcp.state(k.c), TIME_WAIT);
  }
  assert.equal(rig.tcp.activeConnections, 4);
  assert.equal(rig.tcp.counters.twRecycled, 196);
});

test('a close() inside onConnected sends one FIN,ACK that also acknowledges the SYN (no separate ACK)', () => {
  const rig = new ScriptRig();
  const app = new Recorder();
  app.onConnectedHook = (c) => rig.tcp.close(c);
  const c = rig.tcp.connect(A_IP, B_IP, 80, app);
  const [syn] = rig.sent();
  const out = rig.exchange({ sport: 80, dport: syn.sport, seq: 7000, ack: syn.seq + 1, flags: TCP_SYN | TCP_ACK, win: 65535 });
  assert.equal(out.length, 1);
  assert.equal(out[0].flags, FA);
  assert.equal(out[0].seq, syn.seq + 1);
  assert.equal(out[0].ack, 7001);
  assert.equal(rig.tcp.state(c), FIN_WAIT_1);
});

test("a close() inside onPeerClosed sends one FIN,ACK that acknowledges the peer's FIN; without it, the FIN is ACKed at once", () => {
  const rig = new ScriptRig();
  const k = openConn(rig);
  k.app.onPeerClosed = (c: number) => rig.tcp.close(c);
  const out = rig.exchange(fromPeer(k, { flags: FA }));
  assert.equal(out.length, 1);
  assert.equal(out[0].flags, FA);
  assert.equal(out[0].ack, k.peerNxt + 1);
  assert.equal(rig.tcp.state(k.c), LAST_ACK);
  // An application that does not answer the FIN still gets it acknowledged in the same poll.
  const k2 = openConn(rig);
  const out2 = rig.exchange(fromPeer(k2, { flags: FA }));
  assert.deepEqual(out2.map((s) => [s.flags, s.ack]), [[TCP_ACK, k2.peerNxt + 1]]);
  assert.equal(rig.tcp.state(k2.c), CLOSE_WAIT);
});
