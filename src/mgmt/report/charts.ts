/**
 * The report's charts as data: each a shared x axis and its lines, from the
 * result's per-second `series` (rates, concurrency, errors by reason, each
 * phase's percentiles) and each phase's HdrHistogram (the latency
 * distribution, decoded here, at render time). The page draws them with
 * uPlot (page_script.ts).
 */
import { Histogram } from '../../telemetry/histogram.js';
import type { RunResult } from '../../run/result_schema.js';

/** How the page formats a chart's values. */
export type Unit = 'us' | 'per_s' | 'count';

export interface ChartLine {
  label: string;
  /** null: no value that second (the line breaks). */
  values: (number | null)[];
}

export interface Chart {
  id: string;
  title: string;
  /** 'time': seconds since the start; 'percentile': -log10(1 - q), labelled as percentiles. */
  x: 'time' | 'percentile';
  xs: number[];
  unit: Unit;
  lines: ChartLine[];
}

/** Where the distribution's points sit: q = 1 - 10^-x for x = 0, 0.125 ... 5 (0% to 99.999%). */
const DIST_STEPS = 40;
const DIST_DECADES = 5;

/** Every chart the result has data for. */
export function chartsOf(r: RunResult): Chart[] {
  const charts: Chart[] = [];
  const series = r.series;
  if (series.length > 0) {
    const t = series.map((p) => p.t);
    charts.push({ id: 'rates', title: 'Rates', x: 'time', xs: t, unit: 'per_s', lines: [{ label: 'responses/s', values: series.map((p) => p.rps) }, { label: 'connections/s', values: series.map((p) => p.cps) }] });
    charts.push({ id: 'concurrency', title: 'Open connections', x: 'time', xs: t, unit: 'count', lines: [{ label: 'open', values: series.map((p) => p.concurrency) }] });
    const reasons = [...new Set(series.flatMap((p) => Object.keys(p.errors)))].sort();
    const errorLines = reasons.length === 0 ? [{ label: 'errors', values: series.map(() => 0) }] : reasons.map((k) => ({ label: k, values: series.map((p) => p.errors[k] ?? 0) }));
    charts.push({ id: 'errors', title: 'Errors per second, by reason', x: 'time', xs: t, unit: 'count', lines: errorLines });
    const phases = [...new Set(series.flatMap((p) => Object.keys(p.latency)))];
    for (const ph of phaseOrder(phases)) {
      const stat = (k: 'p50' | 'p90' | 'p99' | 'max'): (number | null)[] => series.map((p) => (p.latency[ph]?.count ? p.latency[ph][k] : null));
      charts.push({
        id: `latency-${ph}`, title: `${ph}: latency over time`, x: 'time', xs: t, unit: 'us',
        lines: [{ label: 'p50', values: stat('p50') }, { label: 'p90', values: stat('p90') }, { label: 'p99', values: stat('p99') }, { label: 'max', values: stat('max') }],
      });
    }
    charts.push(...flowCharts(r, t));
  }
  const dist = distribution(r);
  if (dist !== null) charts.push(dist);
  return charts;
}

/** A load of several flows: each flow's responses per second, and its response p99, second by second. */
function flowCharts(r: RunResult, t: number[]): Chart[] {
  const names = r.flows.map((f) => f.name);
  if (names.length < 2 || !r.series.every((p) => p.flows?.length === names.length)) return [];
  const part = (i: number) => r.series.map((p) => (p.flows ?? [])[i]);
  const rate = names.map((label, i) => ({ label, values: part(i).map((f) => f.rps) }));
  const p99 = names.map((label, i) => ({ label, values: part(i).map((f) => (f.latency.response?.count ? f.latency.response.p99 : null)) }));
  return [
    { id: 'flow-rates', title: 'Responses per second, by flow', x: 'time', xs: t, unit: 'per_s', lines: rate },
    { id: 'flow-latency', title: 'Response p99, by flow', x: 'time', xs: t, unit: 'us', lines: p99 },
  ];
}

/** The latency distribution of every phase: its value at each percentile, from its histogram. */
function distribution(r: RunResult): Chart | null {
  const phases = phaseOrder(Object.keys(r.phases)).filter((p) => r.phases[p].count > 0);
  if (phases.length === 0) return null;
  const xs = Array.from({ length: DIST_STEPS + 1 }, (_, i) => (i * DIST_DECADES) / DIST_STEPS);
  const lines = phases.map((p) => {
    const h = Histogram.decode(r.phases[p].hdr);
    return { label: p, values: xs.map((x) => h.valueAtPercentile(100 * (1 - 10 ** -x))) };
  });
  return { id: 'distribution', title: 'Latency distribution by phase', x: 'percentile', xs, unit: 'us', lines };
}

/** The contract's order of phases (as a request lives them), then any others. */
const ORDER = ['schedule', 'connect', 'wire_rtt', 'tls', 'ttfb', 'server', 'response'];
export function phaseOrder(names: string[]): string[] {
  const rank = (n: string): number => (ORDER.includes(n) ? ORDER.indexOf(n) : ORDER.length);
  return [...names].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}
