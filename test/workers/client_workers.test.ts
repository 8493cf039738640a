/**
 * The pieces of the HTTP client load on workers that need no network: how the
 * plan is split (exact request totals), the per-worker capture names, the
 * ephemeral port shares and the steering decision on real frame bytes, the
 * frame ring between threads, interval histograms by difference, and the
 * one key log that several threads append to.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { BufferPool } from '../../src/core/buffer_pool.js';
import { createFrameRing, FrameRing, FRAME_CELL_BYTES } from '../../src/core/frame_ring.js';
import { splitClient, workerPcapPath } from '../../src/run/session.js';
import type { ClientPlan } from '../../src/engine/modes.js';
import { FlowSteer, portOwner, portShare } from '../../src/net/flow_steer.js';
import { EPHEMERAL_HI, EPHEMERAL_LO, PortPool } from '../../src/net/tcp/port_pool.js';
import { Histogram } from '../../src/telemetry/histogram.js';

const PLAN: ClientPlan = {
  dstIp: 0xc6125002, dstPort: 80, host: '198.18.80.2', path: '/', method: 'GET', bodyFile: null, connections: 5, requests: 101,
  perConn: 0, pipeline: 1, rate: 0, saveBody: null, sha256: false, expectSha256: null, tls: null,
  connectTimeoutS: 5, responseTimeoutS: 30, maxResponseTimeS: 0, allowErrors: 0, open: null,
};

test('splitClient: connections and requests add up exactly, rate follows the connections, idle workers get none', () => {
  const shares = splitClient({ ...PLAN, rate: 1000 }, 3);
  assert.deepEqual(shares.map((s) => s?.connections), [2, 2, 1]);
  assert.deepEqual(shares.map((s) => s?.requests), [34, 34, 33]);
  assert.deepEqual(shares.map((s) => s?.rate), [400, 400, 200]);
  // More workers than connections: the extra ones run no load.
  const few = splitClient({ ...PLAN, connections: 2, requests: 7 }, 4);
  assert.deepEqual(few.map((s) => s?.requests ?? null), [4, 3, null, null]);
  // Fewer requests than connections and workers: one request per active worker.
  const tiny = splitClient({ ...PLAN, connections: 8, requests: 2 }, 4);
  assert.deepEqual(tiny.map((s) => (s === null ? null : [s.connections, s.requests])), [[4, 1], [4, 1], null, null]);
  // Duration-bound load: no request count to split.
  assert.deepEqual(splitClient({ ...PLAN, requests: 0 }, 2).map((s) => s?.requests), [0, 0]);
});

test('splitClient, open model: each worker its share of the rates and of the concurrency cap, its own seed', () => {
  const open = { cps: 2000, perConn: 10, maxConcurrent: 5, poisson: false };
  const shares = splitClient({ ...PLAN, requests: 0, rate: 20_000, open, seed: 7 }, 2);
  assert.deepEqual(shares.map((s) => s?.open?.maxConcurrent), [3, 2]);
  assert.deepEqual(shares.map((s) => s?.open?.cps), [1200, 800]);
  assert.deepEqual(shares.map((s) => s?.rate), [12_000, 8000]);
  assert.deepEqual(shares.map((s) => s?.seed), [7, 8]);
  // A cap of one connection: one worker runs the load.
  assert.deepEqual(splitClient({ ...PLAN, requests: 0, open: { ...open, maxConcurrent: 1 } }, 2).map((s) => s?.open?.cps ?? null), [2000, null]);
});

test('workerPcapPath puts the worker before the extension', () => {
  assert.equal(workerPcapPath('/tmp/run.pcap', 0, 2), '/tmp/run.w0.pcap');
  assert.equal(workerPcapPath('/tmp/a.b/run', 3, 4), '/tmp/a.b/run.w3');
  assert.equal(workerPcapPath('.hidden', 1, 2), '.hidden.w1');
});

test('each worker gets a disjoint share of the ephemeral ports and its pool hands out only those', () => {
  for (const n of [1, 2, 3, 7]) {
    const seen = new Array<number>(n).fill(0);
    let prev = 0;
    for (let p = EPHEMERAL_LO; p < EPHEMERAL_HI; p++) {
      const w = portOwner(p, n);
      assert.ok(w >= prev && w < n, `port ${p} owner ${w} of ${n}`);
      prev = w;
      seen[w]++;
    }
    assert.ok(Math.max(...seen) - Math.min(...seen) <= 1, `even shares ${seen.join('/')}`);
  }
  const ip = 0xc6125001;
  for (const n of [1, 2, 3, 7]) {
    let next = EPHEMERAL_LO;
    for (let w = 0; w < n; w++) {
      const share = portShare(w, n);
      assert.equal(share.lo, next, `worker ${w} of ${n} starts where the last share ended`);
      next = share.hi;
      const pool = new PortPool(share.lo, share.hi);
      const got = new Set<number>();
      for (let i = 0; i < share.hi - share.lo; i++) got.add(pool.nextOn(ip));
      assert.equal(got.size, share.hi - share.lo);
      for (const p of got) assert.equal(portOwner(p, n), w, `port ${p} belongs to worker ${w} of ${n}`);
    }
    assert.equal(next, EPHEMERAL_HI, 'the shares cover the whole range');
  }
});

/** The fields of an IPv4 header (no options) the steering reads. */
function ipv4(dv: DataView, at: number, proto: number, src: number, dst: number, frag = 0): void {
  dv.setUint8(at, 0x45);
  dv.setUint16(at + 6, frag);
  dv.setUint8(at + 9, proto);
  dv.setUint32(at + 12, src);
  dv.setUint32(at + 16, dst);
}

/** An Ethernet + IPv4 + TCP header with the given destination, optionally VLAN-tagged, written into a fresh slot. */
function tcpFrame(pool: BufferPool, dstIp: number, dstPort: number, vlan: boolean, frag = 0): number {
  const s = pool.alloc();
  const dv = pool.dv;
  let off = pool.base(s);
  const start = off;
  off += 12;
  if (vlan) {
    dv.setUint16(off, 0x8100);
    dv.setUint16(off + 2, 7);
    off += 4;
  }
  dv.setUint16(off, 0x0800);
  const ip = off + 2;
  ipv4(dv, ip, 6, 0xc6125002, dstIp, frag);
  dv.setUint16(ip + 20, 80);
  dv.setUint16(ip + 22, dstPort);
  pool.dataLen[s] = ip + 40 - start;
  return s;
}

test('FlowSteer passes a reply for another worker\'s port through its ring, keeps its own and what is no client flow', () => {
  const ip = 0xc6125001;
  const cfg = { rings: [createFrameRing(8), createFrameRing(8)], addrs: [{ lo: ip, hi: ip }] };
  const p0 = new BufferPool(64);
  const p1 = new BufferPool(64);
  const woken: number[] = [];
  const w0 = new FlowSteer(cfg, 0, p0, 16, (w) => woken.push(w));
  const w1 = new FlowSteer(cfg, 1, p1, 16, (w) => woken.push(w));
  const mine = EPHEMERAL_LO + 5;
  const theirs = EPHEMERAL_HI - 5;
  const slots = Int32Array.from([
    tcpFrame(p0, ip, mine, false),
    tcpFrame(p0, ip, theirs, false),
    tcpFrame(p0, ip, theirs, true),
    tcpFrame(p0, ip + 1, theirs, false), // another address: not the client's
    tcpFrame(p0, ip, 80, false), // not an ephemeral port
    tcpFrame(p0, ip, theirs, false, 0x0010), // a later fragment: no ports to go by
  ]);
  const bytes = p0.read(slots[2]);
  const kept = w0.steer(slots, slots.length);
  assert.equal(kept, 4);
  assert.equal(w0.out, 2);
  assert.deepEqual(woken, [1], 'the owner is woken once for the burst');
  assert.equal(p0.available, 64 - 4, 'the passed frames went back to the pool');
  assert.ok(w1.pending);
  assert.equal(w0.pending, false);
  const k = w1.take();
  assert.equal(k, 2);
  assert.equal(w1.in, 2);
  assert.deepEqual(p1.read(w1.slots[1]), bytes, 'the owner gets the frame as received, VLAN tag and all');
  assert.equal(w1.take(), 0);
});

/** An ICMP destination unreachable to `dstIp` quoting a TCP segment from `quotedSrc`:`quotedPort`. */
function unreachFrame(pool: BufferPool, dstIp: number, quotedSrc: number, quotedPort: number, type = 3): number {
  const s = pool.alloc();
  const dv = pool.dv;
  const start = pool.base(s);
  dv.setUint16(start + 12, 0x0800);
  const ip = start + 14;
  ipv4(dv, ip, 1, 0xc6125003, dstIp); // from a router on the path
  const icmp = ip + 20;
  dv.setUint8(icmp, type);
  dv.setUint8(icmp + 1, 3); // port unreachable
  const q = icmp + 8;
  ipv4(dv, q, 6, quotedSrc, 0xc6125002);
  dv.setUint16(q + 20, quotedPort);
  dv.setUint16(q + 22, 80);
  pool.dataLen[s] = q + 28 - start;
  return s;
}

test('FlowSteer passes a destination unreachable to the worker whose port the quoted segment left from', () => {
  const ip = 0xc6125001;
  const cfg = { rings: [createFrameRing(8), createFrameRing(8)], addrs: [{ lo: ip, hi: ip }] };
  const p0 = new BufferPool(64);
  const p1 = new BufferPool(64);
  const w0 = new FlowSteer(cfg, 0, p0, 16, () => {});
  const w1 = new FlowSteer(cfg, 1, p1, 16, () => {});
  const mine = EPHEMERAL_LO + 5;
  const theirs = EPHEMERAL_HI - 5;
  const slots = Int32Array.from([
    unreachFrame(p0, ip, ip, theirs),
    unreachFrame(p0, ip, ip, mine),
    unreachFrame(p0, ip, ip, theirs, 11), // time exceeded: the stack does not act on it
    unreachFrame(p0, ip, ip + 1, theirs), // quotes a segment of another address
    unreachFrame(p0, ip + 1, ip, theirs), // to another address
  ]);
  const bytes = p0.read(slots[0]);
  assert.equal(w0.steer(slots, slots.length), 4);
  assert.equal(w0.out, 1);
  assert.equal(w1.take(), 1);
  assert.deepEqual(p1.read(w1.slots[0]), bytes);
});

test('FrameRing: FIFO, full at capacity, wraps, and takes frames from several threads', async () => {
  const shared = createFrameRing(4);
  const ring = new FrameRing(shared);
  const src = Buffer.alloc(FRAME_CELL_BYTES);
  const dst = Buffer.alloc(FRAME_CELL_BYTES);
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 4; i++) {
      src[0] = round * 4 + i;
      assert.ok(ring.push(src, 0, 10 + i));
    }
    assert.equal(ring.push(src, 0, 1), false, 'full');
    for (let i = 0; i < 4; i++) {
      assert.equal(ring.pop(dst, 0), 10 + i);
      assert.equal(dst[0], round * 4 + i);
    }
    assert.equal(ring.pop(dst, 0), -1);
  }
  assert.equal(ring.push(src, 0, FRAME_CELL_BYTES + 1), false, 'too long');

  // Two producer threads, 2000 frames each, through a ring of 64: every frame arrives once, each producer's in order.
  const big = createFrameRing(64);
  const consumer = new FrameRing(big);
  const exits = [0, 1].map((id) => {
    const t = new Worker(new URL('./fixtures/ring_producer.js', import.meta.url), { workerData: { shared: big, id, count: 2000 } });
    return new Promise((r) => t.once('exit', r));
  });
  const next = [0, 0];
  const deadline = Date.now() + 20_000;
  while ((next[0] < 2000 || next[1] < 2000) && Date.now() < deadline) {
    const n = consumer.pop(dst, 0);
    if (n < 0) {
      await new Promise((r) => setImmediate(r));
      continue;
    }
    assert.equal(n, 8);
    const id = dst.readUInt32LE(0);
    assert.equal(dst.readUInt32LE(4), next[id], `producer ${id} in order`);
    next[id]++;
  }
  await Promise.all(exits);
  assert.deepEqual(next, [2000, 2000]);
  assert.equal(consumer.pop(dst, 0), -1);
});

test('Histogram.difference gives the interval of a cumulative histogram', () => {
  const p = { lowest: 1, highest: 1_000_000, digits: 3 };
  const h = new Histogram(p);
  for (let v = 1; v <= 100; v++) h.record(v);
  const before = h.clone();
  for (let v = 1000; v < 1100; v++) h.record(v);
  const d = Histogram.difference(h, before);
  assert.equal(d.totalCount, 100);
  assert.equal(d.min, 1000);
  assert.ok(d.max >= 1099 && d.max < 1100 + 2);
  assert.ok(d.valueAtPercentile(50) >= 1049 && d.valueAtPercentile(50) <= 1050);
  assert.equal(Histogram.difference(h, h.clone()).totalCount, 0);
});

test('KeyLog from four threads at once: every line whole, none lost', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vgwc-keylog-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'keys');
  const threads = 4;
  const count = 5000;
  await Promise.all(
    Array.from({ length: threads }, (_, id) => {
      const w = new Worker(new URL('./fixtures/keylog_writer.js', import.meta.url), { workerData: { path, id, count } });
      return new Promise<void>((res, rej) => {
        w.once('error', rej);
        w.once('exit', (code) => (code === 0 ? res() : rej(new Error(`writer ${id} exited ${code}`))));
      });
    }),
  );
  const lines = readFileSync(path, 'utf8').split('\n');
  assert.equal(lines.pop(), '', 'the file ends with a newline');
  assert.equal(lines.length, threads * count);
  const next = new Array<number>(threads).fill(0);
  for (const l of lines) {
    const m = /^CLIENT_RANDOM ([0-9a-f]{2})([0-9a-f]{62}) (?:ab){48}$/.exec(l);
    assert.ok(m !== null, `whole line: ${l.slice(0, 80)}`);
    const id = parseInt(m[1], 16);
    assert.equal(parseInt(m[2], 16), next[id]++, `writer ${id}'s lines in order`);
  }
  assert.deepEqual(next, new Array<number>(threads).fill(count));
});
