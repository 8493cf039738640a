/**
 * The run: the one path every `vaigai` run takes, one worker or many. The
 * port is opened once with one queue per worker (af_packet fanout, af_xdp
 * and dpdk queues); each worker thread owns queue i on the CPU core_assign
 * gives it and runs the network stack (src/run/stack_pipeline.ts) on it, all
 * of them sharing one ARP table. The main thread is the management side: once
 * a second it sums the workers' metric slabs and merges their phase
 * histograms into one live line (a table on a terminal) and a series entry
 * (run_record.ts; --out ndjson, --hdr-log), and at the end into the result
 * (--json) and the summary.
 *
 * Stop: SIGINT, SIGTERM, the abort signal or the time bound stop new
 * arrivals; open requests get --drain seconds to finish; then every
 * connection on every worker is closed with a FIN, and what the peer has not
 * finished within a second is reset. A second SIGINT aborts at once.
 *
 * The HTTP client load is split across the workers (splitClient): each runs
 * its share on its own share of the ephemeral ports, and passes the replies
 * fanout/RSS brings it for another worker's ports to that worker
 * (src/net/flow_steer.ts). Their latency histograms add up in management.
 */
import { writeFileSync } from 'node:fs';
import { LATENCY_PARAMS, type FlowSnapshot, type LoadSnapshot } from '../engine/load.js';
import { rateTargets, type ClientPlan, type FlowPlan } from '../engine/modes.js';
import { RateWatch } from '../engine/rate_watch.js';
import { listenJson, listenLive, type ListenerPlan } from '../engine/listen.js';
import { probeLiveLine, probeSummary, probeSummaryText, type ProbeKind } from '../engine/probe_report.js';
import { randomInt } from 'node:crypto';
import { flowSummaries, liveLine as clientLiveLine, summarize, summaryText, type FlowSummary } from '../engine/report.js';
import { availableParallelism } from 'node:os';
import type { ModePlan, RunPlan } from './plan.js';
import { ArpCache } from '../net/arp_cache.js';
import {
  CLIENT_FAIL_KEYS,
  camel,
  groupStackMetrics,
  MAC_METRIC,
  stackMetricNames,
  type StackWorkerReport,
  type StackAppConfig,
  isClientKind,
  type StackMetricGroups,
  type StackPipelineConfig,
  type StopOp,
  OPEN_CONNS_METRIC,
  CONNS_METRIC,
} from './stack_pipeline.js';
import { Histogram } from '../telemetry/histogram.js';
import { logger } from '../telemetry/log.js';
import { PH_CONNECT, PH_RESPONSE, phaseSlot, phaseSlots } from '../telemetry/phases.js';
import { RunRecord } from './run_record.js';
import { HdrLogOut, NdjsonOut } from './run_outputs.js';
import { LiveTable, phaseReport } from './live_table.js';
import type { RunResult, SeriesEntry } from './result_schema.js';
import { loadNative } from '../port/native.js';
import { parsePortSpec } from '../port/spec.js';
import { ipToString } from '../wire/ipv4_addr.js';
import { macToString } from '../wire/mac.js';
import { assignCores } from '../core/core_assign.js';
import { InvalidOptionError, PortOpenError, VaigaiError, WorkerFailedError } from '../common/errors.js';
import { PortSpecError } from '../port/spec.js';
import { createFrameRing } from '../core/frame_ring.js';
import type { SteerConfig } from '../net/flow_steer.js';
import type { LoopOptions } from './worker_loop.js';
import { WorkerSet, type WorkerResult } from './workers.js';
import { mergeTcpSenders, tcpSendersText } from './tcp_senders.js';

/** A port's neighbour table, as a run creates it (a controller keeps one across its sessions). */
export function newArpCache(): ArpCache {
  return new ArpCache(ARP_CACHE_SIZE);
}
import { evaluateThresholds, failedForGoodOn } from './threshold_eval.js';
import { thresholdsText } from './threshold_text.js';

/** Slots per worker pool (as the single-threaded run uses). */
const POOL_SLOTS = 8192;
/** Neighbours in the port's shared ARP table. */
const ARP_CACHE_SIZE = 4096;
export const MAX_WORKERS = 64;
/** Frames each worker's inbound steering ring holds (2 KiB each). */
const STEER_RING_FRAMES = 1024;

export interface RunWorkersOptions {
  /** Where the start line, live lines and summary go (default console.log). */
  log?: (line: string) => void;
  /** Stops the run as SIGINT would. */
  signal?: AbortSignal;
  /** CPUs to assign roles on (default: this process's affinity). */
  cpus?: readonly number[];
  /** Poll-loop tuning (burst, idle time before parking, ...); the loop's defaults otherwise. */
  loop?: Partial<LoopOptions>;
  /** The command line, for the result's meta (default: this process's). */
  argv?: string[];
  /** Each second: a table refreshed in place (a terminal's), or a line per second (default). */
  view?: 'table' | 'lines';
  /** The port's neighbour table (default: a new one); a controller keeps one across its sessions. */
  arp?: ArpCache;
  /** Stop on SIGINT/SIGTERM (default true); a controller handles the signals itself. */
  signals?: boolean;
  /** Worker w's live trace part file (pcapng), captured from its first frame; none when absent. */
  trace?: (worker: number) => string;
  /** Called once every worker runs, with what management may read and send while the run goes on. */
  onStart?: (live: LiveSession) => void;
}

/** A session while it runs, as management sees it. */
export interface LiveSession {
  readonly workers: WorkerSet;
  /** Each worker's application (its share of a client load). */
  readonly apps: readonly StackAppConfig[];
  /** The result (what --json holds) as it stands now: its series to the last whole second. */
  result(): RunResult;
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
  /** The run's result (what --json holds). */
  result: RunResult;
}


/**
 * The client plan split across `workers`: connections as evenly as they go,
 * --requests so that the shares add up to it exactly, --rate in proportion to
 * the connections, --duration shared. Workers past the connections (or the
 * requests) get none: null.
 */
export function splitClient<P extends { connections: number; requests: number; rate: number; open?: ClientPlan['open']; seed?: number }>(
  plan: P,
  workers: number,
): (P | null)[] {
  const open = plan.open ?? null;
  // The open model: each worker its share of the arrival rate and of the concurrency cap.
  let active = Math.min(workers, open !== null ? open.maxConcurrent : plan.connections);
  if (plan.requests > 0) active = Math.min(active, plan.requests);
  const share = (total: number, w: number): number => Math.floor(total / active) + (w < total % active ? 1 : 0);
  return Array.from({ length: workers }, (_, w) => {
    if (w >= active) return null;
    // The open model's connections come with its arrivals: `connections` is the closed model's.
    const connections = open !== null ? plan.connections : share(plan.connections, w);
    const part = open === null ? 0 : share(open.maxConcurrent, w) / open.maxConcurrent;
    return {
      ...plan,
      connections,
      requests: plan.requests > 0 ? share(plan.requests, w) : 0,
      rate: plan.rate > 0 ? (open !== null ? plan.rate * part : (plan.rate * connections) / plan.connections) : 0,
      ...(open !== null ? { open: { ...open, cps: open.cps * part, maxConcurrent: share(open.maxConcurrent, w) } } : {}),
      ...(plan.seed !== undefined ? { seed: plan.seed + w } : {}),
    };
  });
}

/** Each worker's share of a tcp://, udp:// or icmp:// load's rate, as the run splits it (appsOf); [] for other modes. */
export function probeRateShares(m: ModePlan, workers: number): number[] {
  if (m.kind === 'tcp_connect') return splitClient(m, workers).map((s) => s?.rate ?? 0);
  if (m.kind === 'udp_client' || m.kind === 'icmp_client') return splitClient({ ...m, connections: workers }, workers).map((s) => s?.rate ?? 0);
  return [];
}

/** The plan's flows: its profile's, or the one its fields describe. */
function flowsOf(plan: ClientPlan): FlowPlan[] {
  return (
    plan.flows ?? [
      {
        name: 'flow0', weight: 1, srcLo: 0, srcHi: 0, dstIp: plan.dstIp, dstPort: plan.dstPort, dscp: 0, cc: -1, host: plan.host, weights: [1], pipeline: plan.pipeline,
        requestsPerConnection: plan.perConn, thinkTimeUs: 0, requests: [{ method: plan.method, path: plan.path, headers: {}, bodyFile: plan.bodyFile, bodySize: 0 }],
      },
    ]
  );
}

/**
 * Worker i's capture file: with one worker the file itself, else
 * `run.pcap` -> `run.w0.pcap` (before the extension, or appended without one).
 */
export function workerPcapPath(path: string, w: number, workers: number): string {
  if (workers === 1) return path;
  const slash = path.lastIndexOf('/');
  const dot = path.lastIndexOf('.');
  return dot > slash + 1 ? `${path.slice(0, dot)}.w${w}${path.slice(dot)}` : `${path}.w${w}`;
}

/** The application of each worker, as the workers' pipeline config names it. */
function appsOf(plan: RunPlan, workers: number): StackAppConfig[] {
  const m = plan.mode;
  const same = (app: StackAppConfig): StackAppConfig[] => Array.from({ length: workers }, () => app);
  // A client load: one inbound steering ring per worker, for the replies fanout/RSS brings another worker.
  const client = (): { steer: SteerConfig; durationUs: number; drainUs: number } => ({
    steer: { rings: Array.from({ length: workers }, () => createFrameRing(STEER_RING_FRAMES)), addrs: plan.addrs.map(({ lo, hi }) => ({ lo, hi })) },
    durationUs: plan.durationS * 1e6,
    drainUs: plan.drainS * 1e6,
  });
  switch (m.kind) {
    case 'stack':
      return same({ kind: 'none' });
    case 'http':
      return same({ kind: 'http', port: m.port, status: m.status, bodySize: m.bodySize, tls: m.tls, timeouts: m.timeouts, countTargets: m.countTargets, keylog: plan.keylog?.path ?? null });
    case 'sink':
    case 'source':
      return same({ kind: m.kind, port: m.port, bytes: m.bytes, sha256: m.sha256 });
    case 'listen':
      return same({ kind: 'listen', listeners: m.listeners, status: m.status, bodySize: m.bodySize, tls: m.tls, keylog: plan.keylog?.path ?? null });
    case 'client': {
      if (m.saveBody !== null && workers > 1) {
        throw new InvalidOptionError('--save-body', 'not with --workers above 1: which response is the last one is not defined across workers (use --sha256 or --expect-sha256)');
      }
      const c = client();
      const flowShape = flowsOf(m).map((f) => f.requests.length);
      return splitClient(m, workers).map((share) => ({ kind: 'client', share, keylog: plan.keylog?.path ?? null, flowShape, ...c }));
    }
    case 'tcp_connect': {
      const c = client();
      // The profile stays here: the workers run its plan.
      const { profile, ...p } = m;
      return splitClient(p, workers).map((share) => ({ kind: 'tcp_connect', share, ...c }));
    }
    case 'udp_client':
    case 'icmp_client': {
      const c = client();
      const { kind, profile, ...p } = m;
      // The datagrams split as connections would, one per worker; the tag tells this run's answers from a stale one's.
      const tag = randomInt(1, 2 ** 31);
      return splitClient({ ...p, connections: workers }, workers).map((share) => ({ kind, share, tag, ...c }));
    }
    default:
      throw new InvalidOptionError('--workers', 'no such mode');
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
    if (!/^[1-9]\d*$/.test(q)) throw new InvalidOptionError('--port', `queues=${q} is not a positive integer`);
    if (Number(q) !== workers) throw new InvalidOptionError('--workers', `${workers}: the port has queues=${q}; each queue needs a worker (give queues=${workers} or leave it out)`);
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

function liveLine(s: number, total: StackMetricGroups, per: StackMetricGroups[], listeners: ListenerPlan[] | null): string {
  const n = total.net;
  let drops = 0;
  for (const [k, v] of Object.entries(n)) if (DROP.test(k)) drops += v;
  let line =
    `[${s.toFixed(0).padStart(4)}s] ${per.length} worker${per.length > 1 ? 's' : ''} | rx ${n.rxFrames} (${per.map((w) => w.net.rxFrames).join('/')}) tx ${n.txFrames}` +
    ` | arp req ${n.arpRxRequests} rep ${n.arpTxReplies} garp ${n.arpTxGratuitous} resolved ${n.arpResolved}` +
    ` | echo ${n.icmpRxEchoRequests}/${n.icmpTxEchoReplies} | drops ${drops}`;
  if (total.tcp !== null) line += ` | tcp opens ${total.tcp.passiveOpens} (${per.map((w) => w.tcp?.passiveOpens ?? 0).join('/')}) est ${total.tcp.established}`;
  const a = total.app;
  if (listeners !== null) line += ` | ${listenLive(listeners, a ?? {})}`;
  else if (a !== null) line += a.requests !== undefined ? ` | http req ${a.requests} resp ${a.responses} err ${a.errors}` : ` | accepted ${a.accepted} in ${a.bytesIn} out ${a.bytesOut}`;
  return line;
}

/** The summed client counters (CLIENT_KEYS) as the single-threaded load's snapshot. */
function clientSnapshot(a: Record<string, number>, us: number): LoadSnapshot {
  return {
    us,
    attempts: a.attempts,
    connects: a.connects,
    connectFailures: a.connectFailures,
    cancelled: a.cancelled,
    opening: a.opening,
    requests: a.requests,
    responses: a.responses,
    failedRequests: a.failedRequests,
    inFlight: a.inFlight,
    failures: CLIENT_FAIL_KEYS.map((k) => a[camel(k)] ?? 0),
    status: [0, a.status1xx, a.status2xx, a.status3xx, a.status4xx, a.status5xx],
    bodyBytes: a.bodyBytes,
    verifyOk: a.verifyOk,
    verifyFailed: a.verifyFailed,
    arrivals: a.arrivals,
    dropped: a.dropped,
    peakOpen: a.peakOpen,
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

  constructor(
    private readonly set: WorkerSet,
    private readonly verify: boolean,
    private readonly tls: boolean,
    private readonly flows: FlowPlan[],
    private readonly watch: RateWatch,
  ) {
    this.prev = clientSnapshot(groupStackMetrics(set.metrics(), 'client').app ?? {}, performance.now() * 1000);
  }

  /** `interval`: the response times of the second (RunRecord's). */
  liveLine(s: number, total: StackMetricGroups, per: StackMetricGroups[], interval: Histogram): string {
    const cur = clientSnapshot(total.app ?? {}, performance.now() * 1000);
    const line = clientLiveLine(s, this.prev, cur, interval);
    const warning = this.watch.check(s, this.prev, cur);
    this.prev = cur;
    const col = (k: string): string => per.map((w) => w.app?.[k] ?? 0).join('/');
    return `${line} | workers resp ${col('responses')} steered ${col('steeredOut')}${warning === null ? '' : `\n${warning}`}`;
  }

  /** The summary of the whole load: the longest worker's time, the summed counts, the merged latencies. */
  summary(total: StackMetricGroups, per: StackMetricGroups[]): ReturnType<typeof summarize> {
    const elapsedUs = Math.max(0, ...per.map((w) => w.app?.elapsedUs ?? 0));
    // --sha256: the digest of the worker whose load ended last (every worker's, for one resource).
    const reports = this.set.reports() as (StackWorkerReport | undefined)[];
    let last = -1;
    per.forEach((w, i) => {
      if (reports[i]?.sha256 != null && (last < 0 || (w.app?.elapsedUs ?? 0) >= (per[last].app?.elapsedUs ?? 0))) last = i;
    });
    const hist = this.set.histogram(PH_RESPONSE) ?? new Histogram(LATENCY_PARAMS);
    // Each reason's last message: the first worker's that has one.
    const lastFailure = CLIENT_FAIL_KEYS.map((_, i) => reports.map((r) => r?.lastFailure[i] ?? '').find((m) => m !== '') ?? '');
    return summarize(elapsedUs, clientSnapshot(total.app ?? {}, 0), hist, this.verify, last < 0 ? null : (reports[last]?.sha256 ?? null), lastFailure, this.flowSummaries(reports));
  }

  /** Each flow's summary: its summed slab counters, its response phase, its entries' histograms merged from the workers' reports. */
  private flowSummaries(reports: (StackWorkerReport | undefined)[]): FlowSummary[] {
    const m = this.set.metrics();
    const merged = (pick: (r: StackWorkerReport) => string | undefined): Histogram => {
      const h = new Histogram(LATENCY_PARAMS);
      for (const r of reports) {
        const enc = r === undefined ? undefined : pick(r);
        if (enc !== undefined) h.add(Histogram.decode(enc));
      }
      return h;
    };
    const snaps: FlowSnapshot[] = this.flows.map((f, i) => {
      const v = (k: string): number => m[`app_flow${i}_${k}`] ?? 0;
      return {
        name: f.name, arrivals: v('arrivals'), dropped: v('dropped'), attempts: v('attempts'), connects: v('connects'), connectFailures: v('connect_failures'),
        requests: v('requests'), responses: v('responses'), failedRequests: v('failed_requests'),
        entries: f.requests.map((_, j) => ({ requests: v(`entry${j}_requests`), responses: v(`entry${j}_responses`) })),
      };
    });
    // A flow's response times are its response phase (one flow's: the total's).
    const flowLat = this.flows.map((_, i) => this.set.histogram(phaseSlot(PH_RESPONSE, i, this.flows.length)) ?? new Histogram(LATENCY_PARAMS));
    // A flow of one request entry: the entry's are the flow's.
    const entryLat = this.flows.map((f, i) => (f.requests.length > 1 ? f.requests.map((_, j) => merged((r) => r.entryLatency[i]?.[j])) : [flowLat[i]]));
    return flowSummaries(snaps, flowLat, entryLat, this.flows);
  }

  /** The --json `app` of the client: the summary, with TLS figures as the single-threaded client gives them. */
  json(total: StackMetricGroups, per: StackMetricGroups[]): Record<string, unknown> {
    const out: Record<string, unknown> = { ...this.summary(total, per) };
    const a = total.app ?? {};
    if (this.tls) {
      const errs = (this.set.reports() as (StackWorkerReport | undefined)[]).map((r) => r?.tlsLastError ?? null);
      out.tls = { handshakes: a.tlsHandshakes, full: a.tlsFull, resumed: a.tlsResumed, failures: a.tlsFailures, abandoned: a.tlsAbandoned, lastError: errs.find((e) => e !== null) ?? null };
    }
    out.steering = { out: a.steeredOut, in: a.steeredIn, drops: a.steerDrops };
    return out;
  }
}

/**
 * The TCP connect-rate, UDP and ICMP loads' view of the workers: the live
 * line from the summed counters and the interval of the merged histogram
 * (connect times or round-trip times), and the summary.
 */
class ProbeReport {
  private prev: Record<string, number>;
  private prevUs = performance.now() * 1000;
  /** The phase its times are: a TCP connect's, or a datagram's round trip (response). */
  readonly phase: number;

  constructor(
    private readonly set: WorkerSet,
    private readonly kind: ProbeKind,
    app: StackAppConfig,
    /** Connections of a TCP connect run (per-stream throughput). */
    private readonly connections: number,
  ) {
    this.prev = groupStackMetrics(set.metrics(), app).app ?? {};
    this.phase = kind === 'tcp_connect' ? PH_CONNECT : PH_RESPONSE;
  }

  /** `interval`: the second's times of its phase (RunRecord's). */
  liveLine(s: number, total: StackMetricGroups, per: StackMetricGroups[], interval: Histogram): string {
    const cur = total.app ?? {};
    const now = performance.now() * 1000;
    const line = probeLiveLine(this.kind, s, (now - this.prevUs) / 1e6, this.prev, cur, interval);
    this.prev = cur;
    this.prevUs = now;
    return per.length > 1 ? `${line} | steered ${per.map((w) => w.app?.steeredOut ?? 0).join('/')}` : line;
  }

  json(total: StackMetricGroups, per: StackMetricGroups[]): Record<string, unknown> {
    const a = total.app ?? {};
    const elapsedUs = Math.max(0, ...per.map((w) => w.app?.elapsedUs ?? 0));
    const out = probeSummary(this.kind, a, elapsedUs, this.set.histogram(this.phase) ?? new Histogram(LATENCY_PARAMS), this.connections);
    out.steering = { out: a.steeredOut, in: a.steeredIn, drops: a.steerDrops };
    return out;
  }

  summary(total: StackMetricGroups, per: StackMetricGroups[]): string {
    return probeSummaryText(this.kind, this.json(total, per));
  }
}

function nonZero(r: Record<string, number> | null): string {
  if (r === null) return '';
  return Object.entries(r)
    .filter(([, v]) => v !== 0)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}

/** The result's keys that the --json file always had. */
function baseResult(seconds: number, total: StackMetricGroups, per: StackMetricGroups[], app: unknown): Omit<RunResult, 'meta' | 'profile' | 'phases' | 'flows' | 'series'> {
  return { seconds: Number(seconds.toFixed(3)), workers: per.length, counters: total.net, port: total.port, tcp: total.tcp, udp: total.udp, app, loop: total.loop, perWorker: per };
}

/** A server's counters with its requests by target (--count-targets), summed over the workers' reports once they closed. */
function withTargets(app: Record<string, number> | null, set: WorkerSet): unknown {
  const reports = (set.reports() as (StackWorkerReport | undefined)[]).filter((r) => r?.targets != null);
  if (app === null || reports.length === 0) return app;
  const targets: Record<string, number> = {};
  for (const r of reports) for (const [k, n] of Object.entries(r?.targets ?? {})) targets[k] = (targets[k] ?? 0) + n;
  return { ...app, targets };
}

/** How long the peers get to finish the close handshake before what is left is reset. */
const CLOSE_GRACE_MS = 1000;
/** How often management looks whether the stop's current phase is over. */
const STOP_POLL_MS = 20;

/** The port could not open (a bad spec is a usage error; a failed open, exit 2) or a worker failed to start. */
function startError(e: unknown): Error {
  if (e instanceof PortSpecError) {
    const usage = e.code === 'syntax' || e.code === 'unknown-driver' || e.code === 'unknown-option';
    const msg = e.message.replace(/^--port: /, '');
    return usage ? new InvalidOptionError('--port', msg) : new PortOpenError(msg);
  }
  if (e instanceof VaigaiError) return e;
  return new WorkerFailedError(e instanceof Error ? e.message : String(e));
}

/**
 * Runs the plan on `workers` worker threads (1 by default) until
 * SIGINT/SIGTERM, `opts.signal`, the plan's duration, a worker failing, or
 * (--client) every worker's load finished; stops as the header says and
 * returns the counters. Rejects (after stopping every worker) when one failed.
 */
export async function runSession(plan: RunPlan, workers = 1, opts: RunWorkersOptions = {}): Promise<WorkersRunResult> {
  if (!Number.isInteger(workers) || workers < 1 || workers > MAX_WORKERS) throw new InvalidOptionError('--workers', `${workers} is not an integer in 1..${MAX_WORKERS}`);
  const log = opts.log ?? ((l: string) => console.log(l));
  const apps = appsOf(plan, workers);
  const kind = apps[0].kind;
  const client = kind === 'client' && plan.mode.kind === 'client' ? plan.mode : null;
  // Every client load (HTTP, TCP connect, UDP, ICMP) ends when its shares finish, and records latencies.
  const bounded = isClientKind(kind);
  const listeners = plan.mode.kind === 'listen' ? plan.mode.listeners : null;
  let spec: string;
  let port: ReturnType<typeof parsePortSpec>;
  try {
    port = parsePortSpec(plan.portSpec, plan.ealArgs);
    spec = specWithQueues(plan.portSpec, workers);
  } catch (e) {
    throw startError(e);
  }
  const { driver, options } = port;
  const cores = assignCores(opts.cpus ?? processCpus(), workers);
  const cpus = Array.from({ length: workers }, (_, i) => cores.workers[i] ?? -1);
  const arp = opts.arp ?? newArpCache();
  const config = (app: StackAppConfig): StackPipelineConfig => ({
    mac: plan.mac,
    addrs: plan.addrs,
    routes: plan.routes,
    arpTable: arp.words.buffer as SharedArrayBuffer,
    arpCacheSize: arp.maxEntries,
    maxConns: plan.maxConns,
    tcpWindow: plan.tcpWindow,
    cc: plan.cc,
    ecn: plan.ecn,
    app,
  });
  const pcapPath = plan.pcapPath;
  const pcapFiles = pcapPath === null ? [] : cpus.map((_, i) => workerPcapPath(pcapPath, i, workers));
  let set: WorkerSet;
  try {
    set = await WorkerSet.start({
      workers: cpus.map((cpu, i) => ({
        port: spec,
        queueId: i,
        cpu,
        config: config(apps[i]),
        ...(pcapPath === null ? {} : { pcap: pcapFiles[i] }),
        ...(opts.trace === undefined ? {} : { trace: opts.trace(i) }),
      })),
      pipeline: new URL('./stack_pipeline.js', import.meta.url),
      poolSlots: POOL_SLOTS,
      metrics: stackMetricNames(apps[0]),
      // Each latency phase, for the whole load and per flow.
      ...(bounded ? { histogram: LATENCY_PARAMS, histogramSlots: phaseSlots(client === null ? 1 : flowsOf(client).length) } : {}),
      eal: plan.ealArgs,
      loop: opts.loop ?? {},
      // What the workers print (a client's plan line) goes where the live lines go.
      ...(opts.log !== undefined ? { output: opts.log } : {}),
    });
  } catch (e) {
    throw startError(e);
  }
  const owned = plan.addrs.reduce((n, a) => n + a.hi - a.lo + 1, 0);
  const pinned = set.pinnedCpus;
  log(
    `vaigai: ${driver} ${options.iface ?? options.name ?? driver} mac ${macToString(set.metricsOf(0)[MAC_METRIC])}, ${owned} addresses ` +
      plan.addrs.map((a) => `${ipToString(a.lo)}-${ipToString(a.hi)}/${a.prefixLen}${a.vlan >= 0 ? ` vlan ${a.vlan}` : ''}`).join(', ') +
      `; ${workers} worker${workers > 1 ? 's' : ''} on CPU${workers > 1 ? 's' : ''} ${pinned.map((c) => (c < 0 ? 'any' : String(c))).join(',')} (management on ${cores.management.join(',')})`,
  );
  logger().info({ event: 'start', driver, mode: plan.mode.kind, workers, addresses: owned, durationS: plan.durationS }, 'run started');
  const clientReport = client === null ? null : new ClientReport(set, client.expectSha256 !== null, client.tls !== null, flowsOf(client), new RateWatch(rateTargets(client)));
  const probeReport =
    kind === 'tcp_connect' || kind === 'udp_client' || kind === 'icmp_client'
      ? new ProbeReport(set, kind, apps[0], plan.mode.kind === 'tcp_connect' ? plan.mode.connections : 0)
      : null;

  const started = performance.now();
  const seconds = (): number => (performance.now() - started) / 1000;
  const snapshot = (): { total: StackMetricGroups; per: StackMetricGroups[] } => ({
    total: groupStackMetrics(set.metrics(), apps[0]),
    per: Array.from({ length: workers }, (_, w) => groupStackMetrics(set.metricsOf(w), apps[0])),
  });
  const appJson = (total: StackMetricGroups, per: StackMetricGroups[]): unknown =>
    clientReport?.json(total, per) ?? probeReport?.json(total, per) ?? (listeners !== null ? listenJson(listeners, total.app ?? {}) : withTargets(total.app, set));
  const conns = (): number => {
    let n = 0;
    for (let w = 0; w < workers; w++) n += set.metricsOf(w)[CONNS_METRIC];
    return n;
  };
  const flowNames = client === null ? [] : flowsOf(client).map((f) => f.name);
  const record = new RunRecord({
    set,
    flows: flowNames,
    argv: opts.argv ?? process.argv.slice(2),
    ...(client !== null ? { profile: client.profile } : {}),
  });
  const ndjson = plan.ndjsonPath === null ? null : new NdjsonOut(plan.ndjsonPath);
  const hdrLog = plan.hdrLogPath === null ? null : new HdrLogOut(plan.hdrLogPath, record.startedAt);
  ndjson?.meta(record.meta());
  ndjson?.config({ mode: plan.mode.kind, durationS: plan.durationS, workers, ...(client !== null ? { profile: client.profile } : {}) });
  ndjson?.start(record.startedAt);
  const table = opts.view === 'table' ? new LiveTable(process.stdout) : null;
  // The interval the live line's percentiles are of: the client's response times, or the probe's own phase.
  const livePhase = probeReport?.phase ?? PH_RESPONSE;
  let sampledS = 0;
  /** Closes the series entry up to now (and its interval in the --hdr-log). */
  const sample = (total: StackMetricGroups, s: number): SeriesEntry => {
    const e = record.sample(s, total, conns());
    hdrLog?.interval(sampledS, s, record.intervals, flowNames, record.flowIntervals);
    sampledS = s;
    return e;
  };
  let aborted = false;
  const report = (): void => {
    const { total, per } = snapshot();
    const s = seconds();
    const e = sample(total, s);
    ndjson?.progress(e, appJson(total, per));
    const interval = record.intervalOf(livePhase) ?? new Histogram(LATENCY_PARAMS);
    const line = clientReport?.liveLine(s, total, per, interval) ?? probeReport?.liveLine(s, total, per, interval) ?? liveLine(s, total, per, listeners);
    if (table === null) log(line);
    else table.render(s, e, record.intervals, line.split('\n').slice(1));
    // --abort-on-fail: a threshold failed for good on the totals so far stops the run as SIGINT would.
    const bad = plan.abortOnFail && !aborted ? failedForGoodOn(plan.thresholds, record.result(baseResult(s, total, per, appJson(total, per)))) : null;
    if (bad !== null) {
      aborted = true;
      log(`vaigai: threshold ${bad.expr} failed at ${s.toFixed(0)} s (--abort-on-fail): stopping the run`);
      onStop();
    }
  };
  const allFinished = (): boolean => {
    for (let w = 0; w < workers; w++) if (set.metricsOf(w).app_finished !== 1) return false;
    return true;
  };
  const openConns = (): number => {
    let n = 0;
    for (let w = 0; w < workers; w++) n += Math.max(0, set.metricsOf(w)[OPEN_CONNS_METRIC]);
    return n;
  };

  // Stop requests: the first stops arrivals and drains; a second aborts at once.
  let stops = 0;
  let wake: () => void = () => {};
  const onStop = (): void => {
    stops++;
    wake();
  };
  const signals = opts.signals ?? true;
  if (signals) {
    process.on('SIGINT', onStop);
    process.on('SIGTERM', onStop);
  }
  if (opts.signal?.aborted === true) stops++;
  else opts.signal?.addEventListener('abort', onStop, { once: true });
  const waitUntil = async (done: () => boolean, ms: number, stopsAtEntry: number): Promise<void> => {
    const end = performance.now() + ms;
    while (!done() && stops === stopsAtEntry && performance.now() < end) {
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(STOP_POLL_MS, Math.max(0, end - performance.now())));
        wake = () => {
          clearTimeout(t);
          r();
        };
      });
    }
    wake = () => {};
  };

  opts.onStart?.({
    workers: set,
    apps,
    result: () => {
      const { total, per } = snapshot();
      return record.result(baseResult(seconds(), total, per, appJson(total, per)));
    },
  });
  let failedMsg = '';
  let stopReason: string;
  const ticker = setInterval(() => {
    report();
    const failed = set.failed();
    if (failed.length > 0) {
      failedMsg = failed.map((f) => `worker ${f.workerIdx}: ${f.error}`).join('; ');
      wake();
    }
  }, 1000);
  try {
    // Running: until a stop request, a failed worker, the time bound, or (--client) every share finished
    // (the client keeps its own time bound, and drains past it).
    const durationMs = !bounded && plan.durationS > 0 ? plan.durationS * 1000 : Infinity;
    await waitUntil(() => failedMsg !== '' || (bounded && allFinished()), durationMs, 0);
    stopReason = failedMsg !== '' ? 'worker failed' : stops > 0 ? 'stop requested' : bounded ? 'load finished' : 'duration';
    logger().info({ event: 'stopping', reason: stopReason, seconds: Number(seconds().toFixed(3)) }, 'run stopping');
    if (stops < 2 && failedMsg === '') {
      // Stopping: no new arrivals; what is in flight gets --drain seconds.
      const atStop = stops;
      await set.update({ op: 'stop' satisfies StopOp }).catch(() => []);
      if (bounded) await waitUntil(() => failedMsg !== '' || allFinished(), plan.drainS * 1000, atStop);
      // Closing: FIN on every connection; a second later, what is left is reset by the workers' close.
      if (stops === atStop && failedMsg === '') {
        await set.update({ op: 'close' satisfies StopOp }).catch(() => []);
        await waitUntil(() => failedMsg !== '' || openConns() === 0, CLOSE_GRACE_MS, atStop);
      }
    }
  } finally {
    clearInterval(ticker);
    process.off('SIGINT', onStop);
    process.off('SIGTERM', onStop);
    opts.signal?.removeEventListener('abort', onStop);
  }

  const results = await set.stop();
  const { total, per } = snapshot();
  const s = seconds();
  logger().info({ event: 'stop', reason: stopReason, seconds: Number(s.toFixed(3)) }, 'run stopped');
  // No last live line: the summary below tells the end. The series' last entry runs to the end.
  sample(total, s);
  hdrLog?.close();
  table?.clear();
  const result = record.result(baseResult(s, total, per, appJson(total, per)));
  const senders = mergeTcpSenders((set.reports() as (StackWorkerReport | undefined)[]).map((r) => r?.tcpStats));
  if (senders !== null) result.tcpSenders = senders;
  const thresholds = evaluateThresholds(plan.thresholds, result);
  if (thresholds.length > 0) result.thresholds = thresholds;
  if (plan.jsonPath !== null) writeFileSync(plan.jsonPath, JSON.stringify(result, null, 1));
  ndjson?.result(result);
  log(`summary: ${nonZero(total.net) || 'no traffic'}`);
  if (total.tcp !== null) log(`tcp: ${nonZero(total.tcp) || 'no traffic'}`);
  if (senders !== null) log(tcpSendersText(senders));
  if (total.udp !== null && nonZero(total.udp) !== '') log(`udp: ${nonZero(total.udp)}`);
  const clientSummary = clientReport?.summary(total, per) ?? null;
  if (clientSummary !== null) log(summaryText('client', clientSummary));
  else if (probeReport !== null) log(probeReport.summary(total, per));
  else if (listeners !== null) for (const [name, r] of Object.entries(listenJson(listeners, total.app ?? {}))) log(`listen ${name}: ${nonZero(r) || 'no traffic'}`);
  else if (total.app !== null) log(`app: ${nonZero(total.app) || 'no traffic'}`);
  if (Object.keys(result.phases).length > 0) log(phaseReport(result.phases));
  if (thresholds.length > 0) log(thresholdsText(thresholds));
  const targets = (withTargets(total.app, set) as { targets?: Record<string, number> } | null)?.targets;
  if (targets !== undefined) log(`targets: ${Object.entries(targets).map(([k, n]) => `${k} ${n}`).join(', ')}`);
  for (const r of results) {
    const st = r.stats;
    const app = per[r.workerIdx]?.app;
    const share = client === null || app === undefined || app === null ? '' : `, ${app.responses} responses, steered ${app.steeredOut} out ${app.steeredIn} in (${app.steerDrops} dropped)`;
    const pcap = r.pcapFrames === undefined || r.pcapFrames < 0 ? '' : `, pcap ${r.pcapFrames} frames to ${pcapFiles[r.workerIdx]}`;
    log(`worker ${r.workerIdx}: ${r.error ?? `rx ${st?.loop_rx_frames} frames, ${st?.loop_parks} parks, tx drops ${st?.tx_batch_dropped}, slots in use ${st?.slots_in_use}${share}${pcap}`}`);
  }
  if (pcapPath !== null) log(`pcap: ${results.reduce((n, r) => n + Math.max(0, r.pcapFrames ?? 0), 0)} frames to ${pcapFiles.join(', ')}`);
  if (plan.keylog !== null) {
    const lines = (set.reports() as (StackWorkerReport | undefined)[]).reduce((n, r) => n + (r?.keylogLines ?? 0), 0);
    log(`sslkeylog: ${lines} secrets to ${plan.keylog.path}`);
  }
  const errors = results.filter((r) => r.error !== null);
  const failure = failedMsg || errors.map((r) => `worker ${r.workerIdx}: ${r.error}`).join('; ');
  ndjson?.end(new Date(), failure === '' ? null : failure);
  if (failure !== '') throw new WorkerFailedError(failure);
  return { seconds: s, total, perWorker: per, results, cpus: pinned, client: clientSummary, pcapFiles, result };
}
