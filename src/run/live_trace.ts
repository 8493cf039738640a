/**
 * The generator's live capture (`trace start FILE` ... `trace stop`): every
 * worker of every session that runs meanwhile captures its queue to a part
 * file of its own beside FILE: the session running at `trace start` from then
 * on (CMD_TRACE, worker_trace.ts), the sessions after it from their workers'
 * first frame. `trace stop` stops the workers' captures and merges the parts
 * into FILE, one pcapng in timestamp order. A load's start or end switches
 * sessions: the frames of the few milliseconds between two sessions, when no
 * worker runs, are not in the trace.
 */
import { rmSync } from 'node:fs';
import { StateError } from '../common/errors.js';
import { mergePcapng } from '../port/pcapng_merge.js';
import { RC_TRACE_BUSY } from './worker_trace.js';
import type { WorkerSet } from './workers.js';

export class LiveTrace {
  private readonly parts: string[] = [];
  private sessions = 0;

  constructor(readonly file: string) {}

  /** A new session's part files, one per worker, its workers capturing from their start. */
  session(workers: number): string[] {
    const s = this.sessions++;
    const paths = Array.from({ length: workers }, (_, w) => `${this.file}.part${s}-w${w}`);
    this.parts.push(...paths);
    return paths;
  }

  /** Starts the capture on the workers of a session that runs already. */
  async attach(workers: WorkerSet): Promise<void> {
    const paths = this.session(workers.size);
    const rcs = await workers.trace(paths);
    const bad = rcs.findIndex((rc) => rc < 0);
    if (bad >= 0) {
      await workers.trace(paths.map(() => null)).catch(() => []);
      throw new StateError(rcs[bad] === RC_TRACE_BUSY ? 'trace: the generator captures with --pcap already' : `trace: worker ${bad} could not open ${paths[bad]} (rc ${rcs[bad]})`);
    }
  }

  /** Stops the capture (on the workers of the session running now, if any) and writes FILE; returns its frames. */
  async finish(workers: WorkerSet | null): Promise<number> {
    if (workers !== null) await workers.trace(Array.from({ length: workers.size }, () => null)).catch(() => []);
    try {
      return mergePcapng(this.parts, this.file);
    } finally {
      for (const p of this.parts) rmSync(p, { force: true });
    }
  }
}
