/**
 * RFC 8985 §7 tail loss probe: when no ACK comes for PTO = 2 SRTT + 2 ms (+ 200
 * ms instead of 2 with one segment in flight) the sender sends a new segment
 * if it has one, else resends its last segment, once, and then waits for the
 * RTO; a lost tail or a lost last ACK costs a PTO, not an RTO. New data sent
 * restarts the PTO.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bytes, fromPeer, sackConn } from './harness.js';

test('loss probe: the last segment is resent after the PTO, once; the RTO follows if the probe is not answered', () => {
  const { rig, k, base } = sackConn({ rtoMinUs: 200_000 });
  const data = bytes(5000, 6);
  rig.tcp.write(k.c, data, 0, data.length);
  assert.equal(rig.sent().length, 5);
  // The handshake's RTT sample is ~0: PTO is 1 ms (2 SRTT, rounded up) + 2 ms.
  assert.deepEqual(rig.advance(2000), []);
  const [probe, ...more] = rig.advance(2000);
  assert.deepEqual(more, []);
  assert.equal(probe.seq - base, 4000);
  assert.deepEqual(probe.data, data.subarray(4000, 5000));
  assert.equal(rig.tcp.counters.lossProbes, 1);
  // No second probe: the RTO, 200 ms after the probe, resends from SND.UNA.
  assert.deepEqual(rig.advance(190_000), []);
  const rto = rig.advance(20_000);
  assert.equal(rto[0].seq, base);
  assert.equal(rig.tcp.counters.rtoFires, 1);
  assert.equal(rig.tcp.counters.lossProbes, 1);
});

test('loss probe: new data when it waits behind cwnd (RFC 8985 §7.3); an ACK after the probe ends the episode without an RTO', () => {
  const { rig, k, base } = sackConn({ rtoMinUs: 200_000 });
  const data = bytes(15_000, 7);
  rig.tcp.write(k.c, data, 0, data.length);
  assert.equal(rig.sent().length, 10); // IW10: 5000 bytes wait
  const [probe, ...more] = rig.advance(4000);
  assert.deepEqual(more, []);
  assert.equal(probe.seq - base, 10_000); // the next new segment, whatever cwnd says
  assert.deepEqual(probe.data, data.subarray(10_000, 11_000));
  assert.equal(rig.tcp.counters.tlpNewData, 1);
  // The ACK of the whole flight had been lost; the probe's ACK covers it all, and the rest goes out.
  const rest = rig.exchange(fromPeer(k, { ack: base + 11_000 }));
  assert.deepEqual(rest.map((s) => s.seq - base), [11_000, 12_000, 13_000, 14_000]);
  rig.exchange(fromPeer(k, { ack: base + 15_000 }));
  assert.deepEqual(rig.advance(300_000), []);
  assert.equal(rig.tcp.counters.rtoFires, 0);
  assert.equal(rig.tcp.counters.lossProbes, 1);
  assert.equal(rig.tcp.counters.retransSegs, 0);
  assert.equal(rig.tcp.t.sndUna[k.c], base + 15_000);
});

test('loss probe: new data restarts the PTO, which then leaves out the delayed-ACK allowance of a lone segment', () => {
  const { rig, k, base } = sackConn({ rtoMinUs: 200_000 });
  const data = bytes(3000, 8);
  rig.tcp.write(k.c, data, 0, 1000);
  assert.equal(rig.sent().length, 1);
  // One segment in flight: PTO = 1 + 200 ms, as the peer may delay the ACK of a lone segment.
  assert.deepEqual(rig.advance(100_000), []);
  // Two more segments leave: the PTO restarts on a flight of three, 1 + 2 ms.
  rig.tcp.write(k.c, data, 1000, 2000);
  assert.deepEqual(rig.sent().map((s) => s.seq - base), [1000, 2000]);
  const [probe, ...more] = rig.advance(4000);
  assert.deepEqual(more, []);
  assert.equal(probe.seq - base, 2000);
  assert.equal(rig.tcp.counters.lossProbes, 1);
  assert.equal(rig.tcp.counters.rtoFires, 0);
});
