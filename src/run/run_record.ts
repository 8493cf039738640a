/**
 * What management keeps of a run as it goes (src/run/result_schema.ts): once
 * a second a series entry (the counters' change over the second, the wire
 * bytes, the connections open, and each phase's interval histogram, the
 * difference of two merges of the workers' shared phase histograms), and at
 * the end the result (the phases of the whole run and of each flow, with
 * their HdrHistogram encodings). The last series entry runs from the last
 * tick to the end, so the series sums to the totals.
 */
import { readFileSync } from 'node:fs';
import { cpus, hostname, release } from 'node:os';
import { FAIL_KEYS } from '../app/http11/failures.js';
import { Histogram } from '../telemetry/histogram.js';
import { mergedPhases, PHASES } from '../telemetry/phases.js';
import type { FlowSeriesEntry, IntervalLatency, PhaseMap, PhaseStats, ResultMeta, RunResult, SeriesEntry } from './result_schema.js';
import { CLIENT_FAIL_KEYS, camel, FLOW_KEYS, type StackMetricGroups } from './stack_pipeline.js';
import type { WorkerSet } from './workers.js';

const VERSION = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** A phase's figures; null when it holds no value. */
export function phaseStats(h: Histogram): PhaseStats | null {
  if (h.totalCount === 0) return null;
  const p = (q: number): number => h.valueAtPercentile(q);
  return { unit: 'us', count: h.totalCount, min: h.min, mean: Math.round(h.mean), p50: p(50), p90: p(90), p99: p(99), p999: p(99.9), max: h.max, hdr: h.encode() };
}

function phaseMap(hs: Histogram[]): PhaseMap {
  const out: PhaseMap = {};
  hs.forEach((h, i) => {
    const s = phaseStats(h);
    if (s !== null) out[PHASES[i]] = s;
  });
  return out;
}

/** The counters a series entry takes the change of, from a summed slab. */
interface Totals {
  requests: number;
  responses: number;
  connects: number;
  bytesIn: number;
  bytesOut: number;
  /** Failures so far by reason. */
  errors: Record<string, number>;
}

/** The failure counters of the tcp://, udp:// and icmp:// loads, by the names they count them under. */
const PROBE_ERROR_KEYS = ['refused', 'timeout', 'reset', 'unreachable'];

function totalsOf(g: StackMetricGroups): Totals {
  const a = g.app ?? {};
  const errors: Record<string, number> = {};
  if (a.requests !== undefined && a.attempts !== undefined) CLIENT_FAIL_KEYS.forEach((k, i) => (errors[FAIL_KEYS[i]] = a[camel(k)] ?? 0));
  else for (const k of PROBE_ERROR_KEYS) if (a[k] !== undefined) errors[k] = a[k];
  return {
    // HTTP loads and servers count requests and responses; udp:// and icmp:// datagrams sent and answered.
    requests: a.requests ?? a.sent ?? 0,
    responses: a.responses ?? a.received ?? 0,
    // tcp:// counts its connections established; a server's are the ones it accepted.
    connects: a.connects ?? a.established ?? g.tcp?.passiveOpens ?? 0,
    bytesIn: g.port.rxBytes ?? 0,
    bytesOut: g.port.txBytes ?? 0,
    errors,
  };
}

/** A phase interval's figures, by phase name, for the phases that counted values. */
function intervalLatency(hs: readonly Histogram[]): Record<string, IntervalLatency> {
  const out: Record<string, IntervalLatency> = {};
  hs.forEach((h, i) => {
    if (h.totalCount > 0) out[PHASES[i]] = { count: h.totalCount, p50: h.valueAtPercentile(50), p90: h.valueAtPercentile(90), p99: h.valueAtPercentile(99), max: h.max };
  });
  return out;
}

/** Each phase's interval: the difference of two merges (the first merge is its own). */
function intervalsOf(cur: Histogram[], prev: Histogram[] | null): Histogram[] {
  return prev === null ? cur.map((h) => h.clone()) : cur.map((h, i) => Histogram.difference(h, prev[i]));
}

/** The flow counters (of FLOW_KEYS) a series entry takes the change of. */
const FLOW_SERIES_KEYS = ['requests', 'responses', 'connects', 'connect_failures', 'failed_requests', 'dropped'] as const satisfies readonly (typeof FLOW_KEYS)[number][];
type FlowTotals = Record<(typeof FLOW_SERIES_KEYS)[number], number>;

/** Flow `i`'s counter `key` (a FLOW_KEYS name) in a summed slab. */
function flowMetric(m: Record<string, number>, i: number, key: (typeof FLOW_KEYS)[number]): number {
  return m[`app_flow${i}_${key}`] ?? 0;
}

export interface RunRecordOptions {
  set: WorkerSet;
  /** The client's flow names (none for other runs). */
  flows: string[];
  argv: string[];
  /** The run's profile, for the result (client runs). */
  profile?: unknown;
}

export class RunRecord {
  readonly series: SeriesEntry[] = [];
  readonly startedAt = new Date();
  /** Each phase's histogram at the last sample (merged over the workers; none before the first), and its interval since the one before. */
  private prevPhases: Histogram[] | null = null;
  private interval: Histogram[] = [];
  /** The counters at the last sample: from 0, as the workers may have started their load before this was made. */
  private prev: Totals = { requests: 0, responses: 0, connects: 0, bytesIn: 0, bytesOut: 0, errors: {} };
  private prevS = 0;
  /** With several flows: each flow's phases and counters at the last sample. */
  private prevFlowPhases: Histogram[][] | null = null;
  private prevFlows: FlowTotals[] | null = null;
  private flowInterval: Histogram[][] = [];

  constructor(private readonly opts: RunRecordOptions) {}

  /** Every phase of the whole run so far (empty histograms without shared ones). */
  private merged(flow = -1): Histogram[] {
    const shared = this.opts.set.sharedHistograms;
    if (shared === null) return [];
    return mergedPhases(shared, this.opts.flows.length, flow);
  }

  /** The last sample's interval histogram of phase `p` (null before the first, or without histograms). */
  intervalOf(p: number): Histogram | null {
    return this.interval[p] ?? null;
  }

  /** The phases' interval histograms of the last sample, by phase index. */
  get intervals(): readonly Histogram[] {
    return this.interval;
  }

  /** With several flows, each flow's phase interval histograms of the last sample (by flow, then phase index); else none. */
  get flowIntervals(): readonly (readonly Histogram[])[] {
    return this.flowInterval;
  }

  /** Closes the series entry ending at `s` seconds since the start, with the summed counters `g` and `concurrency`. */
  sample(s: number, g: StackMetricGroups, concurrency: number): SeriesEntry {
    const cur = this.merged();
    this.interval = intervalsOf(cur, this.prevPhases);
    this.prevPhases = cur;
    const now = totalsOf(g);
    const p = this.prev;
    const dt = Math.max(1e-3, s - this.prevS);
    const errors: Record<string, number> = {};
    for (const [k, n] of Object.entries(now.errors)) if (n - (p.errors[k] ?? 0) > 0) errors[k] = n - (p.errors[k] ?? 0);
    const latency = intervalLatency(this.interval);
    const e: SeriesEntry = {
      t: this.series.length + 1,
      requests: now.requests - p.requests,
      responses: now.responses - p.responses,
      connects: now.connects - p.connects,
      rps: Math.round((now.responses - p.responses) / dt),
      cps: Math.round((now.connects - p.connects) / dt),
      concurrency,
      bytesIn: now.bytesIn - p.bytesIn,
      bytesOut: now.bytesOut - p.bytesOut,
      errors,
      latency,
    };
    if (this.opts.flows.length > 1) e.flows = this.flowsSample(dt);
    this.series.push(e);
    this.prev = now;
    this.prevS = s;
    return e;
  }

  /** Each flow's part of the entry being closed: its counters' change and its phases' interval. */
  private flowsSample(dt: number): FlowSeriesEntry[] {
    const m = this.opts.set.metrics();
    const cur = this.opts.flows.map((_, i) => this.merged(i));
    const now = this.opts.flows.map((_, i) => Object.fromEntries(FLOW_SERIES_KEYS.map((k) => [k, flowMetric(m, i, k)])) as FlowTotals);
    const prevPhases = this.prevFlowPhases;
    const prev = this.prevFlows;
    this.flowInterval = cur.map((hs, i) => intervalsOf(hs, prevPhases?.[i] ?? null));
    const out = this.opts.flows.map((name, i): FlowSeriesEntry => {
      const d = (k: (typeof FLOW_SERIES_KEYS)[number]): number => now[i][k] - (prev?.[i][k] ?? 0);
      return {
        name,
        requests: d('requests'),
        responses: d('responses'),
        connects: d('connects'),
        connectFailures: d('connect_failures'),
        failedRequests: d('failed_requests'),
        dropped: d('dropped'),
        rps: Math.round(d('responses') / dt),
        cps: Math.round(d('connects') / dt),
        latency: intervalLatency(this.flowInterval[i]),
      };
    });
    this.prevFlowPhases = cur;
    this.prevFlows = now;
    return out;
  }

  /** What is known of the run at its start. */
  meta(): Omit<ResultMeta, 'endedAt' | 'clocks'> {
    return {
      tool: 'vaigai',
      version: VERSION,
      startedAt: this.startedAt.toISOString(),
      argv: this.opts.argv,
      host: { hostname: hostname(), cpus: cpus().length, node: process.version, kernel: release() },
    };
  }

  /** The result: today's --json keys (`base`), then meta, profile, phases, flows and series. */
  result(base: Omit<RunResult, 'meta' | 'profile' | 'phases' | 'flows' | 'series'>): RunResult {
    const phases = phaseMap(this.merged());
    const m = this.opts.set.metrics();
    const n = this.opts.flows.length;
    const flows = this.opts.flows.map((name, i) => ({
      name,
      counters: Object.fromEntries(FLOW_KEYS.map((k) => [camel(k), flowMetric(m, i, k)])),
      phases: n > 1 ? phaseMap(this.merged(i)) : phases,
    }));
    const clocks: ResultMeta['clocks'] = {};
    const wire = this.opts.set.wireClocks();
    for (const k of Object.keys(phases)) clocks[k] = k === 'connect' || k === 'wire_rtt' ? wire.tcp : k === 'ttfb' || k === 'response' || k === 'server' ? wire.http : 'stack';
    const meta: ResultMeta = { ...this.meta(), endedAt: new Date().toISOString(), clocks };
    return { ...base, meta, ...(this.opts.profile !== undefined ? { profile: this.opts.profile } : {}), phases, flows, series: this.series };
  }
}
