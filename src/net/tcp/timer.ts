/**
 * One hashed timer wheel per worker (Varghese & Lauck scheme 6): 1 ms buckets,
 * each a doubly linked list of TCB ids, ticked by the poll loop. A TCB is in
 * the wheel at most once, at (or before) its earliest deadline; timers that
 * move later (an RTO restarted by every ACK) do not relink — the entry fires
 * early, finds nothing due and is re-filed at the new earliest deadline.
 * Deadlines beyond one revolution stay in their bucket until their round.
 *
 * TIME_WAIT does not use the wheel: its duration is constant, so entry order
 * is expiry order and a FIFO ring suffices (the architecture's TIME_WAIT FIFO).
 */
export const WHEEL_SLOTS = 1024;
const WHEEL_MASK = WHEEL_SLOTS - 1;

export class TimerWheel {
  private readonly buckets = new Int32Array(WHEEL_SLOTS).fill(-1);
  private readonly next: Int32Array;
  private readonly prev: Int32Array;
  /** Deadline (ms) under which a TCB is filed, 0 = not in the wheel. */
  readonly at: Float64Array;
  /** Last ms processed. */
  private nowMs = -1;
  size = 0;

  constructor(max: number) {
    this.next = new Int32Array(max).fill(-1);
    this.prev = new Int32Array(max).fill(-1);
    this.at = new Float64Array(max);
  }

  /** Ensures `c` fires no later than `atMs` (> 0). */
  schedule(c: number, atMs: number): void {
    const cur = this.at[c];
    if (cur !== 0 && cur <= atMs) return;
    if (cur !== 0) this.unlink(c);
    if (atMs <= this.nowMs) atMs = this.nowMs + 1;
    if (atMs < 1) atMs = 1; // 0 means unscheduled
    this.at[c] = atMs;
    const b = atMs & WHEEL_MASK;
    const h = this.buckets[b];
    this.next[c] = h;
    this.prev[c] = -1;
    if (h >= 0) this.prev[h] = c;
    this.buckets[b] = c;
    this.size++;
  }

  cancel(c: number): void {
    if (this.at[c] !== 0) this.unlink(c);
  }

  private unlink(c: number): void {
    const n = this.next[c];
    const p = this.prev[c];
    if (p >= 0) this.next[p] = n;
    else this.buckets[this.at[c] & WHEEL_MASK] = n;
    if (n >= 0) this.prev[n] = p;
    this.at[c] = 0;
    this.size--;
  }

  /**
   * Processes every ms up to `nowMs`, calling `fire(c)` for each TCB whose filed
   * deadline has passed (unlinked first, so `fire` may reschedule it). A jump of
   * more than one revolution visits each bucket once.
   */
  advance(nowMs: number, fire: (c: number) => void): void {
    if (this.nowMs < 0) this.nowMs = nowMs - 1;
    let from = this.nowMs + 1;
    if (nowMs - from >= WHEEL_SLOTS) from = nowMs - WHEEL_SLOTS + 1;
    for (let t = from; t <= nowMs; t++) {
      if (this.size === 0) break;
      let c = this.buckets[t & WHEEL_MASK];
      while (c >= 0) {
        const n = this.next[c];
        if (this.at[c] <= nowMs) {
          this.unlink(c);
          fire(c);
        }
        c = n;
      }
    }
    this.nowMs = nowMs;
  }
}

/** TIME_WAIT entries in expiry order: TCB id, its generation (stale entries are skipped) and expiry. */
export class TimeWaitFifo {
  private readonly ids: Int32Array;
  private readonly gens: Uint32Array;
  private readonly exps: Float64Array;
  private readonly mask: number;
  private head = 0;
  private tail = 0;

  constructor(max: number) {
    let cap = 2;
    while (cap < max) cap <<= 1;
    this.ids = new Int32Array(cap);
    this.gens = new Uint32Array(cap);
    this.exps = new Float64Array(cap);
    this.mask = cap - 1;
  }

  get size(): number {
    return this.tail - this.head;
  }

  get full(): boolean {
    return this.tail - this.head === this.ids.length;
  }

  push(c: number, gen: number, expMs: number): void {
    const i = this.tail++ & this.mask;
    this.ids[i] = c;
    this.gens[i] = gen;
    this.exps[i] = expMs;
  }

  /** Fields of the i-th entry from the head. */
  idAt(i: number): number {
    return this.ids[(this.head + i) & this.mask];
  }
  genAt(i: number): number {
    return this.gens[(this.head + i) & this.mask];
  }
  expAt(i: number): number {
    return this.exps[(this.head + i) & this.mask];
  }

  pop(): void {
    this.head++;
  }
}
