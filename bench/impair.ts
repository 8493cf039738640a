/**
 * Frames per second that `vaigai impair` forwards between two veths, with no
 * impairment and with a 20 ms delay, beside the kernel forwarding between the
 * same two veths (a Linux bridge in the middle namespace) in the same run.
 *
 *   gen ns --veth--> middle ns (hop or bridge) --veth--> sink ns
 *
 * The generator is this process (the af_packet driver's native send loop, 64-byte
 * frames); what arrives is read from the sink veth's rx_packets. Needs root and
 * the native addon. First, the engine alone in memory (no I/O), delay against
 * pass-through. Usage: node dist/bench/impair.js [seconds=3] [drivers=af_packet,af_xdp]
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
const drivers = (process.argv[3] ?? 'af_packet,af_xdp').split(',').filter((d) => nativeDrivers().includes(d));

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

/** Blasts 64-byte frames for `seconds`; returns [sent per second, arrived per second]. */
function blast(): [number, number] {
  const before = lab.counter(sink, 'vgimpb-s0', 'rx_packets');
  const r = genQ.benchTx(64, 50_000_000, seconds * 1000, (slot) => pool.write(slot, probeFrame(dst, src, seq++, 64)));
  // Frames still on a 20 ms delay line arrive after the generator stops.
  spawnSync('sleep', ['0.2']);
  const arrived = lab.counter(sink, 'vgimpb-s0', 'rx_packets') - before;
  const s = r.ns / 1e9;
  return [r.frames / s, arrived / s];
}

async function withHop(driver: string, spec: string, run: () => [number, number]): Promise<[number, number]> {
  const child: ChildProcess = lab.spawn(mid, process.execPath, [
    MAIN, 'impair', '--port', `${driver}:iface=vgimpb-m0`, '--port', `${driver}:iface=vgimpb-m1`, '--both', spec,
  ]);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  for (let i = 0; i < 100 && !out.includes('<->') && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 50));
  if (!out.includes('<->')) throw new Error(`hop did not start: ${out}`);
  const res = run();
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    if (child.pid !== undefined) process.kill(child.pid, 'SIGTERM');
  });
  // AF_XDP: a queue reopened right after closing may answer EBUSY for about a second.
  if (driver === 'af_xdp') await new Promise((r) => setTimeout(r, 1500));
  return res;
}

function withBridge(run: () => [number, number]): [number, number] {
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
  const kernel = withBridge(blast);
  console.log(`kernel bridge             offered ${fmt(kernel[0])}  forwarded ${fmt(kernel[1])}`);
  for (const d of drivers) {
    for (const [label, spec] of [
      ['no impairment', ''],
      ['delay=20ms', 'delay=20ms,limit=30000'],
    ] as const) {
      const r = await withHop(d, spec, blast);
      console.log(
        `impair ${d.padEnd(9)} ${label.padEnd(13)} offered ${fmt(r[0])}  forwarded ${fmt(r[1])}  ratio to kernel ${(r[1] / kernel[1]).toFixed(2)}`,
      );
    }
  }
} finally {
  genQ.close();
  lab.cleanup();
}
