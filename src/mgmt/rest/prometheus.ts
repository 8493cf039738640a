/**
 * GET /metrics: the generator's counters in the Prometheus text exposition
 * format (version 0.0.4), written by hand: every worker's slab counter by
 * name with a `worker` label (and `flow`, `entry` for a load's per-flow
 * counters), and the latency as Prometheus histograms per phase. Written
 * rather than built with prom-client: a scrape reads the slabs once and
 * formats them, with no registry to keep in step with the slab layout; the
 * two were measured against each other (docs/PERFORMANCE.md, bench/metrics.ts).
 *
 * Counters are the workers' cumulative slab values (`_total`); the few that
 * are levels (connections open, requests in flight, a load's elapsed time)
 * are gauges. A new load starts its counters from zero, which Prometheus
 * reads as a counter reset.
 */
import type { Histogram } from '../../telemetry/histogram.js';
import type { MetricsSnapshot } from '../../telemetry/metrics.js';
import type { ControllerState, RunView } from '../../run/controller.js';
import { MAC_METRIC } from '../../run/stack_pipeline.js';

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Slab counters that are levels, not counts (matched as the name's last words). */
const GAUGES = /(^|_)(open|opening|in_flight|peak_open|elapsed_us|finished|open_conns)$/;
/** A load's flow and request-entry counters (session.ts flowMetricNames). */
const FLOW = /^app_flow(\d+)_(?:entry(\d+)_)?(.+)$/;
/** Latency bucket bounds in seconds: 50 µs to 60 s. */
export const LATENCY_BUCKETS_S = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
];
const LATENCY_BUCKETS_US = LATENCY_BUCKETS_S.map((s) => s * 1e6);

/** Where one slab counter goes: its family, the labels after `worker`, and the factor to its unit. */
interface Placement {
  family: number;
  labels: string;
  scale: number;
}

/**
 * A slab name in Prometheus's conventions: microseconds in seconds (the
 * base unit), and "us" that is not a unit ("not for us") said otherwise, as
 * promtool's lint asks.
 */
function promName(name: string): { name: string; scale: number } {
  const n = name.replace(/_for_us(_|$)/, '_for_host$1');
  return /_us$/.test(n) ? { name: `${n.slice(0, -3)}_seconds`, scale: 1e-6 } : { name: n, scale: 1 };
}

/** How a layout's names map to metric families, computed once per layout. */
interface Plan {
  families: { name: string; type: 'counter' | 'gauge'; help: string }[];
  /** By the layout's names, in order; null for a name not exported. */
  placements: (Placement | null)[];
  names: string[];
}

/** A slab counter as a Prometheus sample: its family, its labels beside `worker`, the factor to the family's unit. */
export interface FamilyOf {
  family: string;
  type: 'counter' | 'gauge';
  /** `flow` (and `entry`) of a load's per-flow counters. */
  labels: Record<string, string>;
  help: string;
  scale: number;
}

/** What a metric family is called for slab counter `slab`, and its labels. */
export function familyOf(slab: string, flows: readonly string[]): FamilyOf {
  const gauge = GAUGES.test(slab);
  const { name, scale } = promName(slab);
  const type = gauge ? 'gauge' : 'counter';
  const m = FLOW.exec(name);
  if (m !== null) {
    const labels: Record<string, string> = { flow: flows[Number(m[1])] ?? `flow${m[1]}` };
    if (m[2] !== undefined) labels.entry = m[2];
    const base = m[2] === undefined ? `vaigai_app_flow_${m[3]}` : `vaigai_app_flow_entry_${m[3]}`;
    return { family: gauge ? base : `${base}_total`, type, labels, help: `${m[3].replace(/_/g, ' ')} of the flow${m[2] === undefined ? '' : "'s request entry"}, per worker`, scale };
  }
  return { family: gauge ? `vaigai_${name}` : `vaigai_${name}_total`, type, labels: {}, help: `${slab.replace(/_/g, ' ')}, per worker`, scale };
}

function planOf(names: string[], flows: readonly string[]): Plan {
  const families: Plan['families'] = [];
  const index = new Map<string, number>();
  const placements = names.map((n): Placement | null => {
    if (n === MAC_METRIC) return null;
    const f = familyOf(n, flows);
    let i = index.get(f.family);
    if (i === undefined) {
      i = families.length;
      index.set(f.family, i);
      families.push({ name: f.family, type: f.type, help: f.help });
    }
    return { family: i, labels: Object.entries(f.labels).map(([k, v]) => `,${k}="${v}"`).join(''), scale: f.scale };
  });
  return { families, placements, names };
}

/** Each view's plan: a session's slab layout and flows never change while it lives. */
const plans = new WeakMap<RunView, Plan>();

function planFor(view: RunView, per: MetricsSnapshot[]): Plan {
  let plan = plans.get(view);
  if (plan === undefined) {
    plan = planOf(per.length === 0 ? [] : Object.keys(per[0]), view.flows);
    plans.set(view, plan);
  }
  return plan;
}

/** One histogram family sample block: cumulative buckets, sum and count, in seconds. */
function histogramLines(out: string[], family: string, phase: string, h: Histogram): void {
  const counts = h.cumulative(LATENCY_BUCKETS_US);
  for (let i = 0; i < counts.length; i++) out.push(`${family}_bucket{phase="${phase}",le="${LATENCY_BUCKETS_S[i]}"} ${counts[i]}`);
  out.push(`${family}_bucket{phase="${phase}",le="+Inf"} ${h.totalCount}`);
  out.push(`${family}_sum{phase="${phase}"} ${(h.mean * h.totalCount) / 1e6}`);
  out.push(`${family}_count{phase="${phase}"} ${h.totalCount}`);
}

/** The exposition of `view` (null: between sessions) in state `state`. */
export function exposition(view: RunView | null, state: ControllerState, phases: Record<string, Histogram>): string {
  const out: string[] = [
    '# HELP vaigai_load_running Whether a load runs now (1) or the counters are the last load\'s or the idle stack\'s (0).',
    '# TYPE vaigai_load_running gauge',
    `vaigai_load_running ${state === 'running' || state === 'stopping' ? 1 : 0}`,
  ];
  if (view === null) return `${out.join('\n')}\n`;
  const per = view.perWorker();
  const plan = planFor(view, per);
  const samples: string[][] = plan.families.map(() => []);
  for (let w = 0; w < per.length; w++) {
    const m = per[w];
    for (let i = 0; i < plan.names.length; i++) {
      const p = plan.placements[i];
      if (p !== null) samples[p.family].push(`{worker="${w}"${p.labels}} ${p.scale === 1 ? m[plan.names[i]] : m[plan.names[i]] * p.scale}`);
    }
  }
  plan.families.forEach((f, i) => {
    out.push(`# HELP ${f.name} ${f.help}.`, `# TYPE ${f.name} ${f.type}`);
    for (const s of samples[i]) out.push(f.name + s);
  });
  const entries = Object.entries(phases);
  if (entries.length > 0) {
    out.push('# HELP vaigai_latency_seconds Latency by phase (response: request written to its answer read), all workers.', '# TYPE vaigai_latency_seconds histogram');
    for (const [phase, h] of entries) histogramLines(out, 'vaigai_latency_seconds', phase, h);
  }
  return `${out.join('\n')}\n`;
}
