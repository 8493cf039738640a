import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TcpHandler } from '../../src/net/tcp/api.js';
import { CloseReason } from '../../src/net/tcp/api.js';
import { B_IP, A_IP, PairRig, prng } from './harness.js';

/** Byte `i` of the stream with seed `s` (cheap and position-dependent, so reordering or loss would show). */
function pattern(s: number, i: number): number {
  return (Math.imul(i + 1, 0x9e3779b1) ^ s) >>> 24;
}

const HDR = 8;

/**
 * `count` transfers, `concurrency` at a time: each client connection uploads
 * a random-size stream behind an 8-byte header (size, seed) and half-closes;
 * the server checks every byte, then answers with a stream of the same size
 * and closes; the client checks every byte of the answer.
 */
function run(rig: PairRig, count: number, concurrency: number, maxSize: number, seed: number): { bytes: number; steps: number } {
  const rnd = prng(seed);
  const client = rig.client.tcp;
  const server = rig.server.tcp;
  // Per-connection state in arrays indexed by connection id, as applications keep it.
  const max = 4096;
  const cSize = new Int32Array(max);
  const cSeed = new Int32Array(max);
  const cSent = new Int32Array(max);
  const cGot = new Int32Array(max);
  const sHdr = new Uint8Array(max * HDR);
  const sGot = new Int32Array(max);
  const sSize = new Int32Array(max).fill(-1);
  const sSeed = new Int32Array(max);
  const sSent = new Int32Array(max);
  const buf = new Uint8Array(65536);
  let started = 0;
  let done = 0;
  let bytes = 0;
  const failures: string[] = [];

  function pump(c: number, size: number, s: number, sent: Int32Array, extra: number): void {
    // Writes header (extra = HDR on the client) and pattern bytes until back-pressure.
    for (;;) {
      const pos = sent[c];
      const total = size + extra;
      if (pos >= total) return;
      const n = Math.min(total - pos, buf.length);
      for (let k = 0; k < n; k++) {
        const p = pos + k;
        buf[k] = p < extra ? (p < 4 ? (size >>> (8 * (3 - p))) & 0xff : (s >>> (8 * (7 - p))) & 0xff) : pattern(s, p - extra);
      }
      const w = (extra > 0 ? client : server).write(c, buf, 0, n);
      if (w <= 0) return;
      sent[c] += w;
      if (sent[c] === total) {
        (extra > 0 ? client : server).shutdown(c);
        return;
      }
      if (w < n) return;
    }
  }

  const clientH: TcpHandler = {
    onConnected(c) {
      cSent[c] = 0;
      cGot[c] = 0;
      pump(c, cSize[c], cSeed[c], cSent, HDR);
    },
    onData(c, u8, off, len) {
      for (let k = 0; k < len; k++) {
        if (u8[off + k] !== pattern(~cSeed[c], cGot[c] + k)) {
          failures.push(`client conn ${c} byte ${cGot[c] + k}`);
          break;
        }
      }
      cGot[c] += len;
    },
    onWritable(c) {
      pump(c, cSize[c], cSeed[c], cSent, HDR);
    },
    onPeerClosed(c) {
      if (cGot[c] !== cSize[c]) failures.push(`client conn ${c} got ${cGot[c]} of ${cSize[c]}`);
      client.close(c);
    },
    onClosed(c, reason) {
      if (reason !== CloseReason.NORMAL) failures.push(`client conn ${c} closed with ${reason}`);
      bytes += cSize[c] * 2;
      done++;
    },
  };
  const serverH: TcpHandler = {
    onConnected(c) {
      sGot[c] = 0;
      sSize[c] = -1;
      sSent[c] = 0;
    },
    onData(c, u8, off, len) {
      for (let k = 0; k < len; k++) {
        const p = sGot[c] + k;
        if (p < HDR) {
          sHdr[c * HDR + p] = u8[off + k];
          if (p === HDR - 1) {
            const dv = new DataView(sHdr.buffer, c * HDR, HDR);
            sSize[c] = dv.getUint32(0);
            sSeed[c] = dv.getInt32(4);
          }
        } else if (u8[off + k] !== pattern(sSeed[c], p - HDR)) {
          failures.push(`server conn ${c} byte ${p - HDR}`);
          break;
        }
      }
      sGot[c] += len;
    },
    onWritable(c) {
      if (sSize[c] >= 0 && sGot[c] === sSize[c] + HDR) pump(c, sSize[c], ~sSeed[c], sSent, 0);
    },
    onPeerClosed(c) {
      if (sSize[c] < 0 || sGot[c] !== sSize[c] + HDR) {
        failures.push(`server conn ${c} got ${sGot[c]} bytes, header says ${sSize[c]}`);
        server.abort(c);
        return;
      }
      if (sSize[c] === 0) server.close(c);
      else pump(c, sSize[c], ~sSeed[c], sSent, 0);
    },
    onClosed() {},
  };
  assert.ok(server.listen(0, 80, serverH) >= 0);

  let steps = 0;
  const maxSteps = 20_000_000;
  while (done < count && failures.length === 0 && steps < maxSteps) {
    while (started - done < concurrency && started < count) {
      const size = rnd() < 0.2 ? Math.floor(rnd() * 100) : Math.floor(rnd() * maxSize);
      const s = Math.floor(rnd() * 0x7fffffff);
      const c = client.connect(A_IP, B_IP, 80, clientH);
      assert.ok(c >= 0, `connect failed: ${c}`);
      cSize[c] = size;
      cSeed[c] = s;
      started++;
    }
    rig.step();
    steps++;
  }
  assert.deepEqual(failures.slice(0, 5), []);
  assert.equal(done, count, `only ${done} of ${count} transfers completed in ${steps} steps`);
  return { bytes, steps };
}

/**
 * The faults come from the impairment wrapped around each ring queue, the
 * same engine as `vaigai impair`, on both directions (each its own seeded
 * stream). `limit` lets the delay line hold a whole window of 64 connections.
 */
for (const [name, spec] of [
  ['0% loss', 'loss=0%'],
  ['1% loss', 'loss=1%'],
  ['5% loss', 'loss=5%'],
  ['2% loss, 2% reordering, 1% duplication, 0.1% corruption, 1 ms delay +-0.5 ms jitter', 'loss=2%,reorder=2%,duplicate=1%,corrupt=0.1%,delay=1ms,jitter=500us,limit=100000'],
]) {
  test(`10,000 transfers of random sizes arrive byte-exact through the ring impairment: ${name}`, () => {
    const rig = new PairRig({ maxConns: 4096, timeWaitUs: 2_000_000, rtoMinUs: 200_000 }, spec, spec, 11);
    const r = run(rig, 10_000, 64, 16_000, 7);
    assert.ok(r.bytes > 10_000 * 8000 * 0.5);
    const c = rig.client.tcp.counters;
    const s = rig.server.tcp.counters;
    const up = rig.clientPort.impairCounters();
    const down = rig.serverPort.impairCounters();
    assert.ok(up !== null && down !== null);
    // The impairment did what was asked, and TCP recovered from it.
    const lost = up.dropLoss + down.dropLoss;
    if (spec === 'loss=0%') assert.equal(lost + c.retransSegs + s.retransSegs, 0);
    else assert.ok(lost > 0 && c.retransSegs + s.retransSegs > 0);
    if (spec.includes('reorder')) {
      assert.ok(up.reordered > 0 && down.reordered > 0 && up.duplicated > 0 && down.duplicated > 0 && up.corrupted > 0);
      assert.ok(c.rxBadChecksum + s.rxBadChecksum > 0, 'corrupted frames were rejected by the TCP checksum');
    }
    console.log(
      `${spec}: ${r.bytes} bytes, ${r.steps} steps, ${(rig.clock.nowUs() - 1e6) / 1e6} s virtual; dropped ${lost}, ` +
        `retrans ${c.retransSegs}+${s.retransSegs}, fast ${c.fastRetransmits}+${s.fastRetransmits}, rto ${c.rtoFires}+${s.rtoFires}`,
    );
  });
}
