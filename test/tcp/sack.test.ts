/**
 * The sender's scoreboard (rtx_queue.ts): one record per segment in flight,
 * SACK blocks tagging whole records, the byte counts behind the pipe, the
 * ring growing with the window in a shared arena, and holes found in a 4 MB
 * window at 5% loss.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { R_EVER, R_LOST, R_RETRANS, R_SACKED, RtxQueue } from '../../src/net/tcp/rtx_queue.js';
import { prng } from './harness.js';

/** A scoreboard on a clock the test moves. */
function board(conns = 4, records = 1 << 14): { q: RtxQueue; clock: { nowUs: number; xmitTime(): number } } {
  const clock = {
    nowUs: 1000,
    xmitTime(): number {
      return this.nowUs;
    },
  };
  return { q: new RtxQueue(conns, records, clock), clock };
}

/** Sends `n` segments of `len` bytes from `seq` on connection `c`. */
function send(q: RtxQueue, c: number, seq: number, n: number, len: number): void {
  for (let i = 0; i < n; i++) {
    assert.ok(q.reserve(c));
    q.push(c, (seq + i * len) >>> 0, (seq + (i + 1) * len) >>> 0);
  }
}

test('scoreboard: SACK blocks tag whole records only; the pipe counts SACKed, lost and retransmitted bytes', () => {
  const { q } = board();
  send(q, 0, 1000, 10, 1000); // [1000, 11000)
  q.beginAck(0);
  assert.equal(q.tagSacked(0, 3000, 5000), 2000);
  // A block covering a record in part leaves it un-SACKed.
  assert.equal(q.tagSacked(0, 6500, 8000), 1000);
  assert.equal(q.sacked[0], 3000);
  assert.equal(q.sackedSegs[0], 3);
  // The same block again tags nothing more (the union-find skips the SACKed run).
  assert.equal(q.tagSacked(0, 3000, 5000), 0);
  assert.equal(q.pipe(0, 10_000), 7000);
  // [1000, 2000) deemed lost: out of the pipe; retransmitted: back in.
  const k = q.head[0];
  q.markLost(0, q.pos(0, k));
  assert.equal(q.lost[0], 1000);
  assert.equal(q.pipe(0, 10_000), 6000);
  assert.equal(q.nextLost(0, q.head[0]), k);
  q.onRetransmit(0, q.pos(0, k));
  assert.equal(q.flags[q.pos(0, k)], R_LOST | R_RETRANS | R_EVER);
  assert.equal(q.pipe(0, 10_000), 7000);
  // No lost record waits for a retransmission now: the scan ends at the tail.
  assert.equal(q.nextLost(0, q.head[0]), q.tail(0));
  // The cumulative ACK up to 5000 drops four records, two of them SACKed; 2000 bytes newly delivered.
  q.beginAck(0);
  assert.equal(q.cumAck(0, 5000, true), 2000);
  assert.equal(q.count[0], 6);
  assert.equal(q.sacked[0], 1000);
  assert.equal(q.sackedSegs[0], 1);
  assert.equal(q.lost[0] + q.retrans[0], 0);
  assert.equal(q.cumRetrans, true); // Karn: the ACK covered a retransmitted record
  // The highest records: the last un-SACKed, the end of the last SACKed.
  assert.equal(q.end[q.pos(0, q.highestUnsacked(0))], 11_000);
  assert.equal(q.highestSacked(0, 5000), 8000);
  // A partial ACK trims the first record; everything acknowledged returns the ring.
  q.cumAck(0, 5500, true);
  assert.equal(q.start[q.pos(0, q.head[0])], 5500);
  q.cumAck(0, 11_000, false);
  assert.equal(q.count[0], 0);
  assert.equal(q.base[0], -1);
  assert.equal(q.sacked[0] + q.lost[0] + q.retrans[0], 0);
});

test('scoreboard: a cumulative ACK of originals gives the RTT samples and RACK\'s newest delivered segment', () => {
  const { q, clock } = board();
  for (let i = 0; i < 4; i++) {
    clock.nowUs = 1000 + i * 100;
    send(q, 1, 1000 + i * 1000, 1, 1000);
  }
  clock.nowUs = 5000;
  q.beginAck(0);
  assert.equal(q.cumAck(1, 4000, true), 3000);
  assert.equal(q.seqRttXmit, 1000); // the first acknowledged: the RTO's sample (RFC 6298, Linux seq_rtt)
  assert.equal(q.caRttXmit, 1200); // the last: the min-RTT / HyStart++ sample
  assert.equal(q.rackXmit, 1200);
  assert.equal(q.rackEnd, 4000);
  assert.equal(q.delivered, 3000);
});

test('scoreboard: sequence numbers wrap around 2^32', () => {
  const { q } = board();
  const base = 0xfffff000;
  send(q, 2, base, 8, 1000);
  q.beginAck(0);
  assert.equal(q.tagSacked(2, (base + 3000) >>> 0, (base + 5000) >>> 0), 2000);
  assert.equal(q.flags[q.pos(2, q.seek(2, (base + 3500) >>> 0, true))] & R_SACKED, R_SACKED);
  assert.equal(q.cumAck(2, (base + 3000) >>> 0, true), 3000);
  assert.equal(q.start[q.pos(2, q.head[2])], (base + 3000) >>> 0);
  assert.equal(q.sacked[2], 2000);
});

test('scoreboard: the holes of a 4 MB window at 5% loss, SACKed in the order a receiver reports them', () => {
  const { q } = board(2, 1 << 13);
  const mss = 1448;
  const n = Math.ceil((4 << 20) / mss); // 2897 segments
  const start = 0x7ffff000; // across 2^31
  send(q, 0, start, n, mss);
  assert.equal(q.count[0], n);
  assert.equal(1 << q.order[0], 4096); // the ring doubled from 4 records as the window grew
  // 5% of the segments lost, the rest SACKed: the receiver reports the block it just grew, then older ones.
  const rnd = prng(5);
  const lost = new Set<number>();
  for (let i = 0; i < n; i++) if (rnd() < 0.05) lost.add(i);
  const blocks: [number, number][] = [];
  let i = 0;
  while (i < n) {
    if (lost.has(i)) {
      i++;
      continue;
    }
    const from = i;
    while (i < n && !lost.has(i)) i++;
    blocks.push([from, i]);
  }
  assert.ok(lost.size > 100, `${lost.size} holes`);
  q.beginAck(0);
  let tagged = 0;
  // Each ACK carries the newest block and the three before it; every block is reported four times.
  for (let b = 0; b < blocks.length; b++) {
    for (let j = b; j >= 0 && j > b - 4; j--) {
      const [f, t] = blocks[j];
      // Receivers report a growing block as it grows: a prefix first, then all of it.
      tagged += q.tagSacked(0, (start + f * mss) >>> 0, (start + Math.max(f + 1, t - 1) * mss) >>> 0);
      tagged += q.tagSacked(0, (start + f * mss) >>> 0, (start + t * mss) >>> 0);
    }
  }
  assert.equal(tagged, (n - lost.size) * mss);
  assert.equal(q.sacked[0], (n - lost.size) * mss);
  assert.equal(q.sackedSegs[0], n - lost.size);
  // Every hole is found, in order, skipping the SACKed runs between them.
  const holes: number[] = [];
  for (let k = q.unsacked(0, q.head[0]); q.valid(0, k); k = q.unsacked(0, (k + 1) >>> 0)) holes.push((k - q.head[0]) >>> 0);
  assert.deepEqual(holes, [...lost].sort((a, b) => a - b));
  assert.equal(q.refused, 0);
});

test('scoreboard arena: rings of many connections come and go; freed blocks merge again for a big ring', () => {
  const conns = 64;
  const { q } = board(conns, 1 << 12);
  const cap = q.capacity;
  // Fragment the arena: every connection takes a small ring, every other one grows a little.
  for (let c = 0; c < conns; c++) send(q, c, 0, c % 2 === 0 ? 4 : 16, 100);
  for (let c = 0; c < conns; c++) q.clear(c);
  // All returned: one connection can now take half the arena (the largest ring it may have).
  send(q, 0, 0, cap / 2, 1);
  assert.equal(q.count[0], cap / 2);
  // The arena is full for another ring that size: the segment waits (reserve says no) rather than growing memory.
  send(q, 1, 0, 4, 1);
  let full = false;
  for (let i = 0; i < cap && !full; i++) {
    if (!q.reserve(1)) full = true;
    else q.push(1, 0, 1);
  }
  assert.ok(full);
  assert.ok(q.refused > 0);
  q.clear(0);
  q.clear(1);
  assert.ok(q.reserve(1));
});
