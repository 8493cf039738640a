/**
 * The `vaigai` run on poll-mode workers, as the architecture lays it out: the
 * port is opened once with one queue per worker (af_packet fanout, af_xdp and
 * dpdk queues), each worker thread owns queue i on the CPU core_assign gives
 * it and runs the network stack (src/run/stack_pipeline.ts) on it, all of
 * them sharing one ARP table. The main thread stays the management side: once
 * a second it sums the workers' metric slabs into one line (and the --json
 * file), and on SIGINT/SIGTERM, the abort signal, the duration, a failed
 * worker or (with --client) every worker's load finished, it stops them all
 * and returns the summed counters.
 *
 * The HTTP client load is split across the workers (splitClient): each runs
 * its share on its own share of the ephemeral ports, and passes the replies
 * fanout/RSS brings it for another worker's ports to that worker
 * (src/net/flow_steer.ts). Their latency histograms add up in management.
 */
import { writeFileSync } from 'node:fs';
import { LATENCY_PARAMS, type LoadSnapshot } from '../engine/load.js';
import type { ClientPlan } from '../engine/modes.js';
import { liveLine as clientLiveLine, summarize, summaryText } from '../engine/report.js';
import { availableParallelism } from 'node:os';
import type { RunPlan } from './plan.js';
import { ArpCache } from '../net/arp_cache.js';
import {
  groupStackMetrics,
  MAC_METRIC,
  stackMetricNames,
  type StackWorkerReport,
  type StackAppConfig,
  type StackMetricGroups,
  type StackPipelineConfig,
} from './stack_pipeline.js';
import { Histogram } from '../telemetry/histogram.js';
import { loadNative } from '../port/native.js';
import { parsePortSpec } from '../port/spec.js';
import { ipToString } from '../wire/ipv4_addr.js';
import { macToString } from '../wire/mac.js';
import { assignCores } from '../core/core_assign.js';
import { createFrameRing } from '../core/frame_ring.js';
import type { LoopOptions } from './worker_loop.js';
import { WorkerSet, type WorkerResult } from './workers.js';

/** Slots per worker pool (as the single-threaded run uses). */
const POOL_SLOTS = 8192;
/** Neighbours in the port's shared ARP table. */
const ARP_CACHE_SIZE = 4096;
export const MAX_WORKERS = 64;
/** Frames each worker's inbound steering ring holds (2 KiB each). */
const STEER_RING_FRAMES = 1024;
/** How often management looks whether every worker's client load finished. */
const FINISH_POLL_MS = 50;

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
  /** The client load's summary (as the single-threaded --client prints it), or null without --client. */
  client: ReturnType<typeof summarize> | null;
  /** Each worker's capture file, when --pcap was given. */
  pcapFiles: string[];
}

export class WorkersError extends Error {}

/**
 * The client plan split across `workers`: connections as evenly as they go,
 * --requests so that the shares add up to it exactly, --rate in proportion to
 * the connections, --duration shared. Workers past the connections (or the
 * requests) get none: null.
 */
export function splitClient(plan: ClientPlan, workers: number): (ClientPlan | null)[] {
  let active = Math.min(workers, plan.connections);
  if (plan.requests > 0) active = Math.min(active, plan.requests);
  const share = (total: number, w: number): number => Math.floor(total / active) + (w < total % active ? 1 : 0);
  return Array.from({ length: workers }, (_, w) => {
    if (w >= active) return null;
    const connections = share(plan.connections, w);
    return {
      ...plan,
      connections,
      requests: plan.requests > 0 ? share(plan.requests, w) : 0,
      rate: plan.rate > 0 ? (plan.rate * connections) / plan.connections : 0,
    };
  });
}

/** Worker i's capture file: `run.pcap` -> `run.w0.pcap` (before the extension, or appended without one). */
export function workerPcapPath(path: string, w: number): string {
  const slash = path.lastIndexOf('/');
  const dot = path.lastIndexOf('.');
  return dot > slash + 1 ? `${path.slice(0, dot)}.w${w}${path.slice(dot)}` : `${path}.w${w}`;
}

/** The application of each worker, as the workers' pipeline config names it. */
function appsOf(plan: RunPlan, workers: number): StackAppConfig[] {
  const m = plan.mode;
  switch (m.kind) {
    case 'stack':
      return Array.from({ length: workers }, () => ({ kind: 'none' }));
    case 'http':
      return Array.from({ length: workers }, () => ({
        kind: 'http',
        port: m.port,
        status: m.status,
        bodySize: m.bodySize,
        tls: m.tls,
        keylog: plan.keylog?.path ?? null,
      }));
    case 'sink':
    case 'source':
      return Array.from({ length: workers }, () => ({ kind: m.kind, port: m.port, bytes: m.bytes, sha256: m.sha256 }));
    case 'client': {
      if (m.saveBody !== null) throw new WorkersError('--save-body: not with --workers (which response is the last one is not defined across workers)');
      const steer = { rings: Array.from({ length: workers }, () => createFrameRing(STEER_RING_FRAMES)), srcIp: plan.addrs[0].lo };
      return splitClient(m, workers).map((share) => ({
        kind: 'client',
        share,
        durationUs: plan.durationS * 1e6,
        keylog: plan.keylog?.path ?? null,
        steer,
      }));
    }
    default:
      throw new WorkersError('--workers: no such mode');
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

/** The summed client counters (CLIENT_KEYS) as the single-threaded load's snapshot. */
function clientSnapshot(a: Record<string, number>, us: number): LoadSnapshot {
  return {
    us,
    connects: a.connects,
    connectFailures: a.connect_failures,
    cancelled: a.cancelled,
    requests: a.requests,
    responses: a.responses,
    status: [0, a.status_1xx, a.status_2xx, a.status_3xx, a.status_4xx, a.status_5xx],
    bodyBytes: a.body_bytes,
    errors: a.errors,
    unanswered: a.unanswered,
    verifyOk: a.verify_ok,
    verifyFailed: a.verify_failed,
  };
}

/**
 * The client view of the workers: the live line with the per-worker split of
 * answers and of steered frames, and the summary, from the summed slabs and
 * the merged latency histograms (HDR counts add; an interval is the
 * difference of two merges).
 */
class ClientReport {
  private prev: LoadSnapshot;
  private prevHist: Histogram;

  constructor(
    private readonly set: WorkerSet,
    private readonly verify: boolean,
    private readonly tls: boolean,
  ) {
    this.prev = clientSnapshot(groupStackMetrics(set.metrics(), 'client').app ?? {}, performance.now() * 1000);
    this.prevHist = new Histogram(LATENCY_PARAMS);
  }

  liveLine(s: number, total: StackMetricGroups, per: StackMetricGroups[]): string {
    const cur = clientSnapshot(total.app ?? {}, performance.now() * 1000);
    const hist = this.set.histogram() ?? new Histogram(LATENCY_PARAMS);
    const line = clientLiveLine(s, this.prev, cur, Histogram.difference(hist, this.prevHist));
    this.prev = cur;
    this.prevHist = hist;
    const col = (k: string): string => per.map((w) => w.app?.[k] ?? 0).join('/');
    return `${line} | workers resp ${col('responses')} steered ${col('steered_out')}`;
  }

  /** The summary of the whole load: the longest worker's time, the summed counts, the merged latencies. */
  summary(total: StackMetricGroups, per: StackMetricGroups[]): ReturnType<typeof summarize> {
    const elapsedUs = Math.max(0, ...per.map((w) => w.app?.elapsed_us ?? 0));
    // --sha256: the digest of the worker whose load ended last (every worker's, for one resource).
    const reports = this.set.reports() as (StackWorkerReport | undefined)[];
    let last = -1;
    per.forEach((w, i) => {
      if (reports[i]?.sha256 != null && (last < 0 || (w.app?.elapsed_us ?? 0) >= (per[last].app?.elapsed_us ?? 0))) last = i;
    });
    const hist = this.set.histogram() ?? new Histogram(LATENCY_PARAMS);
    return summarize(elapsedUs, clientSnapshot(total.app ?? {}, 0), hist, this.verify, last < 0 ? null : (reports[last]?.sha256 ?? null));
  }

  /** The --json `app` of the client: the summary, with TLS figures as the single-threaded client gives them. */
  json(total: StackMetricGroups, per: StackMetricGroups[]): Record<string, unknown> {
    const out: Record<string, unknown> = { ...this.summary(total, per) };
    const a = total.app ?? {};
    if (this.tls) {
      const errs = (this.set.reports() as (StackWorkerReport | undefined)[]).map((r) => r?.tlsLastError ?? null);
      out.tls = { handshakes: a.tls_handshakes, full: a.tls_full, resumed: a.tls_resumed, failures: a.tls_failures, abandoned: a.tls_abandoned, lastError: errs.find((e) => e !== null) ?? null };
    }
    out.steering = { out: a.steered_out, in: a.steered_in, drops: a.steer_drops };
    return out;
  }
}

function nonZero(r: Record<string, number> | null): string {
  if (r === null) return '';
  return Object.entries(r)
    .filter(([, v]) => v !== 0)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}

function writeJson(path: string, seconds: number, total: StackMetricGroups, per: StackMetricGroups[], app: unknown): void {
  const out = { seconds, workers: per.length, counters: total.net, tcp: total.tcp, app, loop: total.loop, perWorker: per };
  writeFileSync(path, JSON.stringify(out, null, 1));
}

/**
 * Runs the plan's stack on `workers` worker threads until SIGINT/SIGTERM,
 * `opts.signal`, the plan's duration, a worker failing, or (--client) every
 * worker's load finished; returns the counters. Rejects (after stopping every
 * worker) when one failed.
 */
export async function runStackOnWorkers(plan: RunPlan, workers: number, opts: RunWorkersOptions = {}): Promise<WorkersRunResult> {
  if (!Number.isInteger(workers) || workers < 1 || workers > MAX_WORKERS) throw new WorkersError(`--workers: ${workers} is not an integer in 1..${MAX_WORKERS}`);
  const log = opts.log ?? ((l: string) => console.log(l));
  const apps = appsOf(plan, workers);
  const kind = apps[0].kind;
  const client = kind === 'client' && plan.mode.kind === 'client' ? plan.mode : null;
  const spec = specWithQueues(plan.portSpec, workers);
  const { driver, options } = parsePortSpec(spec, plan.ealArgs);
  const cores = assignCores(opts.cpus ?? processCpus(), workers);
  const cpus = Array.from({ length: workers }, (_, i) => cores.workers[i] ?? -1);
  const arp = new ArpCache(ARP_CACHE_SIZE);
  const config = (app: StackAppConfig): StackPipelineConfig => ({
    mac: plan.mac,
    addrs: plan.addrs,
    routes: plan.routes,
    arpTable: arp.words.buffer as SharedArrayBuffer,
    arpCacheSize: ARP_CACHE_SIZE,
    maxConns: plan.maxConns,
    tcpWindow: plan.tcpWindow,
    cc: plan.cc,
    app,
  });
  const pcapPath = plan.pcapPath;
  const pcapFiles = pcapPath === null ? [] : cpus.map((_, i) => workerPcapPath(pcapPath, i));
  const set = await WorkerSet.start({
    workers: cpus.map((cpu, i) => ({ port: spec, queueId: i, cpu, config: config(apps[i]), ...(pcapPath === null ? {} : { pcap: pcapFiles[i] }) })),
    pipeline: new URL('./stack_pipeline.js', import.meta.url),
    poolSlots: POOL_SLOTS,
    metrics: stackMetricNames(kind),
    ...(client !== null ? { histogram: LATENCY_PARAMS } : {}),
    eal: plan.ealArgs,
    loop: opts.loop ?? {},
  });
  const owned = plan.addrs.reduce((n, a) => n + a.hi - a.lo + 1, 0);
  const pinned = set.pinnedCpus;
  log(
    `vaigai: ${driver} ${options.iface ?? options.name ?? driver} mac ${macToString(set.metricsOf(0)[MAC_METRIC])}, ${owned} addresses ` +
      plan.addrs.map((a) => `${ipToString(a.lo)}-${ipToString(a.hi)}/${a.prefixLen}${a.vlan >= 0 ? ` vlan ${a.vlan}` : ''}`).join(', ') +
      `; ${workers} workers on CPUs ${pinned.map((c) => (c < 0 ? 'any' : String(c))).join(',')} (management on ${cores.management.join(',')})`,
  );
  const clientReport = client === null ? null : new ClientReport(set, client.expectSha256 !== null, client.tls !== null);

  const started = performance.now();
  const seconds = (): number => (performance.now() - started) / 1000;
  const snapshot = (): { total: StackMetricGroups; per: StackMetricGroups[] } => ({
    total: groupStackMetrics(set.metrics(), kind),
    per: Array.from({ length: workers }, (_, w) => groupStackMetrics(set.metricsOf(w), kind)),
  });
  const appJson = (total: StackMetricGroups, per: StackMetricGroups[]): unknown => clientReport?.json(total, per) ?? total.app;
  const report = (): void => {
    const { total, per } = snapshot();
    const s = seconds();
    log(clientReport?.liveLine(s, total, per) ?? liveLine(s, total, per));
    if (plan.jsonPath !== null) writeJson(plan.jsonPath, s, total, per, appJson(total, per));
  };
  const allFinished = (): boolean => {
    for (let w = 0; w < workers; w++) if (set.metricsOf(w).app_finished !== 1) return false;
    return true;
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
    // The client's time bound is its own (it drains open requests past it): the run ends when every share finished.
    if (client !== null) timers.push(setInterval(() => allFinished() && finish(), FINISH_POLL_MS));
    else if (plan.durationS > 0) timers.push(setTimeout(finish, plan.durationS * 1000));
    process.once('SIGINT', finish);
    process.once('SIGTERM', finish);
    if (opts.signal?.aborted === true) finish();
    else opts.signal?.addEventListener('abort', finish, { once: true });
  });

  const results = await set.stop();
  const { total, per } = snapshot();
  const s = seconds();
  log(clientReport?.liveLine(s, total, per) ?? liveLine(s, total, per));
  if (plan.jsonPath !== null) writeJson(plan.jsonPath, s, total, per, appJson(total, per));
  log(`summary: ${nonZero(total.net) || 'no traffic'}`);
  if (total.tcp !== null) log(`tcp: ${nonZero(total.tcp) || 'no traffic'}`);
  const clientSummary = clientReport?.summary(total, per) ?? null;
  if (clientSummary !== null) log(summaryText('client', clientSummary));
  else if (total.app !== null) log(`app: ${nonZero(total.app) || 'no traffic'}`);
  for (const r of results) {
    const st = r.stats;
    const app = per[r.workerIdx]?.app;
    const share = client === null || app === undefined || app === null ? '' : `, ${app.responses} responses, steered ${app.steered_out} out ${app.steered_in} in (${app.steer_drops} dropped)`;
    const pcap = r.pcapFrames === undefined ? '' : `, pcap ${r.pcapFrames} frames to ${pcapFiles[r.workerIdx]}`;
    log(`worker ${r.workerIdx}: ${r.error ?? `rx ${st?.loop_rx_frames} frames, ${st?.loop_parks} parks, tx drops ${st?.tx_batch_dropped}, slots in use ${st?.slots_in_use}${share}${pcap}`}`);
  }
  if (plan.keylog !== null) {
    const lines = (set.reports() as (StackWorkerReport | undefined)[]).reduce((n, r) => n + (r?.keylogLines ?? 0), 0);
    log(`sslkeylog: ${lines} secrets to ${plan.keylog.path}`);
  }
  const errors = results.filter((r) => r.error !== null);
  if (failedMsg !== '' || errors.length > 0) {
    throw new WorkersError(failedMsg || errors.map((r) => `worker ${r.workerIdx}: ${r.error}`).join('; '));
  }
  return { seconds: s, total, perWorker: per, results, cpus: pinned, client: clientSummary, pcapFiles };
}
