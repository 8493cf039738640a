/**
 * The parts of a run's result (the --json object) the report reads, and the
 * check that a parsed file is one. Every part but `seconds` is optional: a
 * server run has no client summary, a run without thresholds no list.
 */
import type { ThresholdResult } from '../../run/threshold_eval.js';

export interface PhaseStatsView {
  unit: 'us';
  count: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  hdr: string;
}

export interface SeriesPointView {
  t: number;
  requests: number;
  responses: number;
  connects: number;
  rps: number;
  cps: number;
  concurrency: number;
  bytesIn: number;
  bytesOut: number;
  errors: Record<string, number>;
  latency: Record<string, { count: number; p50: number; p90: number; p99: number; max: number }>;
}

export interface ReportResult {
  seconds: number;
  meta?: {
    tool: string;
    version: string;
    startedAt: string;
    endedAt: string;
    argv: string[];
    host: { hostname: string; cpus: number; node: string; kernel: string };
    clocks: Record<string, string>;
  };
  profile?: unknown;
  phases?: Record<string, PhaseStatsView>;
  flows?: { name: string; counters: Record<string, number>; phases: Record<string, PhaseStatsView> }[];
  series?: SeriesPointView[];
  thresholds?: ThresholdResult[];
  app?: unknown;
  counters?: Record<string, number>;
  tcp?: Record<string, number> | null;
}

/** Why `v` is not a run result, or null when it is one. */
export function notAResult(v: unknown): string | null {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return 'not a JSON object';
  const r = v as Record<string, unknown>;
  if (typeof r.seconds !== 'number') return 'no "seconds": not a vaigai --json result';
  if (r.series !== undefined && !Array.isArray(r.series)) return '"series" is not a list';
  if (r.phases !== undefined && (r.phases === null || typeof r.phases !== 'object')) return '"phases" is not an object';
  return null;
}
