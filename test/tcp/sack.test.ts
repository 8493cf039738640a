import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SackBoard } from '../../src/net/tcp/sack.js';

test('SACK scoreboard: merges overlapping blocks, finds holes, trims on cumulative ACK', () => {
  const s = new SackBoard(1);
  s.add(0, 3000, 4000);
  s.add(0, 6000, 7000);
  s.add(0, 4000, 5000); // touches the first
  assert.equal(s.n[0], 2);
  assert.equal(s.nextHole(0, 2000), 2000);
  assert.equal(s.holeEnd, 3000);
  assert.equal(s.nextHole(0, 3500), 5000);
  assert.equal(s.holeEnd, 6000);
  assert.equal(s.nextHole(0, 6500), -1);
  s.trim(0, 4500);
  assert.equal(s.nextHole(0, 4500), 5000); // [4500, 5000) still SACKed
  s.trim(0, 6500);
  assert.equal(s.n[0], 1);
  assert.equal(s.nextHole(0, 6500), -1);
  s.trim(0, 8000);
  assert.equal(s.n[0], 0);
});

test('SACK scoreboard: wraps around 2^32 and keeps the lowest four ranges when more arrive', () => {
  const s = new SackBoard(1);
  const base = 0xfffff000;
  for (let i = 0; i < 6; i++) s.add(0, (base + i * 2000) >>> 0, (base + i * 2000 + 1000) >>> 0);
  assert.equal(s.n[0], 4);
  assert.equal(s.nextHole(0, base), (base + 1000) >>> 0);
  assert.equal(s.holeEnd, (base + 2000) >>> 0);
  assert.equal(s.nextHole(0, (base + 6500) >>> 0), -1); // the fifth and sixth ranges were dropped
});
