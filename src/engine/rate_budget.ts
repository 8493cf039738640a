/**
 * A token bucket for sends paced by the poll loop's tick: each tick asks how
 * many sends are due. Bursts hold 10 ms of the rate (at least one), so a late
 * tick catches up a little but a stall is not made up in one flood.
 */
const BURST_S = 0.01;

export class RateBudget {
  private tokens = 1;
  private lastUs = -1;
  private readonly burst: number;

  /** `rate` per second; 0 = no limit. */
  constructor(private readonly rate: number) {
    this.burst = Math.max(1, rate * BURST_S);
  }

  /** Sends due now, at most `max`; the caller takes them with `spend`. */
  due(nowUs: number, max: number): number {
    if (this.rate <= 0) return max;
    if (this.lastUs >= 0) this.tokens = Math.min(this.burst, this.tokens + ((nowUs - this.lastUs) * this.rate) / 1e6);
    this.lastUs = nowUs;
    const n = Math.floor(this.tokens);
    return n < max ? n : max;
  }

  spend(n: number): void {
    if (this.rate > 0) this.tokens -= n;
  }
}
