/**
 * Thresholds measured against a run's result (the --json object): at the
 * end, for the result's `thresholds` list and exit code 4, and each second on
 * the totals so far for --abort-on-fail. Percentiles come from the phase's
 * HdrHistogram (any percentile, not only those the result lists).
 */
import { Histogram } from '../telemetry/histogram.js';
import type { RunResult, ThresholdResult } from './result_schema.js';
import { failedForGood, meets, type RatioName, type Threshold } from './threshold.js';

/** What thresholds read of a result: the phases and the client's summary. */
export type ResultView = Pick<RunResult, 'phases' | 'app'>;

/** The HTTP client's summary fields thresholds read (src/engine/report.ts, LoadSummary). */
interface ClientView {
  seconds: number;
  requests: number;
  responses: number;
  failedRequests: number;
  /** Open model: arrivals on the schedule, and those dropped at the concurrency cap. */
  arrivals: number;
  dropped: number;
  connections: { attempted: number; ok: number; failed: number };
}

function clientOf(r: ResultView): ClientView | null {
  const a = r.app as Partial<ClientView> | null | undefined;
  return a?.connections !== undefined && typeof a.responses === 'number' ? (a as ClientView) : null;
}

/** A ratio's numerator and denominator. */
function ratioOf(c: ClientView, name: RatioName): [number, number] {
  if (name === 'errors') return [c.failedRequests, c.requests];
  if (name === 'connect_errors') return [c.connections.failed, c.connections.attempted];
  return [c.dropped, c.arrivals];
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
        const [bad, all] = ratioOf(c, m.name);
        return all > 0 ? bad / all : null;
      }
      case 'failures':
        return c === null ? null : ratioOf(c, m.name)[0];
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

/** Each threshold measured on `r`, in order: the result's `thresholds`. */
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
