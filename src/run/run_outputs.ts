/**
 * The files a run writes as it goes: `--out ndjson=FILE`, one JSON event per
 * line (meta, config, start, a progress event per second, result, end), and
 * `--hdr-log FILE`, HdrHistogram's interval log (a header, then one tagged
 * interval histogram per phase per second, which HdrHistogram's log tools
 * read). Both are written line by line with synchronous appends, so that a
 * reader sees whole lines while the run goes on, and what was written before
 * a crash stays.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import type { Histogram } from '../telemetry/histogram.js';
import { PHASES } from '../telemetry/phases.js';
import type { ResultMeta, RunResult, SeriesEntry } from './result_schema.js';

/** µs values; the log's Interval_Max is in ms, as HdrHistogram's tools show latencies. */
const MAX_VALUE_UNIT_RATIO = 1000;

/** `--out ndjson=FILE`: the run's events, one per line. */
export class NdjsonOut {
  private fd: number;

  constructor(path: string) {
    this.fd = openSync(path, 'w');
  }

  private write(type: string, body: Record<string, unknown>): void {
    if (this.fd < 0) return;
    writeSync(this.fd, `${JSON.stringify({ type, ...body })}\n`);
  }

  meta(meta: Omit<ResultMeta, 'endedAt' | 'clocks'>): void {
    this.write('meta', meta);
  }

  /** The run's profile (client loads) or its mode, and its outputs. */
  config(config: unknown): void {
    this.write('config', { config });
  }

  start(at: Date): void {
    this.write('start', { at: at.toISOString() });
  }

  /** A series entry, with the application's counters so far (what the per-second --json file used to hold). */
  progress(e: SeriesEntry, app: unknown): void {
    this.write('progress', { ...e, app });
  }

  result(r: RunResult): void {
    this.write('result', { result: r });
  }

  end(at: Date, error: string | null): void {
    this.write('end', { at: at.toISOString(), error });
    closeSync(this.fd);
    this.fd = -1;
  }
}

/** `--hdr-log FILE`: HdrHistogram's interval log (format version 1.3), one `Tag=<phase>` histogram per phase per interval. */
export class HdrLogOut {
  private fd: number;

  constructor(path: string, start: Date) {
    this.fd = openSync(path, 'w');
    const t = (start.getTime() / 1000).toFixed(3);
    writeSync(
      this.fd,
      '#[Histogram log format version 1.3]\n' +
        `#[StartTime: ${t} (seconds since epoch), ${start.toUTCString()}]\n` +
        `#[BaseTime: ${t} (seconds since epoch)]\n` +
        `#[vaigai phases (values in us, Interval_Max in ms): ${PHASES.join(' ')}; a load of several flows adds each flow's, tagged FLOW/PHASE]\n` +
        '"StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram"\n',
    );
  }

  /**
   * The interval [fromS, toS) (seconds since the start): each phase that
   * counted values, by phase index, tagged with its name; with several flows,
   * each flow's too, tagged FLOW/PHASE.
   */
  interval(fromS: number, toS: number, hs: readonly Histogram[], flows: readonly string[] = [], perFlow: readonly (readonly Histogram[])[] = []): void {
    if (this.fd < 0) return;
    const span = `${fromS.toFixed(3)},${(toS - fromS).toFixed(3)}`;
    let out = '';
    const lines = (prefix: string, phases: readonly Histogram[]): void =>
      phases.forEach((h, i) => {
        if (h.totalCount > 0) out += `Tag=${prefix}${PHASES[i]},${span},${(h.max / MAX_VALUE_UNIT_RATIO).toFixed(3)},${h.encode()}\n`;
      });
    lines('', hs);
    perFlow.forEach((phases, f) => lines(`${flows[f]}/`, phases));
    if (out !== '') writeSync(this.fd, out);
  }

  close(): void {
    if (this.fd < 0) return;
    closeSync(this.fd);
    this.fd = -1;
  }
}
