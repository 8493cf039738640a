/** The cwnd and SRTT distributions of the run's result: sampled with the RTT measurements, into HDR histograms. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bytes, rackConn } from './harness.js';

test('the TCP layer samples cwnd and SRTT with each RTT measurement', () => {
  const { rig, k } = rackConn(5000);
  rig.tcp.write(k.c, bytes(5000, 14), 0, 5000);
  rig.sent();
  rig.advance(5000);
  rig.exchange({ sport: 80, dport: k.port, seq: k.peerNxt, ack: k.sndNxt + 5000, flags: 0x10, win: 65535 });
  const p = rig.tcp.stats.percentiles();
  assert.equal(p.cwnd.samples, 1); // the handshake (then every eighth measurement)
  // Two significant digits: within 1%.
  assert.ok(Math.abs(p.srttUs.p99 - 5000) <= 50, JSON.stringify(p));
  // 10,000 bytes (IW10 of 1000-byte segments) and a bit more.
  assert.ok(p.cwnd.p50 >= 9900 && p.cwnd.p99 <= 12_288, JSON.stringify(p));
});
