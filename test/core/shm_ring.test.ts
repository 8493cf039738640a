import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BufferPool, SLOT_DATA_MAX } from '../../src/core/buffer_pool.js';
import { createShmLink, openShmPort } from '../../src/port/shm_ring.js';

function frame(pool: BufferPool, len: number, seed: number): number {
  const s = pool.alloc();
  const b = Uint8Array.from({ length: len }, (_, i) => (seed * 31 + i) & 0xff);
  pool.write(s, b);
  return s;
}

test('shm: frames of every length cross to the other side byte-exact, in order, both ways', () => {
  const link = createShmLink({ capacity: 8 });
  const pa = new BufferPool(16);
  const pb = new BufferPool(16);
  const qa = openShmPort(link, 0).openQueue(0, pa);
  const qb = openShmPort(link, 1).openQueue(0, pb);
  const rx = new Int32Array(8);
  for (const len of [1, 3, 60, 64, 65, 1500, SLOT_DATA_MAX]) {
    const tx = Int32Array.of(frame(pa, len, len), frame(pa, len, len + 1));
    assert.equal(qa.txBurst(tx, 2), 2);
    assert.equal(pa.available, 16, 'the port took and freed the sent slots');
    assert.equal(qb.rxBurst(rx, 8), 2);
    for (let k = 0; k < 2; k++) {
      const want = Uint8Array.from({ length: len }, (_, i) => ((len + k) * 31 + i) & 0xff);
      assert.deepEqual(pb.read(rx[k]), want, `length ${len}`);
    }
    pb.free(rx[1]);
    if (len === SLOT_DATA_MAX) {
      pb.free(rx[0]);
      continue;
    }
    // and back, from a slot whose data does not start on a 4-byte boundary
    const back = rx[0];
    pb.dataOff[back] -= 1;
    pb.u8[pb.base(back)] = 0xee;
    pb.dataLen[back] = 1 + len;
    assert.equal(qb.txBurst(Int32Array.of(back), 1), 1);
    assert.equal(qa.rxBurst(rx, 8), 1);
    const got = pa.read(rx[0]);
    assert.equal(got.length, len + 1);
    assert.equal(got[0], 0xee);
    assert.deepEqual(got.subarray(1), Uint8Array.from({ length: len }, (_, i) => (len * 31 + i) & 0xff));
    pa.free(rx[0]);
  }
  assert.equal(qa.stats().txFrames, 14);
  assert.equal(qb.stats().rxFrames, 14);
  assert.equal(qb.stats().txFrames, 6);
  assert.equal(pb.available, 16);
});

test('shm: capacity bounds a burst; an empty receiver pool drops and counts', () => {
  const link = createShmLink({ capacity: 4 });
  const pa = new BufferPool(16);
  const pb = new BufferPool(2);
  const qa = openShmPort(link, 0).openQueue(0, pa);
  const qb = openShmPort(link, 1).openQueue(0, pb);
  const tx = Int32Array.from({ length: 6 }, (_, i) => frame(pa, 60, i));
  assert.equal(qa.txBurst(tx, 6), 4);
  pa.free(tx[4]);
  pa.free(tx[5]);
  const rx = new Int32Array(8);
  assert.equal(qb.rxBurst(rx, 8), 2);
  assert.equal(qb.stats().rxDropped, 2);
  assert.equal(qb.rxBurst(rx, 8), 0, 'the dropped frames left the ring');
});

test('shm: a frame longer than a slot holds is dropped and counted, not carried', () => {
  const link = createShmLink({ capacity: 4 });
  const pa = new BufferPool(4);
  const pb = new BufferPool(4);
  const qa = openShmPort(link, 0).openQueue(0, pa);
  const qb = openShmPort(link, 1).openQueue(0, pb);
  const s = pa.alloc();
  pa.dataOff[s] = 0;
  pa.dataLen[s] = SLOT_DATA_MAX + 1;
  assert.equal(qa.txBurst(Int32Array.of(s, frame(pa, 10, 1)), 2), 2);
  assert.equal(qa.stats().txDropped, 1);
  const rx = new Int32Array(4);
  assert.equal(qb.rxBurst(rx, 4), 1);
  assert.equal(pb.dataLen[rx[0]], 10);
});

test('shm: queues are independent and bad arguments are refused', () => {
  const link = createShmLink({ queues: 2, capacity: 4 });
  const pa = new BufferPool(4);
  const pb = new BufferPool(4);
  const a1 = openShmPort(link, 0).openQueue(1, pa);
  const b0 = openShmPort(link, 1).openQueue(0, pb);
  const b1 = openShmPort(link, 1).openQueue(1, pb);
  assert.equal(a1.txBurst(Int32Array.of(frame(pa, 20, 0)), 1), 1);
  const rx = new Int32Array(4);
  assert.equal(b0.rxBurst(rx, 4), 0);
  assert.equal(b1.rxBurst(rx, 4), 1);
  assert.throws(() => openShmPort(link, 2), /side must be 0 or 1/);
  assert.throws(() => openShmPort(link, 0).openQueue(2, pa), /no queue 2/);
  assert.throws(() => createShmLink({ capacity: 3 }), /power of two/);
});
