import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lpm, LpmError } from '../../src/net/lpm.js';
import { prefixMask } from '../../src/wire/ipv4_addr.js';
import { ip } from './harness.js';

test('lpm: the longest covering prefix wins, across the /24 boundary', () => {
  const t = new Lpm(16, 4);
  t.add(0, 0, 1);
  t.add(ip('198.18.0.0'), 15, 2);
  t.add(ip('198.18.1.0'), 24, 3);
  t.add(ip('198.18.1.128'), 25, 4);
  t.add(ip('198.18.1.200'), 32, 5);
  assert.equal(t.lookup(ip('10.0.0.1')), 1);
  assert.equal(t.lookup(ip('198.19.255.255')), 2);
  assert.equal(t.lookup(ip('198.18.1.1')), 3);
  assert.equal(t.lookup(ip('198.18.1.129')), 4);
  assert.equal(t.lookup(ip('198.18.1.200')), 5);
  assert.equal(t.lookup(ip('198.18.1.201')), 4);
  assert.ok(t.remove(ip('198.18.1.128'), 25));
  assert.equal(t.lookup(ip('198.18.1.201')), 3, 'after removal the /24 shows through again');
  assert.equal(t.lookup(ip('198.18.1.200')), 5);
  assert.ok(t.remove(0, 0));
  assert.equal(t.lookup(ip('10.0.0.1')), -1);
  assert.equal(t.remove(0, 0), false);
});

test('lpm: host bits of a prefix are ignored and a re-add replaces the value', () => {
  const t = new Lpm();
  t.add(ip('198.18.2.77'), 24, 7);
  t.add(ip('198.18.2.0'), 24, 8);
  assert.equal(t.size, 1);
  assert.equal(t.lookup(ip('198.18.2.1')), 8);
});

test('lpm: bad input is a typed error; exhausted tbl8 groups are reported, not thrown at lookup', () => {
  const t = new Lpm(8, 1);
  assert.throws(() => t.add(0, 33, 1), LpmError);
  assert.throws(() => t.add(0, 8, -1), LpmError);
  t.add(ip('198.18.0.1'), 32, 1);
  t.add(ip('198.18.1.1'), 32, 2);
  assert.equal(t.lookup(ip('198.18.0.1')), 1);
  assert.equal(t.skipped, 1);
  assert.equal(t.lookup(ip('198.18.1.1')), -1);
});

test('lpm: agrees with a brute-force scan on 2000 random routes', () => {
  let seed = 12345;
  const rnd = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed;
  };
  const t = new Lpm(4096, 2048);
  const routes: [number, number, number][] = [];
  for (let i = 0; i < 2000; i++) {
    const len = 8 + (rnd() % 25);
    const p = ((0xc6000000 | (rnd() & 0x00ffffff)) & prefixMask(len)) >>> 0;
    t.add(p, len, i);
    const j = routes.findIndex(([rp, rl]) => rp === p && rl === len);
    if (j >= 0) routes[j][2] = i;
    else routes.push([p, len, i]);
  }
  for (let k = 0; k < 20000; k++) {
    const a = (0xc6000000 | (rnd() & 0x00ffffff)) >>> 0;
    let best = -1;
    let bestLen = -1;
    for (const [p, len, v] of routes) if (((a & prefixMask(len)) >>> 0) === p && len > bestLen) [best, bestLen] = [v, len];
    assert.equal(t.lookup(a), best, `lookup of ${a.toString(16)}`);
  }
});
