/**
 * GET /metrics written by hand (src/mgmt/rest/prometheus.ts) against
 * prom-client, in one run, on the same view: the counters of a client load
 * with 4 flows on W workers (every slab counter the run publishes) and a
 * response-time histogram of 100,000 values. prom-client is used as its
 * documentation shows for values kept elsewhere: one Counter or Gauge per
 * family with `worker`/`flow`/`entry` labels, filled in each metric's
 * collect() at scrape time, and a Histogram fed the bucket counts. Each side
 * formats SCRAPES scrapes; the figure is µs of the management thread per
 * scrape (the workers never take part in a scrape: it reads their slabs).
 *
 *   node dist/bench/metrics.js [workers] [scrapes]
 */
import { Counter, Gauge, Histogram as PromHistogram, Registry } from 'prom-client';
import { LATENCY_PARAMS } from '../src/engine/load.js';
import { exposition, familyOf, LATENCY_BUCKETS_S } from '../src/mgmt/rest/prometheus.js';
import type { RunView } from '../src/run/controller.js';
import { stackMetricNames, type StackAppConfig } from '../src/run/stack_pipeline.js';
import { LOOP_METRICS } from '../src/run/worker_loop.js';
import { Histogram } from '../src/telemetry/histogram.js';
import type { MetricsSnapshot } from '../src/telemetry/metrics.js';

const WORKERS = Number(process.argv[2] ?? 8);
const SCRAPES = Number(process.argv[3] ?? 2000);
const FLOWS = ['web', 'api', 'static', 'login'];

/** A client app of 4 flows of one request entry each, as the slab names it. */
const app = { kind: 'client', flowShape: FLOWS.map(() => 1) } as unknown as StackAppConfig;
const names = [...LOOP_METRICS, ...stackMetricNames(app)];
const per: MetricsSnapshot[] = Array.from({ length: WORKERS }, (_, w) => Object.fromEntries(names.map((n, i) => [n, (i * 7919 + w * 104729) % 1e7])));
const hist = new Histogram(LATENCY_PARAMS);
for (let i = 0; i < 100_000; i++) hist.record(50 + ((i * 2654435761) % 200_000));
const view: RunView = { kind: 'load', flows: FLOWS, json: () => ({}) as never, perWorker: () => per, phases: () => ({ response: hist }) };

/** The same families through prom-client, filled at collect() from the view. */
function promRegistry(withHistogram: boolean): Registry {
  const reg = new Registry();
  const families = new Map<string, { gauge: boolean; members: { slab: string; labels: Record<string, string>; scale: number }[] }>();
  for (const n of names) {
    if (n === 'stack_mac') continue;
    const f = familyOf(n, FLOWS);
    const fam = families.get(f.family) ?? { gauge: f.type === 'gauge', members: [] };
    fam.members.push({ slab: n, labels: f.labels, scale: f.scale });
    families.set(f.family, fam);
  }
  for (const [name, f] of families) {
    const labelNames = ['worker', ...Object.keys(f.members[0].labels)];
    const fill = (set: (labels: Record<string, string>, v: number) => void): void => {
      const p = view.perWorker();
      for (let w = 0; w < p.length; w++) {
        for (const m of f.members) set({ worker: String(w), ...m.labels }, p[w][m.slab] * m.scale);
      }
    };
    if (f.gauge) {
      new Gauge({ name, help: name, labelNames, registers: [reg], collect() { fill((l, v) => this.set(l, v)); } });
    } else {
      new Counter({ name, help: name, labelNames, registers: [reg], collect() { this.reset(); fill((l, v) => this.inc(l, v)); } });
    }
  }
  if (!withHistogram) return reg;
  new PromHistogram({
    name: 'vaigai_latency_seconds',
    help: 'latency by phase',
    labelNames: ['phase'],
    buckets: LATENCY_BUCKETS_S,
    registers: [reg],
    collect() {
      // prom-client has no way to load counts: the nearest is observing each bucket's values at its bound.
      this.reset();
      const h = view.phases().response as Histogram;
      const cum = h.cumulative(LATENCY_BUCKETS_S.map((s) => s * 1e6));
      let prev = 0;
      cum.forEach((c, i) => {
        for (let k = prev; k < c; k++) this.observe({ phase: 'response' }, LATENCY_BUCKETS_S[i]);
        prev = c;
      });
    },
  });
  return reg;
}

async function time(label: string, scrape: () => Promise<string> | string): Promise<{ us: number; bytes: number }> {
  let bytes = 0;
  for (let i = 0; i < 50; i++) bytes = (await scrape()).length;
  const t0 = performance.now();
  for (let i = 0; i < SCRAPES; i++) await scrape();
  const us = ((performance.now() - t0) * 1000) / SCRAPES;
  console.log(`${label.padEnd(26)} ${us.toFixed(0).padStart(7)} µs/scrape  ${bytes} bytes`);
  return { us, bytes };
}

console.log(`${WORKERS} workers, ${names.length} slab counters each, ${FLOWS.length} flows, ${hist.totalCount} latency values; ${SCRAPES} scrapes each`);
const counters = promRegistry(false);
const hand = await time('by hand, counters', () => exposition(view, 'running', {}));
const prom = await time('prom-client, counters', () => counters.metrics());
const all = promRegistry(true);
const handH = await time('by hand, + histogram', () => exposition(view, 'running', { response: hist }));
const promH = await time('prom-client, + histogram', () => all.metrics());
console.log(`prom-client / by hand: ${(prom.us / hand.us).toFixed(1)}x the time (counters), ${(promH.us / handH.us).toFixed(1)}x with the histogram`);
