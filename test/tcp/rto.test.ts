import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CloseReason } from '../../src/net/tcp/api.js';
import { rttSample } from '../../src/net/tcp/rto.js';
import { CLOSED } from '../../src/net/tcp/tcb.js';
import { ScriptRig, bytes, fromPeer, openConn } from './harness.js';

test('RFC 6298 estimator: first sample sets SRTT=R, RTTVAR=R/2; later ones smooth; RTO is bounded by rtoMin', () => {
  const rig = new ScriptRig({ rtoMinUs: 200_000 });
  const k = openConn(rig);
  const t = rig.tcp.t;
  t.srtt[k.c] = -1;
  rttSample(rig.tcp, k.c, 100_000);
  assert.equal(t.srtt[k.c], 100_000);
  assert.equal(t.rttvar[k.c], 50_000);
  assert.equal(t.rto[k.c], 300_000);
  rttSample(rig.tcp, k.c, 20_000);
  assert.equal(t.rttvar[k.c], (3 * 50_000 + 80_000) >> 2);
  assert.equal(t.srtt[k.c], (7 * 100_000 + 20_000) >> 3);
  for (let i = 0; i < 50; i++) rttSample(rig.tcp, k.c, 1000);
  assert.equal(t.rto[k.c], 200_000);
});

test('data is retransmitted with doubling RTO, then the connection is aborted at the retry limit', () => {
  const rig = new ScriptRig({ retries: 4, rtoMinUs: 200_000, rtoInitialUs: 1_000_000 });
  const k = openConn(rig);
  const data = bytes(500);
  rig.tcp.write(k.c, data, 0, 500);
  const [first] = rig.sent();
  assert.deepEqual(first.data, data);
  const rto0 = Math.ceil(rig.tcp.t.rto[k.c] / 1000) * 1000;
  const start = rig.clock.nowUs();
  const at: number[] = [];
  for (let i = 0; i < 400 && !k.app.closed.has(k.c); i++) {
    for (const s of rig.advance(100_000)) {
      assert.equal(s.seq, k.sndNxt);
      assert.deepEqual(s.data, data);
      at.push(rig.clock.nowUs() - start);
    }
  }
  // Retransmissions after RTO, 2 RTO, 4 RTO, 8 RTO (cumulative 1, 3, 7, 15), then abort after 16 more.
  assert.deepEqual(at.map((x) => Math.round(x / rto0)), [1, 3, 7, 15]);
  assert.equal(k.app.closed.get(k.c), CloseReason.TIMEOUT);
  assert.equal(rig.tcp.state(k.c), CLOSED);
  assert.equal(rig.tcp.counters.retryLimitAborts, 1);
  assert.equal(rig.tcp.counters.rtoFires, 4);
});

test('after an RTO the window collapses to one segment and grows again as ACKs arrive (go-back-N)', () => {
  const rig = new ScriptRig({ rtoMinUs: 200_000, cc: 'newreno' });
  const k = openConn(rig, { mss: 1000 });
  const data = bytes(5000);
  rig.tcp.write(k.c, data, 0, 5000);
  assert.equal(rig.sent().length, 5);
  let out = rig.advance(10_000);
  for (let i = 0; i < 100 && out.length === 0; i++) out = rig.advance(10_000);
  assert.equal(out.length, 1); // cwnd = 1 MSS
  assert.equal(out[0].seq, k.sndNxt);
  const next = rig.exchange(fromPeer(k, { ack: k.sndNxt + 1000 }));
  assert.deepEqual(next.map((s) => s.seq - k.sndNxt), [1000, 2000]); // slow start: 2 segments
  assert.equal(rig.tcp.t.ssthresh[k.c], 2500);
});
