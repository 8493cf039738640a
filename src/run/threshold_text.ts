/**
 * Thresholds as the summary (and the HTML report) print them: each with pass
 * or FAIL and the value measured, in the unit of its metric.
 */
import { fmtUs } from '../engine/report.js';
import type { ThresholdResult } from './result_schema.js';
import { RATIOS } from './threshold.js';

/** A threshold's value (or limit) in its metric's unit: µs as us/ms/s, ratios as %, rates per second. */
export function fmtThresholdValue(metric: string, v: number | null): string {
  if (v === null) return 'no data';
  if (metric.endsWith('.count')) return String(v);
  if ((RATIOS as readonly string[]).includes(metric)) return `${Number((v * 100).toPrecision(4))}%`;
  if (metric === 'rps' || metric === 'cps') return `${v.toFixed(1)}/s`;
  return fmtUs(v);
}

/** The summary's lines: `  thresholds   pass http.p99<5ms (1.23ms)`, one per threshold. */
export function thresholdsText(list: readonly ThresholdResult[]): string {
  return list
    .map((t, i) => `  ${i === 0 ? 'thresholds  ' : '            '} ${t.ok ? 'pass' : 'FAIL'} ${t.expr} (${fmtThresholdValue(t.metric, t.value)})`)
    .join('\n');
}
