/**
 * What a run shows a person on a terminal: a compact table redrawn in place
 * each second (rates, connections open, failures by reason so far, and each
 * phase's p50/p99 over the second), and at the end the latency distribution
 * of every phase, as wrk prints its own. Off a terminal the run prints its
 * plain live lines instead (scripts and tests parse those).
 */
import { fmtBytes, fmtRate, fmtUs } from '../engine/report.js';
import { Histogram } from '../telemetry/histogram.js';
import { PHASES } from '../telemetry/phases.js';
import type { PhaseMap, SeriesEntry } from './result_schema.js';

const ESC = '\x1b[';

export class LiveTable {
  /** Lines drawn last time (moved back over and cleared before the next draw). */
  private drawn = 0;
  private readonly errors = new Map<string, number>();

  constructor(private readonly out: NodeJS.WritableStream) {}

  /** Redraws the table for the second ending at `s`; `notes` (warnings) go under it. */
  render(s: number, e: SeriesEntry, intervals: readonly Histogram[], notes: readonly string[]): void {
    for (const [k, n] of Object.entries(e.errors)) this.errors.set(k, (this.errors.get(k) ?? 0) + n);
    const errs = [...this.errors].map(([k, n]) => `${k} ${n}`);
    const lines = [
      `vaigai ${s.toFixed(0).padStart(5)}s | last second: conns ${e.connects} new (${fmtRate(e.cps)}/s), ${e.concurrency} open | req ${e.requests} resp ${e.responses} (${fmtRate(e.rps)}/s) | in ${fmtBytes(e.bytesIn)} out ${fmtBytes(e.bytesOut)}`,
      `errors so far: ${errs.length === 0 ? 'none' : errs.join(', ')}`,
      `${'phase'.padEnd(10)}${'count/s'.padStart(10)}${'p50'.padStart(10)}${'p99'.padStart(10)}${'max'.padStart(10)}`,
    ];
    intervals.forEach((h, i) => {
      if (h.totalCount === 0) return;
      lines.push(`${PHASES[i].padEnd(10)}${String(h.totalCount).padStart(10)}${fmtUs(h.valueAtPercentile(50)).padStart(10)}${fmtUs(h.valueAtPercentile(99)).padStart(10)}${fmtUs(h.max).padStart(10)}`);
    });
    lines.push(...notes);
    this.out.write(`${this.back()}${lines.join('\n')}\n`);
    this.drawn = lines.length;
  }

  /** Takes the table off the screen (the summary follows in its place). */
  clear(): void {
    if (this.drawn > 0) this.out.write(this.back());
    this.drawn = 0;
  }

  private back(): string {
    return this.drawn === 0 ? '' : `${ESC}${this.drawn}A\r${ESC}J`;
  }
}

/** The percentiles of the final report. */
const REPORT_PERCENTILES = [50, 75, 90, 99, 99.9] as const;

/** Each phase's latency distribution, as the last lines of the summary. */
export function phaseReport(phases: PhaseMap): string {
  const head = `${'  by phase'.padEnd(12)}${'count'.padStart(10)}${REPORT_PERCENTILES.map((p) => `p${p}`.padStart(10)).join('')}${'max'.padStart(10)}`;
  const rows = Object.entries(phases).map(([name, st]) => {
    const h = Histogram.decode(st.hdr);
    return `${`    ${name}`.padEnd(12)}${String(st.count).padStart(10)}${REPORT_PERCENTILES.map((p) => fmtUs(h.valueAtPercentile(p)).padStart(10)).join('')}${fmtUs(st.max).padStart(10)}`;
  });
  return [head, ...rows].join('\n');
}
