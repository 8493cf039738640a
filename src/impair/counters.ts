/**
 * Counters of one direction of the hop. Plain number fields, one writer (the
 * worker polling that direction); the management side reads snapshots.
 */
export class ImpairCounters {
  /** Frames that entered the direction. */
  offered = 0;
  /** Frames (originals and copies) handed to the output. */
  forwarded = 0;
  forwardedBytes = 0;
  /** Dropped by the loss model. */
  dropLoss = 0;
  /** Marked CE where the loss model would have dropped them (ecn=on). */
  ceMarked = 0;
  /** Tail drops: the direction already held `limit` frames (rate queue + delay line). */
  dropLimit = 0;
  /** Duplicates not made because the slot pool was empty. */
  dropNoBuf = 0;
  /** Frames put on the delay line. */
  delayed = 0;
  /** Frames sent at once, ahead of delayed ones (netem's reorder). */
  reordered = 0;
  duplicated = 0;
  corrupted = 0;
  /** Frames held now, and the most ever held (queue high-water mark). */
  queued = 0;
  queueHigh = 0;

  snapshot(): CounterSnapshot {
    return {
      offered: this.offered,
      forwarded: this.forwarded,
      forwardedBytes: this.forwardedBytes,
      dropLoss: this.dropLoss,
      ceMarked: this.ceMarked,
      dropLimit: this.dropLimit,
      dropNoBuf: this.dropNoBuf,
      delayed: this.delayed,
      reordered: this.reordered,
      duplicated: this.duplicated,
      corrupted: this.corrupted,
      queued: this.queued,
      queueHigh: this.queueHigh,
    };
  }
}

export type CounterSnapshot = {
  [K in keyof ImpairCounters as ImpairCounters[K] extends number ? K : never]: number;
};
