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

test('a pool over a share of the range hands out that share only, and refuses a bad range', () => {
  // 40 ports, not a multiple of 32: the last word's spare bits never allocate.
  const p = new PortPool(20000, 20040);
  const got: number[] = [];
  for (let x = p.alloc(7); x >= 0; x = p.alloc(7)) got.push(x);
  assert.deepEqual(got, Array.from({ length: 40 }, (_, i) => 20000 + i));
  p.release(7, 19999);
  p.release(7, 20040);
  assert.equal(p.inUse(7), 40, 'ports outside the share are not ours to release');
  p.release(7, 20039);
  assert.equal(p.alloc(7), 20039);
  assert.throws(() => new PortPool(20000, 20000), /ephemeral ports must be a range/);
  assert.throws(() => new PortPool(80, 1000), /ephemeral ports must be a range/);
  assert.throws(() => new PortPool(60000, 70000), /ephemeral ports must be a range/);
});
