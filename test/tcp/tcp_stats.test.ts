/** The cwnd and SRTT distributions of the run's result: log-linear buckets, percentiles within 12.5%. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LogHistogram } from '../../src/net/tcp/tcp_stats.js';
import { bytes, rackConn } from './harness.js';

test('log-linear histogram: exact below 16, then 8 buckets per power of two; percentiles are bucket lower edges', () => {
  for (const v of [0, 1, 15, 16, 17, 100, 1000, 14_480, 2 ** 31, 2 ** 32 - 1]) {
    const i = LogHistogram.index(v);
    assert.ok(LogHistogram.lower(i) <= v && v < (i + 1 < 240 ? LogHistogram.lower(i + 1) : 2 ** 32), `${v} in bucket ${i}`);
    assert.ok(v < 16 || LogHistogram.lower(i) > v * 0.875, `${v}: ${LogHistogram.lower(i)}`);
  }
  const h = new LogHistogram();
  for (let v = 1; v <= 1000; v++) h.add(v * 100);
  assert.ok(Math.abs(h.quantile(0.5) - 50_000) / 50_000 < 0.125);
  assert.ok(Math.abs(h.quantile(0.99) - 99_000) / 99_000 < 0.125);
  assert.equal(new LogHistogram().quantile(0.5), -1);
});

test('the TCP layer samples cwnd and SRTT with each RTT measurement', () => {
  const { rig, k } = rackConn(5000);
  rig.tcp.write(k.c, bytes(5000, 14), 0, 5000);
  rig.sent();
  rig.advance(5000);
  rig.exchange({ sport: 80, dport: k.port, seq: k.peerNxt, ack: k.sndNxt + 5000, flags: 0x10, win: 65535 });
  const p = rig.tcp.stats.percentiles();
  assert.equal(p.cwnd.samples, 1); // the handshake (then every eighth measurement)
  assert.ok(p.srttUs.p99 >= 4096 && p.srttUs.p99 <= 5000, JSON.stringify(p));
  // 10,000 bytes (IW10 of 1000-byte segments) and a bit more: buckets of 1024 bytes there.
  assert.ok(p.cwnd.p50 >= 9216 && p.cwnd.p99 <= 12_288, JSON.stringify(p));
});
