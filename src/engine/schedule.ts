/**
 * The load's schedule: stages that scale the targets linearly over time, and
 * the arrivals of the open model on them. Arrival times are computed, not
 * observed: an arrival keeps its intended time however late the poll loop
 * comes to it, so that latency counted from it shows a stall in full (no
 * coordinated omission).
 */
import type { Prng } from '../common/prng.js';

/** One stage: the targets' scale goes from `from` to `to` over `durationUs`. */
export interface StageSpan {
  durationUs: number;
  from: number;
  to: number;
}

export class Schedule {
  /** Each stage's end (µs from the start), its start scale and its end scale. */
  private readonly ends: Float64Array;
  private readonly froms: Float64Array;
  private readonly tos: Float64Array;
  readonly totalUs: number;

  constructor(stages: readonly StageSpan[]) {
    this.ends = new Float64Array(stages.length);
    this.froms = Float64Array.from(stages, (s) => s.from);
    this.tos = Float64Array.from(stages, (s) => s.to);
    let t = 0;
    stages.forEach((s, i) => (this.ends[i] = t += s.durationUs));
    this.totalUs = t;
  }

  /** The scale at `tUs` from the start: 1 with no stages, 0 past the last. */
  scaleAt(tUs: number): number {
    const n = this.ends.length;
    if (n === 0) return 1;
    let start = 0;
    for (let i = 0; i < n; i++) {
      const end = this.ends[i];
      if (tUs < end) return this.froms[i] + ((this.tos[i] - this.froms[i]) * (tUs - start)) / (end - start);
      start = end;
    }
    return 0;
  }
}

/**
 * Arrivals at `rate` per second scaled by the schedule: evenly spaced
 * (constant) or a Poisson process (exponential gaps from the seeded PRNG).
 * The arrivals owed are the integral of the rate; each arrival's time is
 * where that integral crosses its due point, interpolated within the tick.
 */
export class Arrivals {
  private startUs = -1;
  private lastUs = 0;
  /** Arrivals owed since the last one emitted (integral of the rate). */
  private owed = 0;
  /** Where the next arrival falls due: 1 (constant) or an exponential draw (Poisson). */
  private due = 1;

  constructor(
    private rate: number,
    private readonly schedule: Schedule,
    private readonly rng: Prng | null,
    private readonly emit: (intendedUs: number) => void,
  ) {
    if (rng !== null) this.due = this.draw();
  }

  start(nowUs: number): void {
    this.startUs = nowUs;
    this.lastUs = nowUs;
  }

  /** A new rate from the next run() on (a live change); what is owed so far is kept. */
  setRate(rate: number): void {
    this.rate = rate;
  }

  /** Emits every arrival due by `nowUs`, each with its intended time. */
  run(nowUs: number): void {
    if (this.startUs < 0 || nowUs <= this.lastUs) return;
    const t0 = this.lastUs - this.startUs;
    const t1 = nowUs - this.startUs;
    const r0 = this.rate * this.schedule.scaleAt(t0);
    const r1 = this.rate * this.schedule.scaleAt(t1);
    const gain = ((r0 + r1) / 2) * ((t1 - t0) / 1e6);
    // owed(f) = base + gain * f over the tick (f in 0..1); an arrival where it reaches `due`.
    let base = this.owed;
    while (gain > 0 && base + gain >= this.due) {
      const f = (this.due - base) / gain;
      this.emit(this.lastUs + (f > 0 ? f : 0) * (nowUs - this.lastUs));
      base -= this.due;
      this.due = this.rng === null ? 1 : this.draw();
    }
    this.owed = base + gain;
    this.lastUs = nowUs;
  }

  /** A unit-rate exponential gap. */
  private draw(): number {
    return -Math.log(1 - (this.rng as Prng).next());
  }
}
