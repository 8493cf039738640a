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

test('port pool: a released port is handed out again only after every other free port (round-robin cursor)', () => {
  const p = new PortPool();
  const a = p.alloc(1);
  const b = p.alloc(1);
  p.release(1, a);
  assert.notEqual(p.alloc(1), a);
  // The rest of the range comes first, in rising order; then the cursor wraps to the released port.
  let last = b + 1;
  for (let i = 0; i < EPHEMERAL_HI - EPHEMERAL_LO - 3; i++) {
    const x = p.alloc(1);
    assert.ok(x > last, `port ${x} after ${last}`);
    last = x;
  }
  assert.equal(last, EPHEMERAL_HI - 1);
  assert.equal(p.alloc(1), a);
  assert.equal(p.alloc(1), -1);
  // Bits below the cursor in its own word are found once the search wraps.
  p.release(1, a);
  p.release(1, a + 20);
  assert.equal(p.alloc(1), a + 20);
  assert.equal(p.alloc(1), a);
});
