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
 * A TX burst's time is the device's software transmit stamp of its first
 * frame where the driver has one (af_packet's ring socket on a device that
 * stamps transmits: one error-queue message per burst, read in the same
 * call), else the time just before the driver call. A stamp after the call
 * would include, on a veth, the peer's whole receive path (the call runs it);
 * the one before it includes our own send path, 10-25 µs when its cache is
 * cold (a low rate).
 */

/**
 * Which clocks a figure was measured with: the kernel's stamps at both ends
 * ('kernel'), the kernel's receive stamp and the TX hand-over time
 * ('kernel-rx'), or the poll loop's ('stack').
 */
export type WireClock = 'kernel' | 'kernel-rx' | 'stack';

export class WireStamps {
  /** Receive time (stack µs) of the frame last received into each slot; meaningful unless `clock` is 'stack'. */
  readonly rxUs: Float64Array;
  /** [0]: the last TX burst's time (stack µs): the device's stamp when `clock` is 'kernel', else the hand-over time. */
  readonly txUs = new Float64Array(1);
  /** CLOCK_MONOTONIC ns at the stack clock's zero, in this thread. */
  readonly originNs: number;

  constructor(
    slots: number,
    /** What the driver stamps: see WireClock. */
    public clock: WireClock = 'stack',
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
