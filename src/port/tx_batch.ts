/**
 * Collects frames to transmit and hands them to the queue in bursts. Frames the
 * queue cannot take stay queued (bounded); beyond the bound they are dropped and
 * counted, as a NIC's full TX ring would.
 */
import type { PortQueue } from './port.js';

export class TxBatch {
  private readonly slots: Int32Array;
  private n = 0;
  /** Frames dropped because the batch was full. */
  dropped = 0;
  /** Called after each burst the queue took (wire timing stamps what it carried). */
  onFlush: (() => void) | null = null;

  constructor(
    private readonly queue: PortQueue,
    capacity = 512,
    /** Flush automatically once this many frames wait. */
    private readonly burst = 32,
  ) {
    this.slots = new Int32Array(capacity);
  }

  /** Queues a slot for transmission; the batch owns it from now on. */
  push(slot: number): void {
    if (this.n === this.slots.length) {
      this.flush();
      if (this.n === this.slots.length) {
        this.queue.pool.free(slot);
        this.dropped++;
        return;
      }
    }
    this.slots[this.n++] = slot;
    if (this.n >= this.burst) this.flush();
  }

  /** Sends what the queue accepts; keeps the rest in order for the next flush. */
  flush(): void {
    if (this.n === 0) return;
    const sent = this.queue.txBurst(this.slots, this.n);
    if (sent > 0 && this.onFlush !== null) this.onFlush();
    if (sent === this.n) {
      this.n = 0;
    } else if (sent > 0) {
      this.slots.copyWithin(0, sent, this.n);
      this.n -= sent;
    }
  }

  /** Frees every frame still waiting (a stopping worker returns its slots). */
  drop(): void {
    for (let i = 0; i < this.n; i++) this.queue.pool.free(this.slots[i]);
    this.n = 0;
  }

  get pending(): number {
    return this.n;
  }
}
