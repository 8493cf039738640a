import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IsnGenerator } from '../../src/net/tcp/isn.js';

test('RFC 6528 ISN: keyed per tuple, advancing one per 4 µs on a tuple', () => {
  const g = new IsnGenerator(Uint32Array.of(1, 2));
  const a = g.isn(1, 1000, 2, 80, 0);
  assert.equal(g.isn(1, 1000, 2, 80, 4000), (a + 1000) >>> 0);
  assert.notEqual(g.isn(1, 1001, 2, 80, 0), a);
  assert.notEqual(g.isn(1, 1000, 3, 80, 0), a);
  assert.notEqual(new IsnGenerator(Uint32Array.of(1, 3)).isn(1, 1000, 2, 80, 0), a);
  // Spread: 10,000 neighbouring ports give distinct values.
  const s = new Set<number>();
  for (let p = 0; p < 10_000; p++) s.add(g.hash(1, p, 2, 80));
  assert.equal(s.size, 10_000);
});
