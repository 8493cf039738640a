/**
 * CUBIC (RFC 9438). After a congestion event the window follows
 *   W_cubic(t) = C (t - K)^3 + W_max,   K = cbrt((W_max - cwnd_epoch) / C)
 * (in segments and seconds, t since the epoch began): concave up to the
 * window where the loss happened, then convex beyond it. Each ACK moves cwnd
 * towards W_cubic one RTT ahead (at most 1.5 cwnd), or to the Reno-friendly
 * estimate W_est when that is larger. On loss ssthresh = 0.7 cwnd, and with
 * fast convergence W_max is set below the window of the loss when that window
 * is below the last W_max (another flow is taking bandwidth). Slow start is
 * HyStart++ (hystart.ts), the increase per ACK capped at 8 SMSS unless the
 * sender paces (RFC 9406 §4.2 L). Windows are kept in segments as floats;
 * cwnd itself stays in bytes in the TCB store.
 */
import { HY_EXIT, HyStart } from './hystart.js';
import { type CcClock, NewReno, SSTHRESH_INIT } from './reno.js';
import type { TcbStore } from './tcb.js';

/** RFC 9438 §4.1 / §4.6. */
export const CUBIC_C = 0.4;
export const CUBIC_BETA = 0.7;
/** RFC 9438 §4.3: α of the Reno-friendly region, for the same average window as Reno with β = 0.5. */
export const CUBIC_ALPHA = (3 * (1 - CUBIC_BETA)) / (1 + CUBIC_BETA);
/** RFC 9406 §4.2 L without pacing. */
const SS_L_UNPACED = 8;

export class Cubic extends NewReno {
  /**
   * W_max (segments: the window of the last congestion event, lowered by fast
   * convergence), the curve's plateau (W_max, or the window the epoch started
   * from when above it), K (s), the epoch's start (µs, 0 none), W_est
   * (segments), fractional bytes of growth.
   */
  readonly wMax: Float32Array;
  readonly origin: Float32Array;
  readonly k: Float32Array;
  readonly epochUs: Float64Array;
  readonly wEst: Float32Array;
  readonly acc: Float32Array;
  readonly hystart: HyStart;

  constructor(
    t: TcbStore,
    clock: CcClock,
    /** The sender paces: slow start's increase per ACK is not capped (RFC 9406 L = infinity). */
    private readonly paced: boolean,
    /** Fast convergence (RFC 9438 §4.7). */
    private readonly fastConvergence = true,
  ) {
    super(t, clock);
    const max = t.max;
    this.wMax = new Float32Array(max);
    this.origin = new Float32Array(max);
    this.k = new Float32Array(max);
    this.epochUs = new Float64Array(max);
    this.wEst = new Float32Array(max);
    this.acc = new Float32Array(max);
    this.hystart = new HyStart(max);
  }

  override init(c: number): void {
    super.init(c);
    // The curve's other values are set when an epoch starts.
    this.wMax[c] = 0;
    this.epochUs[c] = 0;
    this.hystart.init(c);
  }

  /** RFC 9438 §4.6-4.7: a congestion event. */
  protected override reduce(c: number): void {
    const t = this.t;
    const mss = t.sndMss[c];
    const cwnd = t.cwnd[c];
    const seg = cwnd / mss;
    this.wMax[c] = this.fastConvergence && seg < this.wMax[c] ? (seg * (1 + CUBIC_BETA)) / 2 : seg;
    // 0.7 cwnd in integer arithmetic (cwnd * 0.7 in floating point falls a byte short of round numbers).
    const ss = Math.floor((cwnd * 7) / 10);
    t.ssthresh[c] = ss > 2 * mss ? ss : 2 * mss;
    t.caAcked[c] = 0;
    this.epochUs[c] = 0;
    this.acc[c] = 0;
    this.hystart.done(c);
  }

  /** The window the cubic function gives `tUs` after the epoch began, in segments. */
  window(c: number, tUs: number): number {
    const d = tUs / 1e6 - this.k[c];
    return CUBIC_C * d * d * d + this.origin[c];
  }

  /** Starts an epoch now, from a window of `seg` segments (RFC 9438 §4.2). */
  private startEpoch(c: number, seg: number, now: number): void {
    this.epochUs[c] = now > 0 ? now : 1;
    this.wEst[c] = seg;
    this.acc[c] = 0;
    if (seg < this.wMax[c]) {
      this.k[c] = Math.cbrt((this.wMax[c] - seg) / CUBIC_C);
      this.origin[c] = this.wMax[c];
    } else {
      this.k[c] = 0;
      this.origin[c] = seg;
    }
  }

  override onAck(c: number, acked: number, ack: number, rttUs: number): void {
    const t = this.t;
    const mss = t.sndMss[c];
    const cwnd = t.cwnd[c];
    if (this.appLimited(c, acked)) {
      // RFC 9438 §5.8: no growth while the application leaves the window unused; the curve restarts when it fills it again.
      this.epochUs[c] = 0;
      return;
    }
    if (cwnd < t.ssthresh[c]) {
      const div = this.hystart.onAck(c, ack, rttUs, t.sndNxt[c]);
      if (div === HY_EXIT) {
        t.ssthresh[c] = cwnd;
        return;
      }
      const cap = this.paced ? acked : SS_L_UNPACED * mss;
      const inc = acked < cap ? acked : cap;
      t.cwnd[c] = cwnd + Math.floor(inc / div);
      return;
    }
    const now = this.clock.nowUs;
    const seg = cwnd / mss;
    if (this.epochUs[c] === 0) this.startEpoch(c, seg, now);
    const elapsed = now - this.epochUs[c];
    const srtt = t.srtt[c] > 0 ? t.srtt[c] : 0;
    // Target: W_cubic one RTT ahead, within [cwnd, 1.5 cwnd].
    let target = this.window(c, elapsed + srtt);
    if (target < seg) target = seg;
    else if (target > 1.5 * seg) target = 1.5 * seg;
    // Reno-friendly estimate (§4.3).
    const ackedSeg = acked / mss;
    const est = this.wEst[c] + ((this.wEst[c] < this.origin[c] ? CUBIC_ALPHA : 1) * ackedSeg) / seg;
    this.wEst[c] = est;
    let next: number;
    if (this.window(c, elapsed) < est) next = est > seg ? est : seg;
    else next = seg + ((target - seg) * ackedSeg) / seg;
    // Bytes of growth, the fraction carried to the next ACK.
    const grow = (next - seg) * mss + this.acc[c];
    const whole = Math.floor(grow);
    this.acc[c] = grow - whole;
    if (whole > 0) t.cwnd[c] = cwnd + whole;
  }

  /**
   * Back in the initial slow start (the undone reduction came before its end):
   * HyStart++ watches the rounds again, as Linux's stays on through an undone
   * recovery; RFC 9406 ends it on a loss, and there was none.
   */
  override onUndo(c: number): void {
    if (this.t.ssthresh[c] === SSTHRESH_INIT) this.hystart.init(c);
  }

  override onRto(c: number): void {
    // RFC 9438 §4.8: the reduction of a congestion event, and cwnd = 1 SMSS.
    this.reduce(c);
    this.t.cwnd[c] = this.t.sndMss[c];
  }
}
