/**
 * When frames met the wire, on the stack's clock (µs, `monotonicClock`), as a
 * native queue reports them: the kernel's receive time of each frame (the
 * TPACKET_V2 ring's tp_sec/tp_nsec) and the time each TX burst was handed to
 * the driver. The burst call fills them (native/addon.cc): no call, no object
 * per frame.
 *
 * Clocks: the kernel stamps frames with CLOCK_REALTIME; the addon converts
 * them to CLOCK_MONOTONIC with one pair of clock reads per burst, and to the
 * stack's clock with `originNs`, measured once per queue in the thread that
 * polls it (each worker thread's performance.now() has its own origin;
 * process.hrtime is CLOCK_MONOTONIC).
 *
 * TX is stamped just before the driver call: a software timestamp after the
 * call would include, on a veth, the peer's whole receive path (the call runs
 * it), and SO_TIMESTAMPING's TX stamps come back one error-queue message per
 * frame, a system call the burst design exists to avoid.
 */

/** Which clock a figure was measured with: the kernel's receive stamp, or the poll loop's. */
export type WireClock = 'kernel-rx' | 'stack';

export class WireStamps {
  /** Receive time (stack µs) of the frame last received into each slot; meaningful when `rxClock` is 'kernel-rx'. */
  readonly rxUs: Float64Array;
  /** [0]: the last TX burst's hand-over time (stack µs). */
  readonly txUs = new Float64Array(1);
  /** CLOCK_MONOTONIC ns at the stack clock's zero, in this thread. */
  readonly originNs: number;

  constructor(
    slots: number,
    /** 'kernel-rx' when the driver stamps received frames, else 'stack'. */
    public rxClock: WireClock = 'stack',
  ) {
    this.rxUs = new Float64Array(slots);
    this.originNs = monotonicOriginNs();
  }
}

/**
 * CLOCK_MONOTONIC (process.hrtime) minus performance.now(), in ns: the read
 * pair with the smallest gap of a few tries, so the error is well under 1 µs.
 */
export function monotonicOriginNs(): number {
  let best = Infinity;
  let origin = 0;
  for (let i = 0; i < 16; i++) {
    const a = performance.now();
    const h = process.hrtime.bigint();
    const b = performance.now();
    if (b - a < best) {
      best = b - a;
      origin = Number(h) - ((a + b) / 2) * 1e6;
    }
  }
  return origin;
}
