import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assignCores } from '../../src/core/core_assign.js';

// The architecture's table: [cpus, workers, management, io (0 = shared)].
const TABLE: [number, number, number, number][] = [
  [2, 1, 1, 0],
  [3, 2, 1, 0],
  [4, 3, 1, 0],
  [5, 3, 1, 1],
  [16, 14, 1, 1],
  [17, 14, 2, 1],
  [32, 29, 2, 1],
  [33, 29, 3, 1],
  [64, 60, 3, 1],
  [65, 60, 3, 2],
  [128, 123, 3, 2],
  [129, 123, 4, 2],
  [256, 250, 4, 2],
];

test('every tier boundary of the table gives its worker, management and I/O counts', () => {
  for (const [n, workers, mgmt, io] of TABLE) {
    const a = assignCores(n);
    assert.equal(a.workers.length, workers, `${n} CPUs: workers`);
    assert.equal(a.management.length, mgmt, `${n} CPUs: management`);
    assert.equal(a.ioShared, io === 0, `${n} CPUs: shared I/O`);
    assert.equal(a.io.length, io === 0 ? 1 : io, `${n} CPUs: I/O`);
    const roles = [...a.management, ...(a.ioShared ? [] : a.io), ...a.workers];
    assert.equal(new Set(roles).size, n, `${n} CPUs: every CPU has exactly one role`);
    assert.deepEqual(a.management, Array.from({ length: mgmt }, (_, i) => i), 'management takes the lowest ids');
    assert.ok(Math.min(...a.workers) > Math.max(...a.management, ...a.io), 'workers come after management and I/O');
  }
  assert.deepEqual(
    TABLE.map(([n]) => assignCores(n).tier),
    [1, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6],
  );
});

test('a CPU list (an affinity mask) is assigned by id, sorted', () => {
  const a = assignCores([11, 3, 7, 5, 9]);
  assert.equal(a.tier, 2);
  assert.deepEqual(a.management, [3]);
  assert.deepEqual(a.io, [5]);
  assert.deepEqual(a.workers, [7, 9, 11]);
});

test('one CPU shares everything; maxWorkers caps the workers', () => {
  assert.deepEqual(assignCores(1), { tier: 0, workers: [0], management: [0], io: [0], ioShared: true });
  const a = assignCores(16, 2);
  assert.deepEqual(a.workers, [2, 3]);
  assert.deepEqual(a.io, [1]);
});

test('bad input is refused with a clear error', () => {
  assert.throws(() => assignCores(0), /no CPUs/);
  assert.throws(() => assignCores([1, 1]), /listed twice/);
  assert.throws(() => assignCores([-1]), /bad CPU id/);
  assert.throws(() => assignCores(4, 0), /maxWorkers/);
});
