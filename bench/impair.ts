/**
 * Frames per second that `vaigai impair` forwards between two veths, with no
 * impairment and with a 20 ms delay, beside the kernel forwarding between the
 * same two veths (a Linux bridge in the middle namespace) in the same run.
 *
 *   gen ns --veth--> middle ns (hop or bridge) --veth--> sink ns
 *
 * Every driver: af_packet and af_xdp on the middle veths; dpdk with two
 * net_af_packet vdevs on them (`--no-huge`, one EAL); tap with two tap devices,
 * each bridged (a Linux bridge of its own) with one middle veth, so the kernel
 * path around that hop is longer than the others'.
 *
 * The generator is this process (the af_packet driver's native send loop, 64-byte
 * frames); what arrives is read from the sink veth's rx_packets. Needs root and
 * the native addon. First, the engine alone in memory (no I/O), delay against
 * pass-through. Usage: node dist/bench/impair.js [seconds=3] [drivers=af_packet,af_xdp,tap,dpdk]
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ManualClock } from '../src/common/clock.js';
import { Prng } from '../src/common/prng.js';
import { BufferPool } from '../src/core/buffer_pool.js';
import { Impairment } from '../src/impair/engine.js';
import { parseImpairSpec } from '../src/impair/spec.js';
import { nativeDrivers, nativeLoadError, openNativePort } from '../src/port/native.js';
import { NetnsLab, netTestSkipReason, probeFrame } from '../test/helpers/netns.js';

const MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url));
const seconds = Number(process.argv[2] ?? 3);
const drivers = (process.argv[3] ?? 'af_packet,af_xdp,tap,dpdk').split(',').filter((d) => nativeDrivers().includes(d));

/** The far end of the in-memory runs: frees what it is handed, as a port's TX does. */
class FreeSink {
  constructor(private readonly pool: BufferPool) {}
  push(slot: number): void {
    this.pool.free(slot);
  }
}

/** The engine alone: offers frames 0.1 us apart (10 Mpps of simulated time), releases, frees. */
function engineMpps(spec: string, frames: number): number {
  const pool = new BufferPool(65536);
  const sink = new FreeSink(pool);
  const imp = new Impairment(parseImpairSpec(spec), pool, sink, new Prng(1));
  const clock = new ManualClock();
  const t0 = performance.now();
  for (let i = 0; i < frames; i++) {
    const s = pool.alloc();
    pool.dataLen[s] = 64;
    clock.advance(0.1);
    imp.offer(s, clock.nowUs());
    if ((i & 31) === 31) imp.poll(clock.nowUs());
  }
  return frames / (performance.now() - t0) / 1000;
}

engineMpps('loss=1%,duplicate=1%,delay=20ms,jitter=2ms,reorder=5%,limit=60000', 1_000_000); // warm-up: every path compiled
let passMpps = 0;
for (const spec of ['', 'delay=20ms,limit=60000', 'loss=1%,duplicate=1%,delay=20ms,jitter=2ms,reorder=5%,limit=60000']) {
  const m = engineMpps(spec, 5_000_000);
  if (spec === '') passMpps = m;
  console.log(`engine in memory ${(spec || 'no impairment').padEnd(66)} ${m.toFixed(2)} Mpps  ratio to pass-through ${(m / passMpps).toFixed(2)}`);
}

const skip = netTestSkipReason(['ethtool']);
if (skip !== null || drivers.length === 0) {
  console.log(`bench/impair: skipped: ${skip ?? `no native driver (${nativeLoadError() || 'af_packet missing'})`}`);
  process.exit(0);
}

const lab = new NetnsLab('vgimpb-');
const gen = lab.addNs('g');
const mid = lab.addNs('m');
const sink = lab.addNs('s');
lab.addVeth({ name: 'vgimpb-g0', ns: gen }, { name: 'vgimpb-m0', ns: mid });
lab.addVeth({ name: 'vgimpb-m1', ns: mid }, { name: 'vgimpb-s0', ns: sink });
for (const l of ['vgimpb-m0', 'vgimpb-m1']) lab.run(mid, 'ip', ['link', 'set', l, 'promisc', 'on']);

const pool = new BufferPool(1024);
const genQ = openNativePort('af_packet', { iface: 'vgimpb-g0', netns: gen }, 'gen').openQueue(0, pool);
const dst = lab.mac(sink, 'vgimpb-s0');
const src = lab.mac(gen, 'vgimpb-g0');
let seq = 0;

/** Blasts 64-byte frames for `seconds`; returns [sent per second, arrived per second, frames sent]. */
function blast(): [number, number, number] {
  const before = lab.counter(sink, 'vgimpb-s0', 'rx_packets');
  const r = genQ.benchTx(64, 50_000_000, seconds * 1000, (slot) => pool.write(slot, probeFrame(dst, src, seq++, 64)));
  // Frames still on a 20 ms delay line arrive after the generator stops.
  spawnSync('sleep', ['0.2']);
  const arrived = lab.counter(sink, 'vgimpb-s0', 'rx_packets') - before;
  const s = r.ns / 1e9;
  return [r.frames / s, arrived / s, r.frames];
}

/** How the hop reaches the middle veths on one driver: its two port specs and the plumbing around them. */
interface Plumbing {
  ports: [string, string];
  /** Before the hop starts. */
  setUp(): void;
  /** Once the hop's ports are open. */
  started(): void;
  /** After the hop exits. */
  tearDown(): void;
}

const EAL = '--no-huge --no-shconf -m 512 --no-pci --no-telemetry';
const none = (): void => undefined;

function plumbing(driver: string): Plumbing {
  switch (driver) {
    case 'tap':
      // The hop's tap devices each join a bridge with one middle veth: m0 [b0] t0 = hop = t1 [b1] m1.
      return {
        ports: ['tap:name=vgimpb-t0', 'tap:name=vgimpb-t1'],
        setUp: () => {
          for (const i of [0, 1]) {
            lab.run(mid, 'ip', ['link', 'add', `vgimpb-b${i}`, 'type', 'bridge']);
            lab.run(mid, 'ip', ['link', 'set', `vgimpb-m${i}`, 'master', `vgimpb-b${i}`]);
            lab.run(mid, 'ip', ['link', 'set', `vgimpb-b${i}`, 'up']);
          }
        },
        started: () => {
          // txqueuelen: frames the kernel queues for the hop to read (default 1000; af_packet's RX ring holds 8192).
          for (const i of [0, 1]) lab.run(mid, 'ip', ['link', 'set', `vgimpb-t${i}`, 'master', `vgimpb-b${i}`, 'txqueuelen', '8192']);
        },
        tearDown: () => {
          for (const i of [0, 1]) lab.run(mid, 'ip', ['link', 'del', `vgimpb-b${i}`]);
        },
      };
    case 'dpdk':
      // One EAL in the hop process, two net_af_packet vdevs (the second hot-plugged), each with
      // an RX ring of 8192 frames as the af_packet driver's (the PMD's default is 512).
      return {
        ports: [0, 1].map((i) => `dpdk:eal=${EAL} --vdev=net_af_packet${i},iface=vgimpb-m${i},framecnt=8192`) as [string, string],
        setUp: none,
        started: none,
        tearDown: none,
      };
    default:
      return { ports: [`${driver}:iface=vgimpb-m0`, `${driver}:iface=vgimpb-m1`], setUp: none, started: none, tearDown: none };
  }
}

/** Runs `run` through the hop; returns its result with the share of the frames sent that the hop received. */
async function withHop(driver: string, spec: string, run: () => [number, number, number]): Promise<[number, number, number]> {
  const p = plumbing(driver);
  p.setUp();
  try {
    const child: ChildProcess = lab.spawn(mid, process.execPath, [MAIN, 'impair', '--port', p.ports[0], '--port', p.ports[1], '--both', spec]);
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    // DPDK's EAL start-up takes a few seconds on a loaded machine.
    for (let i = 0; i < 400 && !out.includes('<->') && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 50));
    if (!out.includes('<->')) throw new Error(`hop did not start: ${out}`);
    p.started();
    const res = run();
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      if (child.pid !== undefined) process.kill(child.pid, 'SIGTERM');
    });
    // AF_XDP: a queue reopened right after closing may answer EBUSY for about a second.
    if (driver === 'af_xdp') await new Promise((r) => setTimeout(r, 1500));
    // The summary's a>b "frames in": what the hop's port took off the wire (the rest was dropped before it).
    const hopIn = Number(/a>b [^\n]*\n\s*frames in (\d+)/.exec(out)?.[1] ?? NaN);
    return [res[0], res[1], hopIn / res[2]];
  } finally {
    p.tearDown();
  }
}

function withBridge(run: () => [number, number, number]): [number, number, number] {
  lab.run(mid, 'ip', ['link', 'add', 'vgimpb-br', 'type', 'bridge']);
  for (const l of ['vgimpb-m0', 'vgimpb-m1']) lab.run(mid, 'ip', ['link', 'set', l, 'master', 'vgimpb-br']);
  lab.run(mid, 'ip', ['link', 'set', 'vgimpb-br', 'up']);
  try {
    return run();
  } finally {
    lab.run(mid, 'ip', ['link', 'del', 'vgimpb-br']);
  }
}

const fmt = (pps: number): string => `${(pps / 1e6).toFixed(3)} Mpps`;
try {
  for (const d of drivers) {
    // The kernel measured next to each driver's rows: on 2 shared cores the load drifts within a run.
    const kernel = withBridge(blast);
    console.log(`kernel bridge                   offered ${fmt(kernel[0])}  forwarded ${fmt(kernel[1])}`);
    for (const [label, spec] of [
      ['no impairment', ''],
      ['delay=20ms', 'delay=20ms,limit=30000'],
    ] as const) {
      const r = await withHop(d, spec, blast);
      console.log(
        `impair ${d.padEnd(9)} ${label.padEnd(13)} offered ${fmt(r[0])}  hop took ${(r[2] * 100).toFixed(0).padStart(3)}%  forwarded ${fmt(r[1])}  ratio to kernel ${(r[1] / kernel[1]).toFixed(2)}`,
      );
    }
  }
} finally {
  genQ.close();
  lab.cleanup();
}
