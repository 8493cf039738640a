/**
 * TIME_WAIT on the passive side: a server that closes first keeps its TCBs in
 * TIME_WAIT, and new SYNs must still be served (the oldest TIME_WAIT is
 * recycled when the store is full), and a SYN for a tuple in TIME_WAIT opens a
 * new incarnation when it cannot be mistaken for the old one (RFC 6191,
 * RFC 1122 §4.2.2.13).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ESTABLISHED, TIME_WAIT } from '../../src/net/tcp/tcb.js';
import { TCP_ACK, TCP_FIN, TCP_SYN } from '../../src/wire/tcp.js';
import { A_IP, B_IP, Recorder, ScriptRig } from './harness.js';

const SA = TCP_SYN | TCP_ACK;
const FA = TCP_FIN | TCP_ACK;

/** The peer opens a connection from `sport` to the node's port 80 with ISN `isn`; returns the node's id for it. */
function peerOpens(rig: ScriptRig, srv: Recorder, sport: number, isn: number): number {
  const [sa] = rig.exchange({ sport, dport: 80, seq: isn, ack: 0, flags: TCP_SYN, win: 65535 });
  assert.ok(sa !== undefined, `SYN from port ${sport} got no answer`);
  assert.equal(sa.flags, SA);
  assert.equal(sa.ack, isn + 1);
  rig.exchange({ sport, dport: 80, seq: isn + 1, ack: sa.seq + 1, flags: TCP_ACK, win: 65535 });
  const c = srv.connected[srv.connected.length - 1];
  assert.equal(rig.tcp.state(c), ESTABLISHED);
  return c;
}

/** The node closes first; the peer's FIN,ACK puts the node's side in TIME_WAIT. */
function serverCloses(rig: ScriptRig, c: number, sport: number, peerSeq: number): void {
  rig.tcp.close(c);
  const [fin] = rig.sent();
  assert.equal(fin.flags, FA);
  const [ack] = rig.exchange({ sport, dport: 80, seq: peerSeq, ack: fin.seq + 1, flags: FA, win: 65535 });
  assert.equal(ack.ack, peerSeq + 1);
  assert.equal(rig.tcp.state(c), TIME_WAIT);
}

test('a server whose TCBs are all in TIME_WAIT recycles the oldest for each new SYN instead of dropping it', () => {
  const rig = new ScriptRig({ maxConns: 4, timeWaitUs: 60_000_000 });
  const srv = new Recorder();
  assert.ok(rig.tcp.listen(0, 80, srv) >= 0);
  for (let i = 0; i < 10; i++) {
    const sport = 20000 + i;
    serverCloses(rig, peerOpens(rig, srv, sport, 100), sport, 101);
    if (i >= 4) {
      // The oldest TIME_WAIT went; the next oldest is still there.
      assert.equal(rig.tcp.t.lookup(A_IP, 80, B_IP, sport - 4), -1);
      assert.ok(rig.tcp.t.lookup(A_IP, 80, B_IP, sport - 3) >= 0);
    }
  }
  assert.equal(srv.connected.length, 10);
  assert.equal(rig.tcp.activeConnections, 4);
  assert.equal(rig.tcp.counters.twRecycled, 6);
  assert.equal(rig.tcp.counters.tcbExhausted, 0);
});

test('without timestamps, a SYN for a TIME_WAIT tuple reopens it only with a sequence number above the old RCV.NXT', () => {
  const rig = new ScriptRig({ timeWaitUs: 60_000_000 });
  const srv = new Recorder();
  assert.ok(rig.tcp.listen(0, 80, srv) >= 0);
  const c = peerOpens(rig, srv, 3333, 100);
  serverCloses(rig, c, 3333, 101); // the old RCV.NXT is 102
  // At or below RCV.NXT it may be an old duplicate: TIME_WAIT answers with an ACK (RFC 9293 §3.10.7.4).
  const [old] = rig.exchange({ sport: 3333, dport: 80, seq: 102, ack: 0, flags: TCP_SYN, win: 65535 });
  assert.equal(old.flags, TCP_ACK);
  assert.equal(old.ack, 102);
  assert.equal(rig.tcp.state(c), TIME_WAIT);
  assert.equal(rig.tcp.counters.twRecycled, 0);
  const c2 = peerOpens(rig, srv, 3333, 90_000);
  assert.equal(rig.tcp.counters.twRecycled, 1);
  assert.equal(srv.connected.length, 2);
  assert.equal(rig.tcp.state(c2), ESTABLISHED);
});
