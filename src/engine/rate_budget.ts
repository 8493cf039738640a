/**
 * Sends paced by the poll loop's tick: the k-th send is due at start + k/rate,
 * and each tick asks how many are due. A late tick sends what fell due
 * meanwhile (ticks are not exactly 1 ms apart on a busy machine), up to
 * 100 ms worth; beyond that the schedule moves on rather than flood after a
 * stall.
 */
import type { Schedule } from './schedule.js';

const CATCH_UP_S = 0.1;

export class RateBudget {
  private originUs = -1;
  /** The schedule's zero: the first due() (a live change does not move it). */
  private startUs = -1;
  private lastUs = 0;
  /** Sends owed since the origin: the integral of the (scaled) rate. */
  private owed = 0;
  /** Sends taken since the origin. */
  private issued = 0;
  /** 1 when a send is due at the origin itself: not when the stage starts the rate at 0. */
  private first = 1;
  private burst: number;

  /** `rate` per second (0 = no limit), scaled over time by `schedule`'s stages when given. */
  constructor(
    private rate: number,
    private readonly schedule: Schedule | null = null,
  ) {
    this.burst = Math.max(1, Math.floor(rate * CATCH_UP_S));
  }

  /** A new rate from the next due() on (a live change): the pacing starts again there, owing nothing at the new rate for the time before. */
  setRate(rate: number): void {
    this.rate = rate;
    this.burst = Math.max(1, Math.floor(rate * CATCH_UP_S));
    this.originUs = -1;
    this.issued = 0;
  }

  /** Sends due now, at most `max`; the caller takes them with `spend`. */
  due(nowUs: number, max: number): number {
    if (this.rate <= 0) return max;
    if (this.startUs < 0) this.startUs = nowUs;
    if (this.originUs < 0) {
      this.originUs = nowUs;
      this.lastUs = nowUs;
      this.owed = 0;
      this.first = this.schedule === null || this.schedule.scaleAt(nowUs - this.startUs) > 0 ? 1 : 0;
    }
    const sch = this.schedule;
    if (sch === null) this.owed = ((nowUs - this.originUs) * this.rate) / 1e6;
    else if (nowUs > this.lastUs) {
      // The rate's integral over the stages, by the trapezoid over each call's span (a stage's ramp is linear).
      const s0 = sch.scaleAt(this.lastUs - this.startUs);
      const s1 = sch.scaleAt(nowUs - this.startUs);
      this.owed += (((s0 + s1) / 2) * this.rate * (nowUs - this.lastUs)) / 1e6;
    }
    this.lastUs = nowUs;
    let n = Math.floor(this.owed) + this.first - this.issued;
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
