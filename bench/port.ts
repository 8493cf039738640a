/**
 * Packet I/O from JS against the same driver queue driven by a native loop, in
 * the same run: TX and RX frames/s of 64-byte frames per driver, and JS/native.
 * Target: JS >= 0.9 of native.
 *
 *   node dist/bench/port.js [--ms 1000] [--burst 64] [--rounds 2]
 *
 * TX: the queue sends to a kernel peer across a veth pair (af_packet) or into
 * the kernel side of a tap device; the peer drops the frames (unknown
 * ethertype). RX: a sender fills the queue's buffer (the TPACKET ring, the
 * socket buffer, the tap's queue) while nobody reads, then the loop under test
 * drains it and is timed; so RX measures the receive path alone, not the
 * sender. The native loop (native/bench_native.cc) does the same per-frame
 * slot bookkeeping as the JS path (take a slot, give it back), so the ratio is
 * the cost of driving the queue from JS. Needs root; namespaces vgnatb-* are
 * created and removed.
 */
import { parseArgs } from 'node:util';
import { BufferPool } from '../src/core/buffer_pool.js';
import { nativeDrivers, nativeLoadError, openNativePort, type NativeQueue } from '../src/port/native.js';
import { NetnsLab, netTestSkipReason, probeFrame } from '../test/helpers/netns.js';

const { values } = parseArgs({
  options: {
    ms: { type: 'string', default: '1000' },
    burst: { type: 'string', default: '64' },
    rounds: { type: 'string', default: '2' },
  },
});
const MS = Number(values.ms);
const BURST = Number(values.burst);
const ROUNDS = Number(values.rounds);
const FRAME = 64;

interface Rate {
  frames: number;
  ns: number;
}

function mpps(r: Rate): number {
  return r.ns > 0 ? (r.frames * 1e3) / r.ns : 0;
}

/** Every slot of the pool holds the same 64-byte frame, so TX only sets the length. */
function fillPool(pool: BufferPool, frame: Uint8Array): void {
  const n = pool.available;
  const slots: number[] = [];
  for (let i = 0; i < n; i++) slots.push(pool.alloc());
  for (const s of slots) pool.write(s, frame);
  for (const s of slots) pool.free(s);
}

function jsTx(q: NativeQueue, frames: number, ms: number): Rate {
  const pool = q.pool;
  const slots = new Int32Array(BURST);
  let sent = 0;
  let calls = 0;
  const t0 = process.hrtime.bigint();
  const deadline = t0 + BigInt(ms) * 1_000_000n;
  while (sent < frames) {
    for (let i = 0; i < BURST; i++) {
      const s = pool.alloc();
      pool.dataLen[s] = FRAME;
      slots[i] = s;
    }
    const k = q.txBurst(slots, BURST);
    for (let i = k; i < BURST; i++) pool.free(slots[i]);
    sent += k;
    if ((++calls & 63) === 0 && process.hrtime.bigint() >= deadline) break;
  }
  return { frames: sent, ns: Number(process.hrtime.bigint() - t0) };
}

/** Drains the queue (like the addon's benchRx): stops at the first empty burst. */
function jsRx(q: NativeQueue, frames: number, ms: number): Rate {
  const pool = q.pool;
  const out = new Int32Array(BURST);
  let got = 0;
  let calls = 0;
  const t0 = process.hrtime.bigint();
  const deadline = t0 + BigInt(ms) * 1_000_000n;
  while (got < frames) {
    const n = q.rxBurst(out, BURST);
    if (n === 0) break;
    for (let i = 0; i < n; i++) pool.free(out[i]);
    got += n;
    if ((++calls & 63) === 0 && process.hrtime.bigint() >= deadline) break;
  }
  return { frames: got, ns: Number(process.hrtime.bigint() - t0) };
}

function report(what: string, js: Rate, native: Rate): void {
  const j = mpps(js);
  const n = mpps(native);
  console.log(
    `${what.padEnd(22)} JS ${j.toFixed(3)} Mpps   native ${n.toFixed(3)} Mpps   JS/native ${(n > 0 ? j / n : 0).toFixed(2)}`,
  );
}

/** The faster of two measurements: on a shared machine the least disturbed one. */
function best(a: Rate, b: Rate): Rate {
  return mpps(b) > mpps(a) ? b : a;
}

const NONE: Rate = { frames: 0, ns: 0 };

/** TX: JS and native loops alternate, `ROUNDS` times each, for MS each; the best round of each counts. */
function benchTx(what: string, q: NativeQueue, frame: Uint8Array): void {
  fillPool(q.pool, frame);
  jsTx(q, Number.MAX_SAFE_INTEGER, 200); // JIT warm-up, not counted
  let js = NONE;
  let nat = NONE;
  for (let r = 0; r < ROUNDS; r++) {
    js = best(js, jsTx(q, Number.MAX_SAFE_INTEGER, MS));
    nat = best(nat, q.benchTx(BURST, Number.MAX_SAFE_INTEGER, MS, (s) => q.pool.write(s, frame)));
  }
  report(`${what} TX`, js, nat);
}

/**
 * RX: `fill(k)` makes k frames wait in the queue; each loop drains it until a
 * burst comes back empty, timed. JS and native alternate, 10 fills each per
 * round; the fastest drain of each counts.
 */
function benchRx(what: string, q: NativeQueue, k: number, fill: (k: number) => void): void {
  for (let r = 0; r < 5; r++) {
    fill(k);
    jsRx(q, k, MS); // JIT warm-up, not counted
  }
  let js = NONE;
  let nat = NONE;
  for (let r = 0; r < ROUNDS * 10; r++) {
    fill(k);
    js = best(js, jsRx(q, k, MS));
    fill(k);
    nat = best(nat, q.benchRx(BURST, k, MS));
  }
  report(`${what} RX (${k}/fill)`, js, nat);
}

interface Case {
  /** Label printed in the results. */
  what: string;
  driver: string;
  options: Record<string, string>;
  /** Namespace and interface of the kernel's side: the TX destination and the RX sender. */
  peerNs: string;
  peerIface: string;
  /** Frames one fill leaves waiting (what the driver buffers without loss). */
  fill: number;
  tx: boolean;
  /** Run once the port is open (the tap device exists only from then on). */
  prepare: (() => void) | null;
}

/** One driver: TX against the kernel peer, then RX filled by an af_packet sender on the peer side. */
function runCase(c: Case, lab: NetnsLab, pool: BufferPool, sendPool: BufferPool): void {
  const port = openNativePort(c.driver, c.options, c.what);
  c.prepare?.();
  const q = port.openQueue(0, pool, BURST);
  const snd = openNativePort('af_packet', { iface: c.peerIface, netns: c.peerNs }, c.peerIface);
  const sq = snd.openQueue(0, sendPool, BURST);
  try {
    if (c.tx) benchTx(c.what, q, probeFrame(lab.mac(c.peerNs, c.peerIface), port.caps.mac, 0, FRAME));
    const frame = probeFrame(port.caps.mac, Uint8Array.of(2, 0, 0, 0, 0, 1), 0, FRAME);
    benchRx(c.what, q, c.fill, (k) => sq.benchTx(BURST, k, 2000, (s) => sendPool.write(s, frame)));
  } finally {
    sq.close();
    snd.close();
    q.close();
    port.close();
  }
}

function main(): void {
  const reason = netTestSkipReason();
  if (reason) return console.log(`bench/port: skipped: ${reason}`);
  const drivers = nativeDrivers();
  if (!drivers.includes('af_packet')) return console.log(`bench/port: skipped: ${nativeLoadError()}`);
  const lab = new NetnsLab('vgnatb-');
  try {
    const portNs = lab.addNs('port');
    const peerNs = lab.addNs('peer');
    const tapNs = lab.addNs('tap');
    lab.addVeth({ name: 'vgnatb-a', ns: portNs }, { name: 'vgnatb-b', ns: peerNs });
    const veth = { peerNs, peerIface: 'vgnatb-b' };
    const cases: Case[] = [
      // The TPACKET ring holds ring_frames; the socket buffer (rx=mmsg) ~4 MiB of skbs, ~5000 small frames.
      { what: 'af_packet', driver: 'af_packet', options: { iface: 'vgnatb-a', netns: portNs, ring_frames: '16384' }, ...veth, fill: 12000, tx: true, prepare: null },
      { what: 'af_packet rx=mmsg', driver: 'af_packet', options: { iface: 'vgnatb-a', netns: portNs, rx: 'mmsg' }, ...veth, fill: 3000, tx: false, prepare: null },
      // Half of the UMEM's frames are for RX.
      { what: 'af_xdp', driver: 'af_xdp', options: { iface: 'vgnatb-a', netns: portNs, frames: '16384' }, ...veth, fill: 6000, tx: true, prepare: null },
      {
        what: 'tap',
        driver: 'tap',
        options: { name: 'vgnatb-t', netns: tapNs },
        peerNs: tapNs,
        peerIface: 'vgnatb-t',
        fill: 6000,
        tx: true,
        // The tap's queue holds txqueuelen frames; the kernel resizes it when that changes.
        prepare: () => lab.run(tapNs, 'ip', ['link', 'set', 'vgnatb-t', 'txqueuelen', '8192']),
      },
    ];
    const pool = new BufferPool(4096);
    const sendPool = new BufferPool(256);
    console.log(`bench/port: ${FRAME}-byte frames, bursts of ${BURST}; best of ${ROUNDS} x ${MS} ms (TX), ${ROUNDS * 10} drains (RX)`);
    for (const c of cases) {
      if (!drivers.includes(c.driver)) {
        console.log(`${c.what}: not built`);
        continue;
      }
      try {
        runCase(c, lab, pool, sendPool);
      } catch (e) {
        console.log(`${c.what}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    console.log('dpdk: measured by its own benchmark against dpdk-testpmd (not in this run)');
  } finally {
    lab.cleanup();
  }
}

main();
