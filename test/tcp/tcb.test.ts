import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CLOSED, TcbStore } from '../../src/net/tcp/tcb.js';
import { prng } from './harness.js';

test('TCB store: alloc/lookup/free by 4-tuple stays consistent under random churn (backward-shift deletion)', () => {
  const max = 1000;
  const s = new TcbStore(max);
  const rnd = prng(9);
  const live = new Map<string, number>();
  for (let i = 0; i < 50_000; i++) {
    if (live.size < max && (live.size === 0 || rnd() < 0.55)) {
      const lp = 10000 + Math.floor(rnd() * 50);
      const rp = 80 + Math.floor(rnd() * 3);
      const key = `${lp}:${rp}`;
      if (live.has(key)) continue;
      const c = s.alloc(0xc6120001, lp, 0xc6120002, rp);
      assert.ok(c >= 0);
      live.set(key, c);
    } else {
      const keys = [...live.keys()];
      const key = keys[Math.floor(rnd() * keys.length)];
      s.free(live.get(key)!);
      live.delete(key);
    }
    if (i % 997 === 0) {
      for (const [key, c] of live) {
        const [lp, rp] = key.split(':').map(Number);
        assert.equal(s.lookup(0xc6120001, lp, 0xc6120002, rp), c);
      }
    }
  }
  assert.equal(s.active, live.size);
  assert.equal(s.lookup(0xc6120001, 9999, 0xc6120002, 80), -1);
});

test('TCB store: full store returns -1; a freed id is CLOSED and gets a new generation when reused', () => {
  const s = new TcbStore(2);
  const a = s.alloc(1, 1, 2, 2);
  const b = s.alloc(1, 2, 2, 2);
  assert.equal(s.alloc(1, 3, 2, 2), -1);
  const g = s.gen[a];
  s.free(a);
  assert.equal(s.state[a], CLOSED);
  const c = s.alloc(1, 4, 2, 2);
  assert.equal(c, a);
  assert.notEqual(s.gen[c], g);
  assert.equal(s.lookup(1, 2, 2, 2), b);
  assert.throws(() => new TcbStore(0), RangeError);
});
