/**
 * Time source of the data plane, in microseconds as a plain number (exact to
 * 2^53 µs). The stack reads time only through a Clock so tests can drive it.
 */
export interface Clock {
  nowUs(): number;
}

export const monotonicClock: Clock = {
  nowUs: () => Math.floor(performance.now() * 1000),
};

/** A clock that moves only when told to; for scripted stack tests. */
export class ManualClock implements Clock {
  private t: number;
  constructor(startUs = 0) {
    this.t = startUs;
  }
  nowUs(): number {
    return this.t;
  }
  advance(us: number): void {
    this.t += us;
  }
  set(us: number): void {
    this.t = us;
  }
}
