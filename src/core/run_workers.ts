/**
 * The `vaigai` run on poll-mode workers, as the architecture lays it out: the
 * port is opened once with one queue per worker (af_packet fanout, af_xdp and
 * dpdk queues), each worker thread owns queue i on the CPU core_assign gives
 * it and runs the network stack (src/net/stack_pipeline.ts) on it, all of
 * them sharing one ARP table. The main thread stays the management side: once
 * a second it sums the workers' metric slabs into one line (and the --json
 * file), and on SIGINT/SIGTERM, the abort signal, the duration or a failed
 * worker it stops them all and returns the summed counters.
 */
import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { RunPlan } from '../mgmt/cli/stack_config.js';
import { ArpCache } from '../net/arp_cache.js';
import { groupStackMetrics, MAC_METRIC, stackMetricNames, type StackAppConfig, type StackMetricGroups, type StackPipelineConfig } from '../net/stack_pipeline.js';
import { loadNative } from '../port/native.js';
import { parsePortSpec } from '../port/spec.js';
import { ipToString } from '../wire/ipv4_addr.js';
import { macToString } from '../wire/mac.js';
import { assignCores } from './core_assign.js';
import type { LoopOptions } from './worker_loop.js';
import { WorkerSet, type WorkerResult } from './workers.js';

/** Slots per worker pool (as the single-threaded run uses). */
const POOL_SLOTS = 8192;
/** Neighbours in the port's shared ARP table. */
const ARP_CACHE_SIZE = 4096;
export const MAX_WORKERS = 64;

export interface RunWorkersOptions {
  /** Where the start line, live lines and summary go (default console.log). */
  log?: (line: string) => void;
  /** Stops the run as SIGINT would. */
  signal?: AbortSignal;
  /** CPUs to assign roles on (default: this process's affinity). */
  cpus?: readonly number[];
  /** Poll-loop tuning (burst, idle time before parking, ...); the loop's defaults otherwise. */
  loop?: Partial<LoopOptions>;
}

export interface WorkersRunResult {
  seconds: number;
  /** Every worker's counters summed. */
  total: StackMetricGroups;
  perWorker: StackMetricGroups[];
  /** How each worker ended (its loop stats: slots still in use, TX drops). */
  results: WorkerResult[];
  /** The CPU each worker ran pinned to (-1: not pinned). */
  cpus: number[];
}

export class WorkersError extends Error {}

/** The application of the plan, as the workers' pipeline config names it. */
function appOf(plan: RunPlan): StackAppConfig {
  const m = plan.mode;
  switch (m.kind) {
    case 'stack':
      return { kind: 'none' };
    case 'http':
      return { kind: 'http', port: m.port, status: m.status, bodySize: m.bodySize, tls: m.tls };
    case 'sink':
    case 'source':
      return { kind: m.kind, port: m.port, bytes: m.bytes, sha256: m.sha256 };
    default:
      throw new WorkersError('--workers: the HTTP client load runs on the main thread only (drop --workers)');
  }
}

/**
 * The spec with `queues=<workers>`: one queue per worker, so that fanout/RSS
 * never steers a flow to a queue nobody polls.
 */
export function specWithQueues(spec: string, workers: number): string {
  const s = parsePortSpec(spec);
  const q = s.options.queues;
  if (q !== undefined) {
    if (Number(q) !== workers) throw new WorkersError(`--workers ${workers}: the port has queues=${q}; each queue needs a worker (give queues=${workers} or leave it out)`);
    return spec.trim();
  }
  const t = spec.trim();
  const colon = t.indexOf(':');
  // Put it first: a dpdk spec's `eal=` option runs to the end.
  return colon < 0 ? `${t}:queues=${workers}` : `${t.slice(0, colon)}:queues=${workers},${t.slice(colon + 1)}`;
}

function processCpus(): number[] {
  return loadNative()?.getAffinity() ?? Array.from({ length: availableParallelism() }, (_, i) => i);
}

const DROP = /^(eth|arp|ipv4|icmp)Drop/;

function liveLine(s: number, total: StackMetricGroups, per: StackMetricGroups[]): string {
  const n = total.net;
  let drops = 0;
  for (const [k, v] of Object.entries(n)) if (DROP.test(k)) drops += v;
  let line =
    `[${s.toFixed(0).padStart(4)}s] ${per.length} workers | rx ${n.rxFrames} (${per.map((w) => w.net.rxFrames).join('/')}) tx ${n.txFrames}` +
    ` | arp req ${n.arpRxRequests} rep ${n.arpTxReplies} garp ${n.arpTxGratuitous} resolved ${n.arpResolved}` +
    ` | echo ${n.icmpRxEchoRequests}/${n.icmpTxEchoReplies} | drops ${drops}`;
  if (total.tcp !== null) line += ` | tcp opens ${total.tcp.passiveOpens} (${per.map((w) => w.tcp?.passiveOpens ?? 0).join('/')}) est ${total.tcp.established}`;
  const a = total.app;
  if (a !== null) line += a.requests !== undefined ? ` | http req ${a.requests} resp ${a.responses} err ${a.errors}` : ` | accepted ${a.accepted} in ${a.bytes_in} out ${a.bytes_out}`;
  return line;
}

function nonZero(r: Record<string, number> | null): string {
  if (r === null) return '';
  return Object.entries(r)
    .filter(([, v]) => v !== 0)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}

function writeJson(path: string, seconds: number, total: StackMetricGroups, per: StackMetricGroups[]): void {
  const out = { seconds, workers: per.length, counters: total.net, tcp: total.tcp, app: total.app, loop: total.loop, perWorker: per };
  writeFileSync(path, JSON.stringify(out, null, 1));
}

/**
 * Runs the plan's stack on `workers` worker threads until SIGINT/SIGTERM,
 * `opts.signal`, the plan's duration, or a worker failing; returns the
 * counters. Rejects (after stopping every worker) when one failed.
 */
export async function runStackOnWorkers(plan: RunPlan, workers: number, opts: RunWorkersOptions = {}): Promise<WorkersRunResult> {
  if (!Number.isInteger(workers) || workers < 1 || workers > MAX_WORKERS) throw new WorkersError(`--workers: ${workers} is not an integer in 1..${MAX_WORKERS}`);
  const log = opts.log ?? ((l: string) => console.log(l));
  const app = appOf(plan);
  const spec = specWithQueues(plan.portSpec, workers);
  const { driver, options } = parsePortSpec(spec);
  const cores = assignCores(opts.cpus ?? processCpus(), workers);
  const cpus = Array.from({ length: workers }, (_, i) => cores.workers[i] ?? -1);
  const arp = new ArpCache(ARP_CACHE_SIZE);
  const config: StackPipelineConfig = {
    mac: plan.mac,
    addrs: plan.addrs,
    routes: plan.routes,
    arpTable: arp.words.buffer as SharedArrayBuffer,
    arpCacheSize: ARP_CACHE_SIZE,
    maxConns: plan.maxConns,
    app,
  };
  const set = await WorkerSet.start({
    workers: cpus.map((cpu, i) => ({ port: spec, queueId: i, cpu })),
    pipeline: new URL('../net/stack_pipeline.js', import.meta.url),
    config,
    poolSlots: POOL_SLOTS,
    metrics: stackMetricNames(app.kind),
    loop: opts.loop ?? {},
  });
  const owned = plan.addrs.reduce((n, a) => n + a.hi - a.lo + 1, 0);
  const pinned = set.pinnedCpus;
  log(
    `vaigai: ${driver} ${options.iface ?? options.name ?? driver} mac ${macToString(set.metricsOf(0)[MAC_METRIC])}, ${owned} addresses ` +
      plan.addrs.map((a) => `${ipToString(a.lo)}-${ipToString(a.hi)}/${a.prefixLen}${a.vlan >= 0 ? ` vlan ${a.vlan}` : ''}`).join(', ') +
      `; ${workers} workers on CPUs ${pinned.map((c) => (c < 0 ? 'any' : String(c))).join(',')} (management on ${cores.management.join(',')})`,
  );

  const started = performance.now();
  const seconds = (): number => (performance.now() - started) / 1000;
  const snapshot = (): { total: StackMetricGroups; per: StackMetricGroups[] } => ({
    total: groupStackMetrics(set.metrics(), app.kind),
    per: Array.from({ length: workers }, (_, w) => groupStackMetrics(set.metricsOf(w), app.kind)),
  });
  const report = (): void => {
    const { total, per } = snapshot();
    log(liveLine(seconds(), total, per));
    if (plan.jsonPath !== null) writeJson(plan.jsonPath, seconds(), total, per);
  };

  let failedMsg = '';
  await new Promise<void>((resolve) => {
    const timers: NodeJS.Timeout[] = [];
    const finish = (): void => {
      for (const t of timers) clearTimeout(t);
      process.off('SIGINT', finish);
      process.off('SIGTERM', finish);
      opts.signal?.removeEventListener('abort', finish);
      resolve();
    };
    timers.push(
      setInterval(() => {
        report();
        const failed = set.failed();
        if (failed.length > 0) {
          failedMsg = failed.map((f) => `worker ${f.workerIdx}: ${f.error}`).join('; ');
          finish();
        }
      }, 1000),
    );
    if (plan.durationS > 0) timers.push(setTimeout(finish, plan.durationS * 1000));
    process.once('SIGINT', finish);
    process.once('SIGTERM', finish);
    if (opts.signal?.aborted === true) finish();
    else opts.signal?.addEventListener('abort', finish, { once: true });
  });

  const results = await set.stop();
  const { total, per } = snapshot();
  const s = seconds();
  log(liveLine(s, total, per));
  if (plan.jsonPath !== null) writeJson(plan.jsonPath, s, total, per);
  log(`summary: ${nonZero(total.net) || 'no traffic'}`);
  if (total.tcp !== null) log(`tcp: ${nonZero(total.tcp) || 'no traffic'}`);
  if (total.app !== null) log(`app: ${nonZero(total.app) || 'no traffic'}`);
  for (const r of results) {
    const st = r.stats;
    log(`worker ${r.workerIdx}: ${r.error ?? `rx ${st?.loop_rx_frames} frames, ${st?.loop_parks} parks, tx drops ${st?.tx_batch_dropped}, slots in use ${st?.slots_in_use}`}`);
  }
  const errors = results.filter((r) => r.error !== null);
  if (failedMsg !== '' || errors.length > 0) {
    throw new WorkersError(failedMsg || errors.map((r) => `worker ${r.workerIdx}: ${r.error}`).join('; '));
  }
  return { seconds: s, total, perWorker: per, results, cpus: pinned };
}
