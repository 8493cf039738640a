import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EPHEMERAL_HI, EPHEMERAL_LO, PortPool } from '../../src/net/tcp/port_pool.js';

test('port pool: 50,000 distinct ports in [10000, 60000) per address, then -1; released ports come back', () => {
  const p = new PortPool();
  const seen = new Set<number>();
  for (let i = 0; i < EPHEMERAL_HI - EPHEMERAL_LO; i++) {
    const x = p.alloc(1);
    assert.ok(x >= EPHEMERAL_LO && x < EPHEMERAL_HI);
    assert.ok(!seen.has(x));
    seen.add(x);
  }
  assert.equal(p.alloc(1), -1);
  assert.equal(p.inUse(1), 50_000);
  assert.ok(p.alloc(2) >= EPHEMERAL_LO); // another address has its own bitmap
  p.release(1, 12345);
  assert.equal(p.alloc(1), 12345);
  p.release(1, 80); // outside the range: ignored
  assert.equal(p.inUse(1), 50_000);
});
