/**
 * A worker's side of the console's `trace` (CMD_TRACE): `{ path }` opens a
 * pcapng writer on the tap around its queue, `{ path: null }` closes it and
 * acks the frames it wrote. A worker that captures with --pcap already
 * refuses (RC_TRACE_BUSY): one tap, one writer.
 */
import { decodeJson, RC_BAD_PAYLOAD } from '../core/ipc.js';
import { PcapWriter, type PcapTapQueue } from '../port/pcap.js';

export const RC_TRACE_BUSY = -20;

export class WorkerTrace {
  private writer: PcapWriter | null = null;

  constructor(
    private readonly tap: PcapTapQueue,
    /** The tap records into --pcap's writer. */
    private readonly pcapBusy: boolean,
  ) {}

  /** The CMD_TRACE handler: 0 once capturing, the frames written once stopped, or an error rc. */
  command(payload: Uint8Array): number {
    const req = decodeJson(payload) as { path?: unknown } | null;
    const path = req?.path;
    if (path === null) return this.close();
    if (typeof path !== 'string' || path === '') return RC_BAD_PAYLOAD;
    if (this.pcapBusy || this.writer !== null) return RC_TRACE_BUSY;
    this.open(path);
    return 0;
  }

  /** Captures into `path` from the next burst on. */
  open(path: string): void {
    this.writer = new PcapWriter(path, { format: 'pcapng' });
    this.tap.setWriter(this.writer);
  }

  flush(): void {
    this.writer?.flush();
  }

  /** Stops capturing; returns the frames written (0 when none was open). */
  close(): number {
    const w = this.writer;
    if (w === null) return 0;
    this.tap.setWriter(null);
    w.close();
    this.writer = null;
    return w.frames;
  }
}
