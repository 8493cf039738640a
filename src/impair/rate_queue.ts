/**
 * The rate stage: a token bucket in bytes in front of a FIFO of slot indices.
 * A frame leaves when the bucket holds its length in tokens; until then it waits
 * in the FIFO (first come, first served), as behind a slower link. Tokens refill
 * continuously at the rate, up to the bucket depth while nothing waits. While
 * frames wait the depth does not apply: a poll that comes late (the hop was
 * descheduled) sends what the link would have sent meanwhile, so the long-run
 * rate holds however irregular the polling. The caller bounds the FIFO (the
 * direction's `limit`); the FIFO itself never overflows.
 */
import type { BufferPool } from '../core/buffer_pool.js';
import type { FrameSink } from './frame_sink.js';

export class RateQueue {
  private readonly slots: Int32Array;
  private readonly mask: number;
  private head = 0;
  private tail = 0;
  private readonly bytesPerUs: number;
  private tokens: number;
  private lastUs = -1;

  constructor(
    private readonly pool: BufferPool,
    rateBps: number,
    private readonly depth: number,
    capacity: number,
  ) {
    let c = 1;
    while (c < capacity) c <<= 1;
    this.slots = new Int32Array(c);
    this.mask = c - 1;
    this.bytesPerUs = rateBps / 8 / 1e6;
    this.tokens = depth;
  }

  get size(): number {
    return this.tail - this.head;
  }

  /** Adds the tokens earned since the last refill; capped at the depth only when nothing waits. */
  private refill(nowUs: number): void {
    if (nowUs <= this.lastUs) return;
    if (this.lastUs >= 0) this.tokens += (nowUs - this.lastUs) * this.bytesPerUs;
    this.lastUs = nowUs;
    if (this.head === this.tail && this.tokens > this.depth) this.tokens = this.depth;
  }

  /** Spends tokens for `slot` if it may leave now (nothing queued ahead of it). */
  passNow(slot: number, nowUs: number): boolean {
    this.refill(nowUs);
    if (this.head !== this.tail) return false;
    const len = this.pool.dataLen[slot];
    if (this.tokens < len) return false;
    this.tokens -= len;
    return true;
  }

  /** Queues `slot` behind the others; the caller has checked the bound. */
  enqueue(slot: number): void {
    this.slots[this.tail++ & this.mask] = slot;
  }

  /** Hands `sink` the frames the bucket now pays for, in order. Returns how many. */
  release(nowUs: number, sink: FrameSink): number {
    if (this.head === this.tail) return 0;
    this.refill(nowUs);
    let n = 0;
    while (this.head !== this.tail) {
      const s = this.slots[this.head & this.mask];
      const len = this.pool.dataLen[s];
      if (this.tokens < len) break;
      this.tokens -= len;
      this.head++;
      n++;
      sink.push(s);
    }
    if (this.head === this.tail && this.tokens > this.depth) this.tokens = this.depth;
    return n;
  }

  drain(free: (slot: number) => void): void {
    while (this.head !== this.tail) free(this.slots[this.head++ & this.mask]);
  }
}
