/**
 * The delay line: a hashed timing wheel of slot indices. Each frame waits in
 * its own pool slot; the wheel only links slots through `next[slot]` and keeps
 * their due times in `due[slot]`, both sized to the pool, so holding a frame
 * allocates nothing. A bucket covers TICK_US and is released once its tick has
 * passed, so a frame leaves at most one tick after it is due and each bucket is
 * walked once per turn (a bucket still filling is not rescanned at every poll). A
 * frame due further out than one turn of the wheel sits in its bucket until the
 * turn in which it is due. Frames of one bucket leave in the order they came, so
 * equal delays keep order.
 */
import type { FrameSink } from './frame_sink.js';

/** Bucket width. Small against the 1 ms accuracy asked of delays. */
export const TICK_US = 32;
/** Buckets: one turn is 8192 * 32 us = 262 ms. */
const BUCKETS = 8192;
const MASK = BUCKETS - 1;

export class DelayLine {
  private readonly next: Int32Array;
  private readonly due: Float64Array;
  private readonly head = new Int32Array(BUCKETS).fill(-1);
  private readonly tail = new Int32Array(BUCKETS).fill(-1);
  /** The tick whose bucket is released next (every earlier tick has been released). */
  private cur = 0;
  size = 0;

  constructor(poolSlots: number) {
    this.next = new Int32Array(poolSlots);
    this.due = new Float64Array(poolSlots);
  }

  /** Holds `slot` until `dueUs`; `nowUs` <= `dueUs` is the current time. */
  insert(slot: number, dueUs: number, nowUs: number): void {
    if (this.size === 0) this.cur = Math.floor(nowUs / TICK_US);
    // A due time before the next tick to release (a clock read before the last release) goes into that tick.
    let t = Math.floor(dueUs / TICK_US);
    if (t < this.cur) t = this.cur;
    const b = t & MASK;
    this.due[slot] = dueUs;
    this.next[slot] = -1;
    if (this.head[b] < 0) this.head[b] = slot;
    else this.next[this.tail[b]] = slot;
    this.tail[b] = slot;
    this.size++;
  }

  /** Hands `sink` the frames of every tick that has passed by `nowUs`, earliest first. Returns how many. */
  release(nowUs: number, sink: FrameSink): number {
    if (this.size === 0) return 0;
    const nt = Math.floor(nowUs / TICK_US);
    if (nt <= this.cur) return 0;
    // After a stall longer than a turn, one pass over every bucket still finds every due frame.
    const steps = nt - this.cur < BUCKETS ? nt - this.cur : BUCKETS;
    let n = 0;
    for (let i = 0; i < steps && this.size > 0; i++) n += this.releaseBucket((this.cur + i) & MASK, nowUs, sink);
    this.cur = nt;
    return n;
  }

  private releaseBucket(b: number, nowUs: number, sink: FrameSink): number {
    let n = 0;
    let prev = -1;
    let s = this.head[b];
    while (s >= 0) {
      const nx = this.next[s];
      if (this.due[s] <= nowUs) {
        if (prev < 0) this.head[b] = nx;
        else this.next[prev] = nx;
        if (this.tail[b] === s) this.tail[b] = prev;
        this.size--;
        n++;
        sink.push(s);
      } else {
        prev = s;
      }
      s = nx;
    }
    return n;
  }

  /** Hands every held frame to `free` (shutdown). */
  drain(free: (slot: number) => void): void {
    for (let b = 0; b < BUCKETS && this.size > 0; b++) {
      for (let s = this.head[b]; s >= 0; s = this.next[s]) {
        free(s);
        this.size--;
      }
      this.head[b] = -1;
      this.tail[b] = -1;
    }
  }
}
