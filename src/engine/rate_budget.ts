/**
 * Sends paced by the poll loop's tick: the k-th send is due at start + k/rate,
 * and each tick asks how many are due. A late tick sends what fell due
 * meanwhile (ticks are not exactly 1 ms apart on a busy machine), up to
 * 100 ms worth; beyond that the schedule moves on rather than flood after a
 * stall.
 */
const CATCH_UP_S = 0.1;

export class RateBudget {
  private originUs = -1;
  /** Sends taken since the origin. */
  private issued = 0;
  private burst: number;

  /** `rate` per second; 0 = no limit. */
  constructor(private rate: number) {
    this.burst = Math.max(1, Math.floor(rate * CATCH_UP_S));
  }

  /** A new rate from the next due() on (a live change): the schedule starts again there, owing nothing at the new rate for the time before. */
  setRate(rate: number): void {
    this.rate = rate;
    this.burst = Math.max(1, Math.floor(rate * CATCH_UP_S));
    this.originUs = -1;
    this.issued = 0;
  }

  /** Sends due now, at most `max`; the caller takes them with `spend`. */
  due(nowUs: number, max: number): number {
    if (this.rate <= 0) return max;
    if (this.originUs < 0) this.originUs = nowUs;
    let n = Math.floor(((nowUs - this.originUs) * this.rate) / 1e6) + 1 - this.issued;
    if (n > this.burst) {
      this.issued += n - this.burst;
      n = this.burst;
    }
    return n < 0 ? 0 : n < max ? n : max;
  }

  spend(n: number): void {
    this.issued += n;
  }
}
