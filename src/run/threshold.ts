/**
 * Thresholds, as k6 users write them: `http.p99<5ms`, `errors<0.1%`,
 * `rps>9000`. The grammar:
 *
 *   threshold := metric op value
 *   metric    := phase "." stat | rate | ratio ["." "count"]
 *   phase     := connect | tls | ttfb | response | schedule | wire_rtt | server | http (= response)
 *   stat      := pN (N in 0..100: p50, p95, p99.9 ...) | avg | min | max | count
 *   rate      := rps | cps                      (per second over the load; plain number)
 *   ratio     := errors (failed requests / requests) | connect_errors (failed / attempted connections)
 *              | dropped (open model: arrivals dropped at the concurrency cap / arrivals)
 *                with ".count": how many (plain integer)
 *   op        := < | <= | > | >= | ==
 *   value     := number [us | ms | s]  for a latency statistic (a unit is required)
 *              | number [%]            for a ratio (a plain number is a fraction: 0.001 = 0.1%)
 *              | number                for rates and counts
 *
 * A threshold is parsed before any traffic; what cannot be used is refused
 * with the part at fault.
 */
import { InvalidThresholdError } from '../common/errors.js';

export const PHASES = ['connect', 'tls', 'ttfb', 'response', 'schedule', 'wire_rtt', 'server'] as const;
export type Op = '<' | '<=' | '>' | '>=' | '==';

/** The ratios, each with its count (`errors.count`). */
export const RATIOS = ['errors', 'connect_errors', 'dropped'] as const;
export type RatioName = (typeof RATIOS)[number];

/** What a threshold reads: a phase's statistic (µs, or a count), a rate, a ratio or a count of failures. */
export type Measure =
  | { kind: 'phase'; phase: string; stat: 'avg' | 'min' | 'max' | 'count' | number }
  | { kind: 'rate'; name: 'rps' | 'cps' }
  | { kind: 'ratio'; name: RatioName }
  | { kind: 'failures'; name: RatioName };

export interface Threshold {
  /** As the user wrote it (trimmed). */
  expr: string;
  /** The metric, canonical (`http` spelled `response`). */
  metric: string;
  measure: Measure;
  op: Op;
  /** In the measure's base unit: µs for latencies, a fraction for ratios. */
  limit: number;
}

const SHAPE = /^\s*([A-Za-z_][A-Za-z0-9_]*)(?:\.([A-Za-z0-9_.()]+))?\s*(<=|>=|==|<|>)\s*(\S+?)\s*$/;
const VALUE = /^([+]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?)(us|µs|ms|s|%)?$/i;
const TIME_UNITS: Record<string, number> = { us: 1, µs: 1, ms: 1e3, s: 1e6 };

/** Parses one threshold; `where` names the option or the profile field in a refusal. */
export function parseThreshold(text: string, where: string): Threshold {
  const expr = text.trim();
  const refuse = (part: string, why: string): never => {
    throw new InvalidThresholdError(where, expr, part, why);
  };
  const m = SHAPE.exec(expr);
  if (m === null) return refuse(expr, 'not METRIC OP VALUE (e.g. http.p99<5ms, errors<0.1%, rps>9000; OP is <, <=, >, >= or ==)');
  const [, name, stat, op, valueText] = m as unknown as [string, string, string | undefined, Op, string];
  const measure = measureOf(name, stat, refuse);
  const v = VALUE.exec(valueText);
  if (v === null) return refuse(valueText, 'not a number with an optional unit (us, ms, s or %)');
  const n = Number(v[1]);
  const unit = v[2]?.toLowerCase();
  let limit = n;
  if (measure.kind === 'phase' && measure.stat !== 'count') {
    if (unit === undefined || unit === '%') return refuse(valueText, `a latency needs a time unit: us, ms or s (e.g. ${n}ms)`);
    limit = n * TIME_UNITS[unit];
  } else if (measure.kind === 'ratio') {
    if (unit !== undefined && unit !== '%') return refuse(valueText, `${measure.name} is a ratio: give a percentage (0.1%) or a fraction (0.001)`);
    limit = unit === '%' ? n / 100 : n;
    if (limit > 1) return refuse(valueText, `${measure.name} is a ratio of at most 1 (100%)`);
  } else if (unit !== undefined) {
    return refuse(valueText, `${name}${stat === undefined ? '' : `.${stat}`} takes a plain number, no unit`);
  }
  const metric = measure.kind === 'phase' ? `${measure.phase}.${typeof measure.stat === 'number' ? `p${measure.stat}` : measure.stat}` : `${name}${stat === undefined ? '' : `.${stat}`}`;
  return { expr, metric, measure, op, limit };
}

function measureOf(name: string, stat: string | undefined, refuse: (part: string, why: string) => never): Measure {
  if (name === 'rps' || name === 'cps') {
    if (stat !== undefined) refuse(`${name}.${stat}`, `${name} is a rate over the load: it takes no statistic`);
    return { kind: 'rate', name };
  }
  if ((RATIOS as readonly string[]).includes(name)) {
    const ratio = name as RatioName;
    if (stat === undefined) return { kind: 'ratio', name: ratio };
    if (stat === 'count') return { kind: 'failures', name: ratio };
    return refuse(`${name}.${stat}`, `${name} is a ratio; its only statistic is count`);
  }
  const phase = name === 'http' ? 'response' : name;
  if (!(PHASES as readonly string[]).includes(phase)) {
    return refuse(name, `no such metric: give a phase (${PHASES.join(', ')}, http) with a statistic, or rps, cps, ${RATIOS.join(', ')}`);
  }
  if (stat === undefined) return refuse(name, `give a statistic: ${name}.p99, ${name}.avg, ${name}.max ...`);
  if (stat === 'avg' || stat === 'min' || stat === 'max' || stat === 'count') return { kind: 'phase', phase, stat };
  const p = /^p\(?(\d+(?:\.\d+)?)\)?$/.exec(stat);
  const q = p === null ? NaN : Number(p[1]);
  if (!(q >= 0 && q <= 100)) return refuse(`${name}.${stat}`, 'no such statistic: pN (N in 0..100, e.g. p50, p95, p99.9), avg, min, max or count');
  return { kind: 'phase', phase, stat: q };
}

/** Parses a list of thresholds; `whereOf(i)` names the i-th's option or profile field. */
export function parseThresholds(texts: readonly string[], whereOf: (i: number) => string): Threshold[] {
  return texts.map((t, i) => parseThreshold(t, whereOf(i)));
}

/** Whether `value` meets the threshold. */
export function meets(t: Threshold, value: number): boolean {
  switch (t.op) {
    case '<':
      return value < t.limit;
    case '<=':
      return value <= t.limit;
    case '>':
      return value > t.limit;
    case '>=':
      return value >= t.limit;
    case '==':
      return value === t.limit;
  }
}

/**
 * Whether a failed threshold can only stay failed as the run goes on: counts
 * and maxima only grow, minima only fall. Percentiles, means, rates and
 * ratios can recover, so --abort-on-fail does not stop on them mid-run.
 */
export function failedForGood(t: Threshold, value: number): boolean {
  const m = t.measure;
  const grows = m.kind === 'failures' || (m.kind === 'phase' && (m.stat === 'count' || m.stat === 'max' || m.stat === 100));
  const falls = m.kind === 'phase' && (m.stat === 'min' || m.stat === 0);
  if (grows) return t.op === '<' || t.op === '<=' || (t.op === '==' && value > t.limit);
  if (falls) return t.op === '>' || t.op === '>=' || (t.op === '==' && value < t.limit);
  return false;
}
