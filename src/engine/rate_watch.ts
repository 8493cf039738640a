/**
 * The live warning of a load that falls short: when the achieved connection
 * or request rate stays below 95% of its target for 2 s, a line says so and
 * why. The reason is read from the counters of the interval: arrivals dropped
 * at the cap (max_concurrent), else work waiting on the server (connections
 * still opening or requests unanswered piling up), else the generator itself
 * (its CPU did not keep up with the schedule).
 */
import type { LoadSnapshot } from './load.js';
import { Schedule, type StageSpan } from './schedule.js';

/** The share of the target below which an interval falls short. */
const SHORT = 0.95;
/** Seconds short in a row before the warning. */
const SPAN_S = 2;

export interface RateTargets {
  /** Connections per second, 0: none. */
  cps: number;
  /** Requests per second, 0: none. */
  rps: number;
  stages: StageSpan[];
}

export class RateWatch {
  private readonly schedule: Schedule;
  /** Seconds short so far, since the last interval at the target. */
  private shortS = 0;

  constructor(private readonly t: RateTargets) {
    this.schedule = new Schedule(t.stages);
  }

  /** The warning for the interval from `prev` to `cur`, ending `elapsedS` into the load, or null. */
  check(elapsedS: number, prev: LoadSnapshot, cur: LoadSnapshot): string | null {
    const dt = (cur.us - prev.us) / 1e6;
    if (dt <= 0 || (this.t.cps === 0 && this.t.rps === 0)) return null;
    const scale = this.schedule.scaleAt((elapsedS - dt / 2) * 1e6);
    const want = { cps: this.t.cps * scale, rps: this.t.rps * scale };
    const got = { cps: (cur.attempts - prev.attempts) / dt, rps: (cur.requests - prev.requests) / dt };
    const short: string[] = [];
    if (want.cps > 0 && got.cps < want.cps * SHORT) short.push(`${Math.round(got.cps)} connections/s of ${Math.round(want.cps)}`);
    if (want.rps > 0 && got.rps < want.rps * SHORT) short.push(`${Math.round(got.rps)} requests/s of ${Math.round(want.rps)}`);
    if (short.length === 0) {
      this.shortS = 0;
      return null;
    }
    this.shortS += dt;
    if (this.shortS < SPAN_S - 1e-3) return null;
    return `warning: below 95% of the target for ${Math.round(this.shortS)} s (${short.join(', ')}): ${reason(prev, cur)}`;
  }
}

function reason(prev: LoadSnapshot, cur: LoadSnapshot): string {
  const dropped = cur.dropped - prev.dropped;
  if (dropped > 0) return `the concurrency cap (max_concurrent): ${dropped} arrivals dropped`;
  const waiting = cur.opening + cur.inFlight;
  if (waiting > prev.opening + prev.inFlight || cur.opening > 0) return `the server: ${cur.opening} connections opening, ${cur.inFlight} requests unanswered`;
  return 'generator CPU: the schedule ran late';
}
