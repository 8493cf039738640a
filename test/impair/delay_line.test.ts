import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DelayLine, TICK_US } from '../../src/impair/delay_line.js';
import type { FrameSink } from '../../src/impair/frame_sink.js';

class Out implements FrameSink {
  readonly got: number[] = [];
  push(slot: number): void {
    this.got.push(slot);
  }
}

test('delay line: frames leave by due time, those of one tick in arrival order', () => {
  const line = new DelayLine(16);
  const out = new Out();
  line.insert(3, 1000, 0);
  line.insert(1, 500, 0);
  line.insert(2, 1000, 0);
  line.insert(0, 1005, 0);
  assert.equal(line.release(499, out), 0);
  line.release(500 + TICK_US, out);
  assert.deepEqual(out.got, [1]);
  line.release(1005 + TICK_US, out);
  assert.deepEqual(out.got, [1, 3, 2, 0]);
  assert.equal(line.size, 0);
});

test('delay line: a frame due turns of the wheel later waits for its own turn', () => {
  const line = new DelayLine(4);
  const out = new Out();
  const turn = 8192 * TICK_US;
  line.insert(0, 2 * turn + 100, 0);
  line.insert(1, 100, 0);
  line.release(turn + 200, out);
  assert.deepEqual(out.got, [1], 'same bucket, earlier turn only');
  line.release(2 * turn + 99, out);
  assert.deepEqual(out.got, [1]);
  line.release(2 * turn + 100 + TICK_US, out);
  assert.deepEqual(out.got, [1, 0]);
});

test('delay line: a due time already passed goes out at the next release', () => {
  const line = new DelayLine(4);
  const out = new Out();
  line.insert(0, 10_000, 0);
  line.release(5000, out);
  line.insert(1, 100, 5000);
  line.release(5000 + TICK_US, out);
  assert.deepEqual(out.got, [1]);
});

test('delay line: drain hands back every held slot', () => {
  const line = new DelayLine(8);
  for (let s = 0; s < 8; s++) line.insert(s, s * 100_000, 0);
  const freed: number[] = [];
  line.drain((s) => freed.push(s));
  assert.deepEqual(freed.sort(), [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.equal(line.size, 0);
  const out = new Out();
  line.release(10_000_000, out);
  assert.deepEqual(out.got, [], 'nothing left behind');
});
