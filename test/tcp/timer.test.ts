import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TimerWheel, WHEEL_SLOTS } from '../../src/net/tcp/timer.js';

test('timer wheel: fires at the deadline, keeps the earlier of two, handles deadlines beyond one revolution', () => {
  const w = new TimerWheel(8);
  const fired: string[] = [];
  let now = 100;
  const fire = (c: number) => fired.push(`${c}@${now}`);
  w.advance(now, fire);
  w.schedule(0, 105);
  w.schedule(1, 110);
  w.schedule(1, 120); // later: ignored, the entry stays at 110
  w.schedule(2, 100 + WHEEL_SLOTS + 50);
  w.schedule(3, 130);
  w.cancel(3);
  for (now = 101; now <= 100 + WHEEL_SLOTS + 60; now++) w.advance(now, fire);
  assert.deepEqual(fired, ['0@105', '1@110', `2@${100 + WHEEL_SLOTS + 50}`]);
  assert.equal(w.size, 0);
});

test('timer wheel: a clock jump of many revolutions fires everything due once', () => {
  const w = new TimerWheel(4);
  const fired: number[] = [];
  w.advance(0, () => {});
  w.schedule(0, 10);
  w.schedule(1, 5000);
  w.schedule(2, 99_999);
  w.advance(50_000, (c) => fired.push(c));
  assert.deepEqual(fired.sort(), [0, 1]);
  w.advance(200_000, (c) => fired.push(c));
  assert.deepEqual(fired, [0, 1, 2]);
});
