/** Shared by the impairment tests: numbered frames and a sink that collects slots. */
import type { BufferPool } from '../../src/core/buffer_pool.js';
import type { FrameSink } from '../../src/impair/frame_sink.js';

/** Offset of the frame's sequence number: just past the Ethernet header. */
export const SEQ_OFF = 14;

/** Allocates a frame of `len` bytes (pattern bytes) carrying `seq` as a u32 at SEQ_OFF. */
export function numberedFrame(pool: BufferPool, seq: number, len = 64): number {
  const s = pool.alloc();
  if (s < 0) throw new Error('test pool exhausted');
  const b = pool.base(s);
  for (let i = 0; i < len; i++) pool.u8[b + i] = (i * 7 + 3) & 0xff;
  pool.dv.setUint32(b + SEQ_OFF, seq);
  pool.dataLen[s] = len;
  return s;
}

export function seqOf(pool: BufferPool, slot: number): number {
  return pool.dv.getUint32(pool.base(slot) + SEQ_OFF);
}

export class CollectSink implements FrameSink {
  readonly slots: number[] = [];
  push(slot: number): void {
    this.slots.push(slot);
  }
  /** The sequence numbers collected so far, freeing the slots. */
  take(pool: BufferPool): number[] {
    const seqs = this.slots.map((s) => seqOf(pool, s));
    for (const s of this.slots) pool.free(s);
    this.slots.length = 0;
    return seqs;
  }
}

/**
 * Counts arrivals that overtook an earlier frame (some lower number had not
 * arrived yet): the receiver's view of reordering.
 */
export class OvertakeMeter {
  private readonly seen: Uint8Array;
  private low = 0;
  overtakes = 0;
  arrivals = 0;
  constructor(n: number) {
    this.seen = new Uint8Array(n);
  }
  arrive(seq: number): void {
    this.arrivals++;
    if (seq > this.low) this.overtakes++;
    this.seen[seq] = 1;
    while (this.low < this.seen.length && this.seen[this.low] === 1) this.low++;
  }
}
