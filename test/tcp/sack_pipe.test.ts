/**
 * SACK-based loss recovery around RACK (the RFC 6675 rules it replaced now
 * live in rack.test.ts and prr.test.ts): the two-segment case early
 * retransmit (RFC 5827) handled, the rescue retransmission of a tail during
 * recovery (RFC 6675 NextSeg rule 4), and the loss state after an RTO, which
 * resends only what is not SACKed unless the receiver reneged (RFC 2018 §8).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CA_LOSS, CA_OPEN } from '../../src/net/tcp/tcb.js';
import { bytes, fromPeer, rackConn } from './harness.js';

test('two segments outstanding and nothing more to send, the second SACKed: the first goes again after the reordering window, not the RTO', () => {
  const { rig, k, base } = rackConn(8000);
  rig.tcp.write(k.c, bytes(2000, 4), 0, 2000);
  assert.equal(rig.sent().length, 2);
  rig.advance(8000);
  assert.deepEqual(rig.exchange(fromPeer(k, { ack: base, sack: [[base + 1000, base + 2000]] })), []);
  // The reordering window (2 ms) and the timer's slack (2 ms, as Linux's TCP_TIMEOUT_MIN).
  const r = rig.advance(5000);
  assert.deepEqual(r.map((s) => s.seq - base), [0]);
  assert.equal(rig.tcp.counters.fastRetransmits, 1);
  assert.equal(rig.tcp.counters.rtoFires, 0);
});

test('rescue retransmission: during recovery, with nothing lost or new left to send, the highest segment not SACKed goes once', () => {
  const { rig, k, base } = rackConn(8000);
  rig.tcp.write(k.c, bytes(6000, 5), 0, 6000);
  rig.tcp.shutdown(k.c);
  // Six segments, then the FIN alone.
  assert.deepEqual(rig.sent().map((s) => s.seq - base), [0, 1000, 2000, 3000, 4000, 5000, 6000]);
  rig.advance(8000);
  const ack = (una: number, sack: [number, number][]): number[] =>
    rig.exchange(fromPeer(k, { ack: base + una, sack: sack.map(([l, r]) => [base + l, base + r] as [number, number]) })).map((s) => s.seq - base);
  // Segment 0 and the FIN are lost: three SACKed mark 0 lost; nothing sent later can mark the FIN.
  assert.deepEqual(ack(0, [[1000, 4000]]), [0]);
  // The next ACKs: nothing lost is left and nothing new: once PRR allows, the FIN goes again, once.
  let out: number[] = [];
  for (let r = 5000; r <= 6000 && out.length === 0; r += 1000) out = ack(0, [[1000, r]]);
  assert.deepEqual(out, [6000]);
  assert.equal(rig.tcp.counters.rescueRetransmits, 1);
  assert.deepEqual(ack(0, [[1000, 6001]]), []);
  // Both arrive: everything, the FIN included, is acknowledged; no RTO.
  ack(6001, []);
  assert.equal(rig.tcp.t.sndUna[k.c], base + 6001);
  assert.equal(rig.tcp.counters.rtoFires, 0);
});

test('RTO: the loss state resends what is not SACKed, lowest first, under slow start; a SACKed first segment means the receiver reneged', () => {
  for (const reneged of [false, true]) {
    const { rig, k, base } = rackConn(2000, { rtoMinUs: 200_000 });
    rig.tcp.write(k.c, bytes(5000, 6), 0, 5000);
    assert.equal(rig.sent().length, 5);
    // No ACK: the loss probe resends the tail.
    let probe = rig.advance(5000);
    for (let i = 0; i < 10 && probe.length === 0; i++) probe = rig.advance(1000);
    assert.deepEqual(probe.map((s) => s.seq - base), [4000]);
    // At once (within min_RTT, so RACK cannot tell which copy arrived) the tail is SACKed; with
    // `reneged`, the first segment too. Then silence until the RTO.
    const sack: [number, number][] = reneged ? [[base, base + 1000], [base + 4000, base + 5000]] : [[base + 4000, base + 5000]];
    rig.exchange(fromPeer(k, { ack: base, sack }));
    let out = rig.advance(50_000);
    for (let i = 0; i < 20 && !out.some((s) => s.seq === base); i++) out = rig.advance(50_000);
    assert.equal(rig.tcp.counters.rtoFires, 1);
    assert.equal(rig.tcp.t.ca[k.c], CA_LOSS);
    assert.equal(rig.tcp.counters.sackReneging, reneged ? 1 : 0);
    // cwnd is one segment: the first one went. ACKs let more out under slow start; SACKed data is
    // skipped unless the receiver reneged.
    const ack = (una: number): number[] => rig.exchange(fromPeer(k, { ack: base + una })).map((s) => s.seq - base);
    assert.deepEqual(ack(1000), [1000, 2000]);
    assert.deepEqual(ack(3000), reneged ? [3000, 4000] : [3000]);
    ack(5000);
    assert.equal(rig.tcp.t.ca[k.c], CA_OPEN);
    assert.equal(rig.tcp.counters.rtoRetransmits, reneged ? 5 : 4);
  }
});
