import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import {
  ACK_SIZE,
  CMD_CONFIG,
  MgmtEnd,
  OFF_CMD,
  OFF_PAYLOAD,
  OFF_SEQ_HI,
  OFF_SEQ_LO,
  PAYLOAD_MAX,
  RECORD_SIZE,
  RING_HEADER_BYTES,
  SpscRing,
  WorkerEnd,
  createIpc,
  decodeJson,
  encodeJson,
  type Ack,
} from '../../src/core/ipc.js';

/** Byte offset of config record `i` in a channel (line 0 control, two ring headers, then records). */
const recordAt = (i: number): number => 64 + 2 * RING_HEADER_BYTES + i * RECORD_SIZE;

test('a config record is 256 bytes: cmd u32 @0, seq u64 @4, payload[244] @12, little-endian', () => {
  const s = createIpc(3, 4);
  const m = new MgmtEnd(s);
  assert.equal(RECORD_SIZE, 256);
  assert.equal(PAYLOAD_MAX, 244);
  const seq = m.send(0x01020304, Uint8Array.of(0xaa, 0xbb));
  assert.equal(seq, 1);
  const b = new Uint8Array(s.sab, recordAt(0), RECORD_SIZE);
  assert.deepEqual([...b.subarray(OFF_CMD, OFF_CMD + 4)], [4, 3, 2, 1]);
  assert.deepEqual([...b.subarray(OFF_SEQ_LO, OFF_SEQ_HI + 4)], [1, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual([...b.subarray(OFF_PAYLOAD, OFF_PAYLOAD + 3)], [0xaa, 0xbb, 0]);
  assert.equal(s.sab.byteLength, recordAt(0) + 4 * (RECORD_SIZE + ACK_SIZE));
});

test('commands arrive in order with their payload and acks carry seq, rc and worker index', () => {
  const s = createIpc(5, 8);
  const m = new MgmtEnd(s);
  const w = new WorkerEnd(s);
  assert.equal(w.recv(), false);
  for (let i = 0; i < 3; i++) m.send(CMD_CONFIG, encodeJson({ i }));
  for (let i = 0; i < 3; i++) {
    assert.equal(w.recv(), true);
    assert.equal(w.cmd, CMD_CONFIG);
    assert.equal(w.seq, i + 1);
    assert.deepEqual(decodeJson(w.payload), { i });
    assert.equal(w.ack(w.seq, -10 * i - 1), true);
  }
  assert.equal(w.recv(), false);
  const a: Ack = { seq: 0, rc: 0, workerIdx: 0 };
  for (let i = 0; i < 3; i++) {
    assert.equal(m.pollAck(a), true);
    assert.deepEqual(a, { seq: i + 1, rc: -10 * i - 1, workerIdx: 5 });
  }
  assert.equal(m.pollAck(a), false);
});

test('a full ring waits a bounded time, then drops the record and counts mgmt_ring_overflow', () => {
  const s = createIpc(0, 4);
  const m = new MgmtEnd(s);
  const w = new WorkerEnd(s);
  for (let i = 0; i < 4; i++) assert.equal(m.send(CMD_CONFIG), i + 1);
  assert.equal(m.send(CMD_CONFIG, undefined, 100), -1);
  assert.equal(m.send(CMD_CONFIG, undefined, 0), -1);
  assert.equal(m.overflows, 2);
  assert.equal(w.recv(), true);
  assert.equal(w.seq, 1);
  assert.equal(m.send(CMD_CONFIG, undefined, 0), -1, 'a record is held until the worker takes the next');
  assert.equal(w.recv(), true);
  assert.equal(w.seq, 2);
  assert.equal(m.send(CMD_CONFIG), 5, 'room again; dropped records used no seq');
});

test('a full ack ring drops acks and counts them instead of blocking the worker', () => {
  const s = createIpc(0, 2);
  const m = new MgmtEnd(s);
  const w = new WorkerEnd(s);
  assert.equal(w.ack(1, 0), true);
  assert.equal(w.ack(2, 0), true);
  assert.equal(w.ack(3, 0), false);
  assert.equal(m.ackOverflows, 1);
});

test('positions wrap around 2^32 and sequence numbers above 2^32 survive', () => {
  const s = createIpc(0, 4);
  const i32 = new Int32Array(s.sab);
  // Start both indices of the config ring just below the 32-bit wrap.
  const tailIdx = 64 / 4;
  const headIdx = tailIdx + 16;
  i32[tailIdx] = -3;
  i32[headIdx] = -3;
  const ring = new SpscRing(s.sab, 64, recordAt(0), 4, RECORD_SIZE);
  const w = new WorkerEnd(s);
  const dv = new DataView(s.sab);
  for (let k = 0; k < 10; k++) {
    const off = ring.reserve();
    assert.ok(off >= 0);
    dv.setUint32(off + OFF_CMD, 9, true);
    dv.setUint32(off + OFF_SEQ_LO, k, true);
    dv.setUint32(off + OFF_SEQ_HI, 1, true);
    ring.commit();
    assert.equal(w.recv(), true);
    assert.equal(w.seq, 2 ** 32 + k);
  }
  assert.equal(w.recv(), false);
  assert.equal(ring.size, 0, 'the last record went back on the empty recv');
  assert.equal(i32[tailIdx], 7, 'the tail went through -1, 0, ...');
});

test('JSON payloads are bounded by the record and bad ones are rejected with a clear error', () => {
  assert.throws(() => encodeJson({ big: 'x'.repeat(300) }), /exceeds the 242-byte record payload/);
  const p = new Uint8Array(PAYLOAD_MAX);
  p[0] = 0xff;
  p[1] = 0xff;
  assert.throws(() => decodeJson(p), RangeError);
  assert.throws(() => new MgmtEnd(createIpc(0, 4)).send(CMD_CONFIG, new Uint8Array(PAYLOAD_MAX + 1)), /exceeds 244/);
  assert.throws(() => createIpc(0, 3), /power of two/);
});

test('records cross threads in order through a small ring without loss', async () => {
  const N = 20_000;
  const s = createIpc(1, 16);
  const m = new MgmtEnd(s);
  const worker = new Worker(new URL('./fixtures/ipc_consumer.js', import.meta.url), { workerData: { s, n: N } });
  await new Promise((r) => worker.once('online', r));
  const done = new Promise<number>((r, j) => {
    worker.once('message', r);
    worker.once('error', j);
  });
  let sent = 0;
  const payload = new Uint8Array(1);
  const deadline = Date.now() + 20_000;
  while (sent < N && Date.now() < deadline) {
    payload[0] = (sent + 1) & 0xff;
    if (m.send(100 + ((sent + 1) % 7), payload, 1_000_000) > 0) sent++;
  }
  assert.equal(await done, 0);
  await worker.terminate();
  const a: Ack = { seq: 0, rc: 0, workerIdx: 0 };
  const acked: number[] = [];
  while (m.pollAck(a)) acked.push(a.seq);
  assert.deepEqual(acked, Array.from({ length: N / 2000 }, (_, i) => (i + 1) * 2000));
  assert.equal(m.overflows, 0);
});
