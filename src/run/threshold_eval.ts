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

/**
 * The counts thresholds read, whichever load ran: the HTTP client's summary
 * (src/engine/report.ts), tcp://'s connections, udp:// and icmp://'s
 * datagrams as requests (sent), responses (answered) and failures (lost).
 * A count the load does not keep is absent.
 */
interface Counts {
  seconds: number;
  requests?: number;
  responses?: number;
  failedRequests?: number;
  attempted?: number;
  connected?: number;
  connectFailed?: number;
  /** Open model: arrivals on the schedule, and those dropped at the concurrency cap. */
  arrivals?: number;
  dropped?: number;
}

function countsOf(app: unknown): Counts | null {
  if (app === null || typeof app !== 'object') return null;
  const a = app as Record<string, number> & { connections?: Record<string, number>; failed?: Record<string, number> };
  if (typeof a.seconds !== 'number') return null;
  const c = a.connections;
  if (c !== undefined) {
    return { seconds: a.seconds, requests: a.requests, responses: a.responses, failedRequests: a.failedRequests, attempted: c.attempted, connected: c.ok, connectFailed: c.failed, arrivals: a.arrivals, dropped: a.dropped };
  }
  if (a.failed !== undefined) return { seconds: a.seconds, attempted: a.attempts, connected: a.established, connectFailed: Object.values(a.failed).reduce((x, y) => x + y, 0) };
  return { seconds: a.seconds, requests: a.sent, responses: a.received, failedRequests: a.lost };
}

/** A ratio's numerator and denominator, undefined where the load does not count them. */
function ratioOf(c: Counts, name: RatioName): [number | undefined, number | undefined] {
  if (name === 'errors') return [c.failedRequests, c.requests];
  if (name === 'connect_errors') return [c.connectFailed, c.attempted];
  return [c.dropped, c.arrivals];
}

/** Measures thresholds on one result, decoding each phase's histogram once. */
class Measurer {
  private readonly hists = new Map<string, Histogram>();

  constructor(private readonly r: ResultView) {}

  value(t: Threshold): number | null {
    const m = t.measure;
    const c = countsOf(this.r.app);
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
      case 'rate': {
        const n = m.name === 'rps' ? c?.responses : c?.connected;
        return c === null || n === undefined || !(c.seconds > 0) ? null : n / c.seconds;
      }
      case 'ratio': {
        const [bad, all] = c === null ? [] : ratioOf(c, m.name);
        return bad === undefined || all === undefined || all === 0 ? null : bad / all;
      }
      case 'failures':
        return (c === null ? undefined : ratioOf(c, m.name)[0]) ?? null;
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
