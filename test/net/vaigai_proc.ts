/**
 * Drives the `vaigai` command as a user would, inside a test namespace: starts
 * it, waits for its start line, stops it with SIGTERM and reads the counters
 * it wrote with --json.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NetnsLab } from '../helpers/netns.js';

const MAIN = fileURLToPath(new URL('../../src/main.js', import.meta.url));

export class VaigaiProc {
  out = '';
  /** Our MAC as printed in the start line. */
  mac = '';
  private readonly exited: Promise<number | null>;
  private constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
  ) {
    child.stdout?.on('data', (d: Buffer) => (this.out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (this.out += d.toString()));
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  get jsonPath(): string {
    return join(this.dir, 'stats.json');
  }

  /** Starts `vaigai <args> --json ... --duration 120` in `ns`; resolves once it printed its start line. */
  static async start(lab: NetnsLab, ns: string, args: string[]): Promise<VaigaiProc> {
    const dir = mkdtempSync(join(tmpdir(), 'vgnet-'));
    const child = lab.spawn(ns, process.execPath, [MAIN, ...args, '--json', join(dir, 'stats.json'), '--duration', '120']);
    const p = new VaigaiProc(child, dir);
    for (let i = 0; i < 200 && child.exitCode === null; i++) {
      const m = /^vaigai: .* mac ([0-9a-f:]{17}),/m.exec(p.out);
      if (m !== null) {
        p.mac = m[1];
        // Gratuitous ARP and the first ticks run before the test sends.
        await new Promise((r) => setTimeout(r, 200));
        return p;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    const out = p.out;
    await p.stop().catch(() => undefined);
    throw new Error(`vaigai did not start: ${out}`);
  }

  /** SIGTERM, wait for the exit (10 s at most), and the final counters. */
  async stop(): Promise<Record<string, number>> {
    if (this.child.exitCode === null && this.child.pid !== undefined) this.child.kill('SIGTERM');
    const code = await Promise.race([this.exited, new Promise<string>((r) => setTimeout(() => r('timeout'), 10_000))]);
    try {
      if (code === 'timeout') throw new Error(`vaigai did not exit on SIGTERM: ${this.out}`);
      if (code !== 0) throw new Error(`vaigai exited with ${code}: ${this.out}`);
      if (!existsSync(this.jsonPath)) throw new Error(`vaigai wrote no stats: ${this.out}`);
      return (JSON.parse(readFileSync(this.jsonPath, 'utf8')) as { counters: Record<string, number> }).counters;
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }
}

/** The "N received" count of a finished ping's output. */
export function pingReceived(out: string): number {
  const m = /(\d+) (packets )?received/.exec(out);
  return m === null ? -1 : Number(m[1]);
}

/** Collects a spawned command's stdout and resolves with it at exit. */
export function outputOf(child: ChildProcess): Promise<string> {
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  // 'close', not 'exit': stdout may still hold data when the process exits.
  return new Promise((resolve) => child.once('close', () => resolve(out)));
}
