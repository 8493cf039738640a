import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Prng } from '../../src/common/prng.js';
import { LossModel, expectedLoss } from '../../src/impair/loss.js';
import { parseImpairSpec } from '../../src/impair/spec.js';

function share(spec: string, n: number, seed: number): number {
  const m = new LossModel(parseImpairSpec(spec), new Prng(seed));
  let lost = 0;
  for (let i = 0; i < n; i++) if (m.drop()) lost++;
  return lost / n;
}

test('loss: expected shares of the random and Gilbert-Elliott models', () => {
  assert.equal(expectedLoss(parseImpairSpec('')), 0);
  assert.equal(expectedLoss(parseImpairSpec('loss=3%')), 0.03);
  // p/(p+r) in the bad state, where 50% are lost; 1% lost in the good state.
  const ge = parseImpairSpec('loss=ge:5%:20%:50%:1%');
  assert.ok(Math.abs(expectedLoss(ge) - (0.2 * 0.5 + 0.8 * 0.01)) < 1e-12);
});

test('loss: Gilbert-Elliott with per-state loss rates meets its expected share', () => {
  const n = 200_000;
  const got = share('loss=ge:5%:20%:50%:1%', n, 8);
  const want = 0.108;
  assert.ok(Math.abs(got - want) < 0.1 * want, `share ${got} vs ${want}`);
});

test('loss: no loss model never drops', () => {
  assert.equal(share('delay=1ms', 10_000, 1), 0);
  assert.equal(share('loss=0%', 10_000, 1), 0);
});
