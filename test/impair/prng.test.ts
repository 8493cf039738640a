import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Prng } from '../../src/common/prng.js';

test('prng: a seed repeats its sequence; other seeds differ', () => {
  const a = new Prng(42);
  const b = new Prng(42);
  const c = new Prng(43);
  const sa = Array.from({ length: 16 }, () => a.nextU32());
  const sb = Array.from({ length: 16 }, () => b.nextU32());
  const sc = Array.from({ length: 16 }, () => c.nextU32());
  assert.deepEqual(sa, sb);
  assert.notDeepEqual(sa, sc);
  a.reseed(42);
  assert.equal(a.nextU32(), sa[0], 'reseed restarts the stream');
  for (const v of sa) assert.ok(Number.isInteger(v) && v >= 0 && v < 2 ** 32);
});

test('prng: uniform mean and variance, int range, chance share', () => {
  const r = new Prng(7);
  const n = 200_000;
  let sum = 0;
  let sq = 0;
  let hits = 0;
  const buckets = new Array<number>(10).fill(0);
  for (let i = 0; i < n; i++) {
    const x = r.next();
    assert.ok(x >= 0 && x < 1);
    sum += x;
    sq += x * x;
    buckets[r.int(10)]++;
    if (r.chance(0.25)) hits++;
  }
  const mean = sum / n;
  // Uniform(0,1): mean 1/2 (sd of the mean 0.29/sqrt(n)), variance 1/12.
  assert.ok(Math.abs(mean - 0.5) < 4 * Math.sqrt(1 / 12 / n), `mean ${mean}`);
  assert.ok(Math.abs(sq / n - mean * mean - 1 / 12) < 0.002);
  for (const b of buckets) assert.ok(Math.abs(b - n / 10) < 4 * Math.sqrt(n * 0.1 * 0.9), `bucket ${b}`);
  assert.ok(Math.abs(hits / n - 0.25) < 4 * Math.sqrt(0.25 * 0.75 / n));
  assert.equal(new Prng(1).chance(0), false);
  assert.equal(new Prng(1).chance(1), true);
});

test('prng: normal deviates have the asked mean and sigma', () => {
  const r = new Prng(99);
  const n = 200_000;
  let sum = 0;
  let sq = 0;
  let within1 = 0;
  for (let i = 0; i < n; i++) {
    const x = r.normal(10, 2);
    sum += x;
    sq += (x - 10) ** 2;
    if (Math.abs(x - 10) < 2) within1++;
  }
  assert.ok(Math.abs(sum / n - 10) < 4 * (2 / Math.sqrt(n)), `mean ${sum / n}`);
  assert.ok(Math.abs(Math.sqrt(sq / n) - 2) < 0.02, `sigma ${Math.sqrt(sq / n)}`);
  // 68.27% of a normal lies within one sigma.
  assert.ok(Math.abs(within1 / n - 0.6827) < 0.005);
});
