/**
 * The run's output files beside --json: `--out ndjson=FILE` (the run's events
 * as they happen) and `--hdr-log FILE` (HdrHistogram's interval log of every
 * latency phase). Their paths are checked for writing before any traffic
 * (run.ts checkFiles).
 */
import { Option } from 'commander';
import { InvalidOptionError } from '../../common/errors.js';
import type { ModePlan } from '../../run/plan.js';

/** The formats --out writes. */
const OUT_FORMATS = ['ndjson'] as const;

export function outOption(): Option {
  return new Option('--out <format=file>', `stream the run's events to a file as it goes: ${OUT_FORMATS.map((f) => `${f}=FILE`).join(', ')} (meta, config, start, progress each second, result, end)`);
}

export function hdrLogOption(): Option {
  return new Option('--hdr-log <file>', 'client loads: write every latency phase as an HdrHistogram interval log (one histogram per phase per second)');
}

export interface OutputPaths {
  ndjsonPath: string | null;
  hdrLogPath: string | null;
}

export function parseOutputs(o: { out?: string; hdrLog?: string }, mode: ModePlan): OutputPaths {
  let ndjsonPath: string | null = null;
  if (o.out !== undefined) {
    const m = /^([a-z]+)=(.+)$/.exec(o.out);
    if (m === null) throw new InvalidOptionError('--out', `"${o.out}" is not FORMAT=FILE (e.g. ndjson=run.ndjson)`);
    if (!(OUT_FORMATS as readonly string[]).includes(m[1])) throw new InvalidOptionError('--out', `unknown format "${m[1]}" (known: ${OUT_FORMATS.join(', ')})`);
    ndjsonPath = m[2];
  }
  const latency = mode.kind === 'client' || mode.kind === 'tcp_connect' || mode.kind === 'udp_client' || mode.kind === 'icmp_client';
  if (o.hdrLog !== undefined && !latency) throw new InvalidOptionError('--hdr-log', 'needs a client load (--client or --config): servers record no latency');
  return { ndjsonPath, hdrLogPath: o.hdrLog ?? null };
}
