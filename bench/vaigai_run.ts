/**
 * The `vaigai` command as a user runs it, for the benchmarks: a server started
 * in a namespace and pinned to a core, and a client run to completion whose
 * figures come from its --json file and whose CPU share is read from /proc
 * over the load (from its first live line to its last, so start-up and the
 * final drain are left out).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { exited, type NetnsLab } from '../test/helpers/netns.js';
import { CpuWatch, waitOutput } from './proc.js';
import type { ChildProcess } from 'node:child_process';

/** This tree's command. */
export const MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url));

/** The parts of the client's --json the benchmarks read. */
export interface ClientJson {
  app: {
    requestsPerSecond: number;
    responses: number;
    failedRequests: number;
    connections: { ok: number; failed: number; perSecond: number };
    tls?: { full: number; resumed: number };
  };
  tcp: Record<string, number>;
}

export interface ClientRun {
  json: ClientJson;
  /** CPU time over wall time, between the first and the last live line. */
  cpu: number;
  /** That window, performance.now() ms. */
  fromMs: number;
  toMs: number;
  exitCode: number;
}

/** A started `vaigai --server` (or any long-running vaigai) with its CPU watched. */
export class VaigaiProc {
  readonly watch: CpuWatch;
  constructor(readonly child: ChildProcess) {
    this.watch = new CpuWatch(child.pid as number);
  }

  get pid(): number {
    return this.child.pid as number;
  }

  /** SIGINT, and the exit within 30 s. */
  async stop(): Promise<void> {
    this.watch.stop();
    if (this.child.exitCode === null) this.child.kill('SIGINT');
    await exited(this.child, 30_000, 'vaigai');
  }
}

function pinned(core: number, main: string, args: string[]): [string, string[]] {
  return ['taskset', ['-c', String(core), process.execPath, main, ...args]];
}

/** Starts `vaigai <args>` (e.g. --server) in `ns` on `core`; resolves once it printed its start line. */
export async function startVaigai(lab: NetnsLab, ns: string, core: number, args: string[], main = MAIN): Promise<VaigaiProc> {
  const child = lab.spawn(ns, ...pinned(core, main, args));
  const p = new VaigaiProc(child);
  await waitOutput(child, /^vaigai: .* mac /m, 20_000);
  return p;
}

/**
 * Runs `vaigai <args> --duration seconds --json json` in `ns` on `core` to its
 * end. `onLive` sees each live line as it comes (the hold stage reads the
 * connection count from it). The CPU window runs from the first live line to
 * the last (the one at the time bound may give way to the summary), or to the
 * summary when there was only one.
 */
export async function runVaigaiClient(
  lab: NetnsLab,
  ns: string,
  core: number,
  args: string[],
  seconds: number,
  json: string,
  main = MAIN,
  onLive?: (line: string, pid: number) => void,
): Promise<ClientRun> {
  const child = lab.spawn(ns, ...pinned(core, main, [...args, '--duration', String(seconds), '--json', json]));
  const watch = new CpuWatch(child.pid as number);
  const live: number[] = [];
  /** When the summary began: the window's end when the run printed a single live line (a short run on a busy machine). */
  let summaryAt = -1;
  let buf = '';
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
    buf += d.toString();
    const lines = buf.split('\n');
    buf = lines.pop() ?? '';
    for (const l of lines) {
      if (summaryAt < 0 && /^client: [\d.]+ s$/.test(l)) summaryAt = performance.now();
      if (!/^\[\s*\d+s\] conn/.test(l)) continue;
      live.push(performance.now());
      onLive?.(l, child.pid as number);
    }
  });
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  try {
    const exitCode = await exited(child, (seconds + 30) * 1000, `vaigai ${args.join(' ')}`);
    const fromMs = live[0];
    const toMs = live.length >= 2 ? live[live.length - 1] : summaryAt;
    if (live.length === 0 || !(toMs > fromMs)) throw new Error(`vaigai exited (${exitCode}) after ${live.length} live line(s): ${out.slice(-400)}`);
    return { json: JSON.parse(readFileSync(json, 'utf8')) as ClientJson, cpu: watch.share(fromMs, toMs), fromMs, toMs, exitCode };
  } finally {
    watch.stop();
  }
}
