/**
 * `vaigai impair`: a user-space netem between two ports. Frames from each port
 * are forwarded to the other through that direction's impairments; a live line
 * each second, a summary at the end (also on SIGINT/SIGTERM), `--json` for the
 * final counters.
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { monotonicClock } from '../../common/clock.js';
import { BufferPool } from '../../core/buffer_pool.js';
import { Bridge } from '../../impair/bridge.js';
import { runBridge, type LoopControl } from '../../impair/bridge_loop.js';
import { jsonReport, liveLine, summaryText, type Directions } from '../../impair/report.js';
import { parseImpairSpec, type ImpairSpec } from '../../impair/spec.js';
import type { Port } from '../../port/port.js';
import { openPort } from '../../port/spec.js';
import { InvalidOptionError } from '../../common/errors.js';

interface ImpairOptions {
  port: string[];
  both: string;
  aToB: string;
  bToA: string;
  seed: string;
  duration?: string;
  json?: string;
}

/** Slots beyond what both directions may hold: TX batches, RX reservations, slack. */
const POOL_EXTRA = 4096;
/** 512 MiB of 2 KiB slots: past this, huge limits are bounded by the pool (RX finds no free slot). */
const POOL_MAX = 1 << 18;

function parseSeed(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidOptionError('--seed', `must be a non-negative integer, got '${text}'`);
  return n;
}

function parseDuration(text: string | undefined): number {
  if (text === undefined) return 0;
  const s = Number(text);
  if (!Number.isFinite(s) || s <= 0) throw new InvalidOptionError('--duration', `must be a positive number of seconds, got '${text}'`);
  return Math.round(s * 1e6);
}

/** Parses the three spec options; each direction refines `--both`. */
function parseSpecs(o: ImpairOptions): { aToB: ImpairSpec; bToA: ImpairSpec } {
  const spec = (option: string, text: string, base?: ImpairSpec): ImpairSpec => {
    try {
      return parseImpairSpec(text, base);
    } catch (e) {
      throw new InvalidOptionError(option, e instanceof Error ? e.message : String(e));
    }
  };
  const both = spec('--both', o.both);
  return { aToB: spec('--a-to-b', o.aToB, both), bToA: spec('--b-to-a', o.bToA, both) };
}

async function runImpair(o: ImpairOptions): Promise<void> {
  if (o.port.length !== 2) throw new InvalidOptionError('--port', `give exactly two --port options (a and b), got ${o.port.length}`);
  const specs = parseSpecs(o);
  const seed = parseSeed(o.seed);
  const durationUs = parseDuration(o.duration);
  const pool = new BufferPool(Math.min(POOL_MAX, specs.aToB.limit + specs.bToA.limit + POOL_EXTRA));
  const portA = openPort(o.port[0]);
  let portB: Port | null = null;
  try {
    portB = openPort(o.port[1]);
    const qa = portA.openQueue(0, pool);
    const qb = portB.openQueue(0, pool);
    const clock = monotonicClock;
    const bridge = new Bridge(qa, qb, { ...specs, seed, clock });
    const control: LoopControl = { stopped: false };
    const stop = (): void => {
      control.stopped = true;
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    console.log(`impair: ${portA.name} <-> ${portB.name}, seed ${seed}${durationUs > 0 ? `, ${durationUs / 1e6} s` : ''}`);
    let prev: Directions = bridge.snapshot();
    let prevUs = 0;
    const elapsedUs = await runBridge(bridge, {
      clock,
      durationUs,
      control,
      onSecond: (us) => {
        const now = bridge.snapshot();
        console.log(liveLine(us, now, prev, us - prevUs));
        prev = now;
        prevUs = us;
      },
    });
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
    bridge.close();
    const final = bridge.snapshot();
    console.log(summaryText(elapsedUs, specs, final));
    if (o.json !== undefined) {
      const report = jsonReport([portA.name, portB.name], seed, elapsedUs, specs, final);
      writeFileSync(o.json, `${JSON.stringify(report, null, 2)}\n`);
    }
    qa.close();
    qb.close();
  } finally {
    portB?.close();
    portA.close();
  }
}

export function registerImpair(program: Command): void {
  program
    .command('impair')
    .description('Bridge two ports and impair the frames between them (a user-space netem)')
    .option('--port <spec>', 'a port, e.g. af_packet:iface=veth1 (give two: a, then b)', (v: string, acc: string[]) => [...acc, v], [])
    .option('--both <k=v,...>', 'impairments of both directions: loss, ecn, delay, jitter, dist, reorder, duplicate, corrupt, rate, burst, limit', '')
    .option('--a-to-b <k=v,...>', 'impairments of frames from port a to port b (refine --both)', '')
    .option('--b-to-a <k=v,...>', 'impairments of frames from port b to port a (refine --both)', '')
    .option('--seed <n>', 'PRNG seed: the same seed repeats a run', '1')
    .option('--duration <s>', 'stop after this many seconds (default: until SIGINT/SIGTERM)')
    .option('--json <file>', 'write the final counters to this file as JSON')
    .addHelpText(
      'after',
      `
Impairments (key=value, comma-separated; as tc netem):
  loss=1%  or  loss=ge:P:R[:LOSS_BAD[:LOSS_GOOD]]   random, or Gilbert-Elliott bursts
  ecn=on                                            mark ECN-capable frames CE where the loss model drops
  delay=20ms jitter=5ms dist=uniform|normal         per-frame delay (us, ms, s)
  reorder=5%                                        share sent at once, ahead of delayed frames
  duplicate=1%  corrupt=0.1%                        copies; one bit flipped past the Ethernet header
  rate=100mbit burst=16kb                           token bucket (bit/kbit/mbit/gbit, or bps/kbps/mbps bytes)
  limit=1000                                        frames a direction holds; tail drop beyond
Example: vaigai impair --port af_packet:iface=veth1 --port af_packet:iface=veth2 --both delay=20ms --a-to-b loss=1%`,
    )
    .action((o: ImpairOptions) => runImpair(o));
}
