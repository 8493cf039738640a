/**
 * The timed loops of bench/port.ts (its entry point), and its AF_XDP and DPDK
 * section: JS against native loops on the same queue, in the same run, TX and
 * RX frames/s of 64-byte frames, and JS/native. DPDK is also measured beside
 * `dpdk-testpmd --forward-mode=txonly` on the same vdev.
 *
 * TX (`benchTx`): JS and native loops alternate on the queue, which sends to
 * the kernel peer of a veth pair; the peer drops the frames (unknown
 * ethertype). RX (`benchRx`): a sender fills the queue's buffer while nobody
 * reads, then the loop under test drains it, timed, so RX measures the receive
 * path alone. Namespaces vgxdpb-* are created and removed.
 */
import { spawnSync } from 'node:child_process';
import { BufferPool } from '../src/core/buffer_pool.js';
import { getAffinity, nativeDrivers, nativeLoadError, openNativePort, pinThread, type NativePort, type NativeQueue } from '../src/port/native.js';
import { probeFrame } from '../test/helpers/frames.js';
import { NetnsLab } from '../test/helpers/netns.js';
import { Filler } from './port_filler.js';

export const FRAME = 64;
/** RX drains per side per round, and untimed drains first (they also size the drains). */
export const RX_DRAINS = 25;
const RX_WARMUP = 10;
/**
 * JS bursts before any drain is timed (a few seconds of drains): V8 settles
 * the loop's code only after many iterations, and a worker polls for hours.
 * With 10 drains of 2048 frames (320 bursts) the timed drains of net_af_xdp
 * still ran partly unoptimized code (JS/native 0.85-0.87, 0.93-0.96 once
 * warm); after 10,000 bursts, 3 AF_XDP runs in 8 were still at 0.86-0.88,
 * after 100,000 none in 6.
 */
const RX_WARMUP_BURSTS = 100_000;
/** TX alternations per round. */
export const TX_SLICES = 5;
const PREFIX = 'vgxdpb-';
const EAL = '--no-huge --no-shconf -m 512 --no-pci --no-telemetry';

export interface BenchOptions {
  /** Time per timed TX loop. */
  ms: number;
  burst: number;
  /** JS/native alternations per measurement. */
  rounds: number;
}

interface Rate {
  frames: number;
  ns: number;
}

/**
 * One core for the loop under test: the bench pins itself to the last CPU it
 * may use. The kernel peer stands for another host, so its receive path (RPS on
 * the peer interface) runs on the other CPUs, as on a separate machine, and is
 * not charged to the generator's core. Returns what was done, for the header.
 */
let peerCpuMask = '';
/** The CPU RX fills are sent from (bench/port_filler.ts); -1: not pinned. */
export let fillCpu = -1;

/** The loop's CPU and the others, from this thread's affinity; `note` says it for the header. */
export function cpuPlan(): { own: number; others: number[]; note: string } {
  const cpus = getAffinity();
  if (cpus.length < 2) return { own: -1, others: [], note: 'one CPU: the loop, the RX fills and the kernel peer share it' };
  const own = cpus[cpus.length - 1];
  const others = cpus.slice(0, -1);
  return { own, others, note: `loop on CPU ${own}; the kernel peer's receive and the RX fills on CPU ${others.join(',')}` };
}

export function pinBenchCore(): void {
  const { own, others } = cpuPlan();
  if (own < 0) return;
  peerCpuMask = others.reduce((m, c) => m | (1n << BigInt(c)), 0n).toString(16);
  fillCpu = others[0];
  pinThread(own);
}

/** Steers the peer interface's receive processing (RPS) off the bench's CPU. */
export function steerPeer(lab: NetnsLab, ns: string, iface: string): void {
  if (peerCpuMask === '') return;
  lab.run(ns, 'sh', ['-c', `for q in /sys/class/net/${iface}/queues/rx-*; do echo ${peerCpuMask} > $q/rps_cpus; done`]);
}

function mpps(r: Rate): number {
  return r.ns > 0 ? (r.frames * 1e3) / r.ns : 0;
}

/** Sends bursts of FRAME-byte frames (every slot already holds one) for `ms`. */
function jsTx(q: NativeQueue, burst: number, ms: number): Rate {
  const pool = q.pool;
  const slots = new Int32Array(burst);
  let sent = 0;
  let calls = 0;
  const t0 = process.hrtime.bigint();
  const deadline = t0 + BigInt(ms) * 1_000_000n;
  for (;;) {
    for (let i = 0; i < burst; i++) {
      const s = pool.alloc();
      pool.dataLen[s] = FRAME;
      slots[i] = s;
    }
    const k = q.txBurst(slots, burst);
    for (let i = k; i < burst; i++) pool.free(slots[i]);
    sent += k;
    if ((++calls & 63) === 0 && process.hrtime.bigint() >= deadline) break;
  }
  return { frames: sent, ns: Number(process.hrtime.bigint() - t0) };
}

/** Drains the queue until `frames` arrived or a burst comes back empty (as the addon's benchRx). */
function jsRx(q: NativeQueue, out: Int32Array, frames: number): Rate & { calls: number } {
  const pool = q.pool;
  const burst = out.length;
  let got = 0;
  let calls = 0;
  const t0 = process.hrtime.bigint();
  while (got < frames) {
    const n = q.rxBurst(out, burst);
    calls++;
    if (n === 0) break;
    pool.freeBurst(out, n);
    got += n;
  }
  return { frames: got, ns: Number(process.hrtime.bigint() - t0), calls };
}

/** Writes the same frame into every free slot of the pool, so TX only sets lengths. */
function fillPool(pool: BufferPool, frame: Uint8Array): void {
  const slots: number[] = [];
  for (let s = pool.alloc(); s >= 0; s = pool.alloc()) slots.push(s);
  for (const s of slots) pool.write(s, frame);
  for (const s of slots) pool.free(s);
}

function line(what: string, js: Rate, peer: string, other: number): string {
  const j = mpps(js);
  return `${what.padEnd(34)} JS ${j.toFixed(3)} Mpps   ${peer} ${other.toFixed(3)} Mpps   ratio ${(other > 0 ? j / other : 0).toFixed(2)}`;
}

/**
 * Prints JS against native TX and returns the JS rate. The kernel's path bounds
 * TX and its speed drifts while the bench runs, so the sides alternate in
 * TX_SLICES slices of `ms / TX_SLICES` per round and each reports its median slice.
 */
export function benchTx(what: string, q: NativeQueue, frame: Uint8Array, o: BenchOptions): Rate {
  fillPool(q.pool, frame);
  jsTx(q, o.burst, 200); // JIT warm-up, not counted
  const slice = Math.max(1, Math.round(o.ms / TX_SLICES));
  const js: Rate[] = [];
  const nat: Rate[] = [];
  for (let r = 0; r < o.rounds * TX_SLICES; r++) {
    js.push(jsTx(q, o.burst, slice));
    const b = q.benchTx(o.burst, Number.MAX_SAFE_INTEGER, slice, (s) => q.pool.write(s, frame));
    nat.push({ frames: b.frames, ns: b.ns });
  }
  const mid = (v: Rate[]): Rate => [...v].sort((a, b) => mpps(a) - mpps(b))[v.length >> 1];
  console.log(line(`${what} TX`, mid(js), 'native', mpps(mid(nat))));
  return mid(js);
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s.length === 0 ? 0 : s[s.length >> 1];
}

/**
 * `fill(k)` makes k frames wait in the queue (sent from another CPU, see
 * bench/port_filler.ts); then the loop under test drains them, timed. The fill
 * is offered `k` frames, more than the queue holds, in RX_WARMUP untimed drains:
 * the fewest that arrived is the drain size; more untimed drains follow until
 * the JS loop has made RX_WARMUP_BURSTS bursts. Each timed drain then asks for
 * exactly that many, so neither side pays for an empty poll at the end (net_af_xdp's is a
 * busy-polling recvfrom). JS and native alternate, each going first every
 * other round; a drain lasts a fraction of a millisecond, so one preemption
 * skews it: the median drain rate of each side is reported, and drains that
 * came up short are counted.
 */
export function benchRx(what: string, q: NativeQueue, k: number, fill: (k: number) => void, o: BenchOptions): void {
  // One output array for the queue's life, as a worker has: a new one costs the
  // addon a registration (setRxOut).
  const out = new Int32Array(o.burst);
  let size = k;
  let bursts = 0;
  for (let r = 0; r < RX_WARMUP || (bursts < RX_WARMUP_BURSTS && size > 0); r++) {
    fill(r < RX_WARMUP ? k : size);
    const d = jsRx(q, out, k);
    bursts += d.calls;
    if (r < RX_WARMUP && d.frames < size) size = d.frames;
  }
  if (size === 0) return console.log(`${what} RX: no frame arrived`);
  const js: number[] = [];
  const nat: number[] = [];
  let short = 0;
  const drain = (side: number[], rate: Rate) => {
    if (rate.frames < size) short++;
    side.push(mpps(rate));
  };
  const jsDrain = () => {
    fill(size);
    drain(js, jsRx(q, out, size));
  };
  const nativeDrain = () => {
    fill(size);
    drain(nat, q.benchRx(o.burst, size, o.ms));
  };
  for (let r = 0; r < o.rounds * RX_DRAINS; r++) {
    const [first, second] = r % 2 === 0 ? [jsDrain, nativeDrain] : [nativeDrain, jsDrain];
    first();
    second();
  }
  const j = median(js);
  const n = median(nat);
  const shortNote = short > 0 ? `, ${short} short` : '';
  console.log(`${`${what} RX (${size}/drain)`.padEnd(34)} JS ${j.toFixed(3)} Mpps   native ${n.toFixed(3)} Mpps   ratio ${(n > 0 ? j / n : 0).toFixed(2)}   (medians of ${js.length} drains per side${shortNote})`);
}

/**
 * dpdk-testpmd txonly on the same vdev: the mean of its per-second Tx-pps over
 * `secs` seconds after the first. Started again while it fails to start (an XDP
 * socket closed just now keeps its queue busy for about a second).
 */
async function testpmdTxonly(lab: NetnsLab, ns: string, vdev: string, burst: number, secs: number): Promise<number> {
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  for (let attempt = 0; attempt < 3; attempt++) {
    const child = lab.spawn(ns, 'dpdk-testpmd', [
      '-l', '0-1', ...EAL.split(' '), `--vdev=${vdev}`, '--',
      '--forward-mode=txonly', `--txpkts=${FRAME}`, `--burst=${burst}`, '--stats-period=1', '--total-num-mbufs=8192',
    ]);
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    const pps = () => [...out.matchAll(/Tx-pps:\s+(\d+)/g)].map((m) => Number(m[1])).filter((v) => v > 0);
    const deadline = Date.now() + 20_000;
    while (child.exitCode === null && pps().length < secs + 1 && Date.now() < deadline) await sleep(250);
    if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGINT');
    await Promise.race([new Promise((r) => child.once('exit', r)), sleep(5000)]);
    const steady = pps().slice(1);
    if (steady.length > 0) return steady.reduce((a, b) => a + b, 0) / steady.length / 1e6;
    await sleep(1000);
  }
  return 0;
}

/** Runs the AF_XDP and DPDK measurements of `asked` that are built into the addon. */
export async function benchXdpDpdk(o: BenchOptions, asked: string[]): Promise<void> {
  const drivers = nativeDrivers();
  const want = asked.filter((d) => drivers.includes(d));
  for (const d of asked) if (!want.includes(d)) console.log(`${d}: not built ${nativeLoadError()}`);
  if (want.length === 0) return;
  const lab = new NetnsLab(PREFIX);
  try {
    const portNs = lab.addNs('port');
    const peerNs = lab.addNs('peer');
    lab.addVeth({ name: 'vgxdpb-a', ns: portNs }, { name: 'vgxdpb-b', ns: peerNs });
    const peerMac = lab.mac(peerNs, 'vgxdpb-b');
    steerPeer(lab, peerNs, 'vgxdpb-b');
    const pool = new BufferPool(16384);
    // The sender that fills RX rings: af_packet on the peer, on another CPU.
    const filler = await Filler.start(peerNs, 'vgxdpb-b', fillCpu, o.burst);
    const fillFor = (dst: Uint8Array) => {
      const frame = probeFrame(dst, peerMac, 0, FRAME);
      return (k: number) => filler.fill(k, frame);
    };
    const measure = (what: string, port: NativePort, rxFill: number): Rate => {
      const q = port.openQueue(0, pool, o.burst);
      try {
        const js = benchTx(what, q, probeFrame(peerMac, port.caps.mac, 0, FRAME), o);
        benchRx(what, q, rxFill, fillFor(port.caps.mac), o);
        return js;
      } finally {
        q.close();
        port.close();
      }
    };
    try {
      if (want.includes('af_xdp')) {
        // 32768 UMEM frames: an RX ring of 16384.
        measure('af_xdp copy', openNativePort('af_xdp', { iface: 'vgxdpb-a', netns: portNs, mode: 'copy', frames: '32768' }, 'a'), 16384);
      }
      if (want.includes('dpdk')) {
        const haveTestpmd = spawnSync('sh', ['-c', 'command -v dpdk-testpmd'], { stdio: 'ignore' }).status === 0;
        // Frames offered per fill (benchRx keeps what arrives): net_af_xdp's fill
        // queue holds 2048 buffers in DPDK 22.11; net_af_packet's ring framecnt.
        const vdevs: [string, string, number][] = [
          ['net_af_xdp', 'net_af_xdp0,iface=vgxdpb-a', 4096],
          ['net_af_packet', 'net_af_packet0,iface=vgxdpb-a,qdisc_bypass=1,framecnt=16384', 12000],
        ];
        for (const [name, vdev, fill] of vdevs) {
          // testpmd first: net_af_xdp inside this process keeps its queue bound
          // after close (see docs/DRIVERS.md), so it must come last.
          const testpmd = haveTestpmd ? await testpmdTxonly(lab, portNs, vdev, o.burst, 3) : 0;
          await new Promise((r) => setTimeout(r, 1500));
          const port = openNativePort('dpdk', { netns: portNs, rxd: '4096' }, name, `${EAL} --vdev=${vdev}`);
          const js = measure(`dpdk ${name}`, port, fill);
          if (haveTestpmd) console.log(line(`dpdk ${name} TX`, js, 'testpmd txonly', testpmd));
        }
      }
    } finally {
      await filler.close();
    }
  } finally {
    lab.cleanup();
  }
}
