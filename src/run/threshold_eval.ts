/**
 * Thresholds measured against a run's result (the --json object): at the
 * end, for the result's `thresholds` list and exit code 4, and each second on
 * the totals so far for --abort-on-fail. Percentiles come from the phase's
 * HdrHistogram (any percentile, not only those the result lists).
 */
import { Histogram } from '../telemetry/histogram.js';
import { failedForGood, meets, type Op, type Threshold } from './threshold.js';

/** A phase's statistics as the result holds them (µs). */
interface PhaseView {
  count: number;
  min: number;
  mean: number;
  max: number;
  hdr: string;
}

/** What thresholds read of a result. */
export interface ResultView {
  phases?: Record<string, PhaseView>;
  app?: unknown;
}

/** One entry of the result's `thresholds`. */
export interface ThresholdResult {
  expr: string;
  metric: string;
  op: Op;
  limit: number;
  /** The measured value (µs, a fraction, a rate or a count); null when the run has none (no such phase, no requests). */
  value: number | null;
  ok: boolean;
}

/** The HTTP client's summary fields thresholds read (src/engine/report.ts, LoadSummary). */
interface ClientView {
  seconds: number;
  requests: number;
  responses: number;
  failedRequests: number;
  connections: { attempted: number; ok: number; failed: number };
  latencyUs: { min: number; mean: number; p50: number; p90: number; p99: number; p999: number; max: number };
}

function clientOf(r: ResultView): ClientView | null {
  const a = r.app as Partial<ClientView> | null | undefined;
  return a?.connections !== undefined && typeof a.responses === 'number' ? (a as ClientView) : null;
}

/** A response-time statistic from the client summary's percentiles (a result without `phases`), or null. */
function fromSummary(c: ClientView, stat: 'avg' | 'min' | 'max' | 'count' | number): number | null {
  if (stat === 'count') return c.responses;
  if (c.responses === 0) return null;
  const l = c.latencyUs;
  const known: Record<string, number> = { avg: l.mean, min: l.min, max: l.max, 50: l.p50, 90: l.p90, 99: l.p99, 99.9: l.p999, 100: l.max, 0: l.min };
  return known[String(stat)] ?? null;
}

/** Measures thresholds on one result, decoding each phase's histogram once. */
class Measurer {
  private readonly hists = new Map<string, Histogram>();

  constructor(private readonly r: ResultView) {}

  value(t: Threshold): number | null {
    const m = t.measure;
    const c = clientOf(this.r);
    switch (m.kind) {
      case 'phase': {
        if (this.r.phases === undefined) return c === null || m.phase !== 'response' ? null : fromSummary(c, m.stat);
        const ph = this.r.phases[m.phase];
        if (ph === undefined || ph.count === 0) return null;
        if (m.stat === 'count') return ph.count;
        if (m.stat === 'avg') return ph.mean;
        if (m.stat === 'min') return ph.min;
        if (m.stat === 'max') return ph.max;
        return this.histogram(m.phase, ph.hdr).valueAtPercentile(m.stat);
      }
      case 'rate':
        if (c === null || !(c.seconds > 0)) return null;
        return (m.name === 'rps' ? c.responses : c.connections.ok) / c.seconds;
      case 'ratio': {
        if (c === null) return null;
        const [bad, all] = m.name === 'errors' ? [c.failedRequests, c.requests] : [c.connections.failed, c.connections.attempted];
        return all > 0 ? bad / all : null;
      }
      case 'failures':
        if (c === null) return null;
        return m.name === 'errors' ? c.failedRequests : c.connections.failed;
    }
  }

  private histogram(phase: string, hdr: string): Histogram {
    let h = this.hists.get(phase);
    if (h === undefined) {
      h = Histogram.decode(hdr);
      this.hists.set(phase, h);
    }
    return h;
  }
}

/** Each threshold measured on `r`, in order. */
export function evaluateThresholds(list: readonly Threshold[], r: ResultView): ThresholdResult[] {
  const m = new Measurer(r);
  return list.map((t) => {
    const value = m.value(t);
    return { expr: t.expr, metric: t.metric, op: t.op, limit: t.limit, value, ok: value !== null && meets(t, value) };
  });
}

/** The first threshold failed for good on the totals so far (--abort-on-fail), or null. */
export function failedForGoodOn(list: readonly Threshold[], r: ResultView): ThresholdResult | null {
  const m = new Measurer(r);
  for (const t of list) {
    const value = m.value(t);
    if (value !== null && !meets(t, value) && failedForGood(t, value)) {
      return { expr: t.expr, metric: t.metric, op: t.op, limit: t.limit, value, ok: false };
    }
  }
  return null;
}
