import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CA_RECOVERY } from '../../src/net/tcp/tcb.js';
import { ScriptRig, bytes, fromPeer, openConn } from './harness.js';

test('limited transmit on the first two duplicate ACKs, fast retransmit on the third, window inflation, NewReno partial ACK, full ACK ends recovery', () => {
  const rig = new ScriptRig({ sack: false, timestamps: false, cc: 'newreno' });
  const k = openConn(rig, { mss: 1000 });
  const base = k.sndNxt;
  const data = bytes(15_000);
  assert.equal(rig.tcp.write(k.c, data, 0, data.length), data.length);
  const first = rig.sent();
  assert.deepEqual(first.map((s) => s.seq - base), [0, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000]); // IW10
  // Segments 0 and 3 are lost. The first two duplicates each let one new segment out (RFC 3042 limited transmit).
  const dup = fromPeer(k, { ack: base });
  assert.deepEqual(rig.exchange(dup).map((s) => s.seq - base), [10_000]);
  assert.deepEqual(rig.exchange(dup).map((s) => s.seq - base), [11_000]);
  const [rx] = rig.exchange(dup);
  assert.equal(rx.seq, base);
  assert.deepEqual(rx.data, data.subarray(0, 1000));
  const t = rig.tcp.t;
  assert.equal(t.ssthresh[k.c], 6000); // FlightSize 12000 / 2
  assert.equal(t.cwnd[k.c], 9000);
  assert.equal(t.ca[k.c], CA_RECOVERY);
  // Each further duplicate inflates cwnd by one MSS; beyond the flight of 12000 new data goes out.
  for (let i = 0; i < 3; i++) assert.deepEqual(rig.exchange(dup), []);
  const [nu] = rig.exchange(dup);
  assert.equal(nu.seq - base, 12_000);
  // Partial ACK (up to the second hole): the next unacknowledged segment goes out at once.
  const part = rig.exchange(fromPeer(k, { ack: base + 3000 }));
  assert.equal(part[0].seq - base, 3000);
  assert.deepEqual(part[0].data, data.subarray(3000, 4000));
  assert.equal(t.ca[k.c], CA_RECOVERY);
  // Full ACK of everything sent before recovery: out of recovery, cwnd deflated to ssthresh at most.
  rig.exchange(fromPeer(k, { ack: base + 12_000 }));
  assert.notEqual(t.ca[k.c], CA_RECOVERY);
  assert.ok(t.cwnd[k.c] <= 6000);
  assert.equal(rig.tcp.counters.fastRetransmits, 1);
});
