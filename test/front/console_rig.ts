/**
 * Driving the `vaigai` console as a script does: commands written to its
 * stdin (a pipe), each answer read back as the console writes it - one write
 * of its output on stdout, or one `error <CODE>: <message>` line on stderr.
 */
import type { ChildProcess } from 'node:child_process';
import { exited } from '../helpers/netns.js';

export interface Answer {
  out: string;
  /** The error code of a failed command, or null. */
  code: string | null;
  /** The error line's message ('' when none). */
  message: string;
}

export class ConsolePipe {
  out = '';
  err = '';
  constructor(readonly child: ChildProcess) {
    child.stdout?.on('data', (d: Buffer) => (this.out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (this.err += d.toString()));
  }

  /** Sends one command line and resolves with its answer (within `ms`). */
  async ask(line: string, ms = 30_000): Promise<Answer> {
    const o = this.out.length;
    const e = this.err.length;
    this.child.stdin?.write(`${line}\n`);
    const end = Date.now() + ms;
    for (;;) {
      const err = /^error (\S+): (.*)\n/m.exec(this.err.slice(e));
      if (err !== null) return { out: this.out.slice(o), code: err[1], message: err[2] };
      if (this.out.length > o && this.out.endsWith('\n')) return { out: this.out.slice(o), code: null, message: '' };
      if (this.child.exitCode !== null) throw new Error(`the console exited (${this.child.exitCode}) before answering "${line}": ${this.err}`);
      if (Date.now() > end) throw new Error(`no answer to "${line}" within ${ms} ms; stdout: ${this.out.slice(o)} stderr: ${this.err.slice(e)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Sends a command whose answer is JSON and parses it; a failure throws with its code. */
  async json<T>(line: string, ms?: number): Promise<T> {
    const a = await this.ask(line, ms);
    if (a.code !== null) throw new Error(`"${line}" failed: ${a.code}: ${a.message}`);
    return JSON.parse(a.out) as T;
  }

  /** Asks `line` (JSON) until `done` holds of its answer (bounded by `ms`); resolves with the last answer. */
  async until<T>(line: string, done: (v: T) => boolean, ms: number): Promise<T> {
    const end = Date.now() + ms;
    for (;;) {
      const v = await this.json<T>(line);
      if (done(v)) return v;
      if (Date.now() > end) throw new Error(`"${line}" did not reach the state within ${ms} ms: ${JSON.stringify(v).slice(0, 400)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** Ends the input (as a script's end) and resolves with the exit code. */
  async end(ms = 20_000): Promise<number> {
    this.child.stdin?.end();
    return exited(this.child, ms, 'vaigai console');
  }
}
