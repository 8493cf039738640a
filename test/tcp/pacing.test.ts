/**
 * Pacing as Linux's internal pacing: rate = ratio * cwnd / SRTT, ratio 2 in
 * slow start (cwnd below ssthresh / 2) and 1.2 after; segments leave two at a
 * time, the rest when their time comes, at the poll loop's ticks.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PACING_CA_RATIO, PACING_SS_RATIO, Pacer } from '../../src/net/tcp/pacing.js';
import { TcbStore } from '../../src/net/tcp/tcb.js';
import { bytes, rackConn } from './harness.js';

test('pacing rate: 2 cwnd / SRTT in slow start, 1.2 cwnd / SRTT after; each segment moves the next send time on by its length at the rate', () => {
  const t = new TcbStore(1);
  const clock = { nowUs: 10_000 };
  const p = new Pacer(1, true, clock);
  t.sndMss[0] = 1000;
  t.srtt[0] = -1;
  assert.equal(p.rate(t, 0, 0), Infinity); // no RTT yet: no pacing
  t.srtt[0] = 10_000;
  t.cwnd[0] = 20_000;
  t.ssthresh[0] = 0x7fffffff;
  assert.equal(p.rate(t, 0, 0), (PACING_SS_RATIO * 20_000) / 10_000);
  t.ssthresh[0] = 30_000;
  assert.equal(p.rate(t, 0, 0), (PACING_CA_RATIO * 20_000) / 10_000);
  // 2.4 bytes per µs: a 1000-byte segment takes 416.7 µs.
  p.sent(t, 0, 1000, 0);
  // The next send time starts from at most one tick (1 ms) back: a pause earns one tick's burst, no more.
  assert.ok(Math.abs(p.next[0] - (clock.nowUs - 1000 + 1000 / 2.4)) < 1e-6);
  assert.ok(Math.abs(p.lead[0] - 1000 / 2.4) < 1e-6);
});

test('pacing on a connection: a window leaves in pairs of segments spread over the round trip, not as one burst', () => {
  const { rig, k, base } = rackConn(10_000, { pacing: true });
  rig.tcp.write(k.c, bytes(10_000, 13), 0, 10_000);
  // IW10 with SRTT 10 ms, slow start: 2 * 10,000 / 10 ms = 2 bytes/µs, a segment per 500 µs.
  const first = rig.sent().map((s) => s.seq - base);
  assert.ok(first.length >= 2 && first.length < 10, `first burst ${first}`);
  const times: number[] = [];
  let sent = first.length;
  for (let ms = 1; ms <= 10 && sent < 10; ms++) {
    const out = rig.advance(1000);
    sent += out.length;
    for (let i = 0; i < out.length; i++) times.push(ms);
  }
  assert.equal(sent, 10);
  // What is left goes over the following ticks (the wheel wakes the connection), about two per ms.
  assert.ok(times[times.length - 1] >= 3, `sent by ${times}`);
  assert.ok(Math.max(...[1, 2, 3, 4, 5].map((ms) => times.filter((x) => x === ms).length)) <= 3, `per ms ${times}`);
});
