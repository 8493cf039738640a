import assert from 'node:assert/strict';
import { test } from 'node:test';
import { seqGeq, seqGt, seqLeq, seqLt, seqMax } from '../../src/net/tcp/seq.js';

test('sequence comparisons hold across the 2^32 wrap', () => {
  assert.ok(seqLt(0xfffffff0, 0x10));
  assert.ok(seqGt(0x10, 0xfffffff0));
  assert.ok(seqLeq(5, 5) && seqGeq(5, 5));
  assert.ok(!seqLt(0x10, 0xfffffff0));
  assert.equal(seqMax(0xfffffff0, 0x10), 0x10);
});
