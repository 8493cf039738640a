/**
 * What the benchmarks read about the processes they run: CPU time and RSS
 * from /proc, a watch that samples CPU time while a process runs (its
 * figures die with it), output waits, and medians.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

const TICKS = 100; // USER_HZ

/** utime + stime of a process, in seconds (NaN once it is gone). */
export function cpuSeconds(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 (utime, stime) are 12 and 13 after the state field.
    return (Number(rest[11]) + Number(rest[12])) / TICKS;
  } catch {
    return NaN;
  }
}

/** Resident set size of a process, in bytes (NaN once it is gone). */
export function rssBytes(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) * 1024;
  } catch {
    return NaN;
  }
}

/**
 * Samples a process's CPU time every 50 ms while it lives, so that its CPU
 * share over a window can be read after it exited.
 */
export class CpuWatch {
  private readonly samples: [number, number][] = [];
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly pid: number) {
    this.sample();
    this.timer = setInterval(() => this.sample(), 50);
  }

  private sample(): void {
    const c = cpuSeconds(this.pid);
    if (!Number.isNaN(c)) this.samples.push([performance.now(), c]);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** CPU time over wall time between the samples nearest `fromMs` and `toMs` (performance.now()), the last sample by default. */
  share(fromMs: number, toMs = Infinity): number {
    const s = this.samples;
    const a = s.find(([t]) => t >= fromMs) ?? s[0];
    const b = [...s].reverse().find(([t]) => t <= toMs) ?? s[s.length - 1];
    if (a === undefined || b === undefined || b[0] - a[0] < 100) return NaN;
    return (b[1] - a[1]) / ((b[0] - a[0]) / 1000);
  }
}

/** Resolves once the child's output matches `re`, with the time it did (performance.now()). */
export function waitOutput(child: ChildProcess, re: RegExp, ms: number): Promise<number> {
  let out = '';
  return new Promise((res, rej) => {
    const t = setTimeout(() => rej(new Error(`no ${re} within ${ms} ms: ${out.slice(-2000)}`)), ms);
    const on = (d: Buffer): void => {
      out += d.toString();
      if (re.test(out)) {
        clearTimeout(t);
        child.stdout?.off('data', on);
        child.stderr?.off('data', on);
        res(performance.now());
      }
    };
    child.stdout?.on('data', on);
    child.stderr?.on('data', on);
  });
}

export function median(xs: number[]): number {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
