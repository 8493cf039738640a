/**
 * Pacing, as Linux's internal pacing: a connection sends at
 *   rate = ratio * max(cwnd, pipe) / SRTT
 * with ratio 2 in slow start (cwnd below half of ssthresh) and 1.2 after
 * (tcp_pacing_ss_ratio, tcp_pacing_ca_ratio), so a window leaves spread over
 * the round trip instead of as one burst that the peer's GRO folds into a
 * single ACK. A segment may leave once the connection's next send time is
 * less than one segment's time away (so segments leave at least two at a
 * time, as Linux's smallest TSO burst: a receiver ACKs every second segment
 * at once and may hold the ACK of a lone one); each moves that time on by its
 * length at the rate. The TCP's clock moves with the poll loop's bursts and
 * its 1 ms ticks, so the time may lag by up to one tick (SLACK): data waiting
 * for its time goes at the next tick or received burst, what the rate
 * allowed since then at once.
 */
import type { TcbStore } from './tcb.js';

/** Linux's defaults, in percent. */
export const PACING_SS_RATIO = 2;
export const PACING_CA_RATIO = 1.2;
/** How far behind the clock the next send time may fall (one poll tick): the burst allowed after a pause. */
const SLACK_US = 1000;

export class Pacer {
  /** Earliest time (µs) the connection's next segment may leave. */
  readonly next: Float64Array;
  /** Wheel deadline (ms) of data waiting for its time, 0 none. */
  readonly at: Float64Array;
  /** One segment's time at the current rate (µs): how far ahead of the clock the next send time may be. */
  readonly lead: Float64Array;

  constructor(
    max: number,
    readonly enabled: boolean,
    private readonly clock: { readonly nowUs: number },
  ) {
    this.next = new Float64Array(max);
    this.at = new Float64Array(max);
    this.lead = new Float64Array(max);
  }

  reset(c: number): void {
    if (!this.enabled) return;
    this.next[c] = 0;
    this.at[c] = 0;
    this.lead[c] = 0;
  }

  /** Bytes per µs, Infinity before an RTT is known. */
  rate(t: TcbStore, c: number, pipe: number): number {
    const srtt = t.srtt[c];
    if (srtt <= 0) return Infinity;
    const cwnd = t.cwnd[c];
    const ratio = cwnd < t.ssthresh[c] >>> 1 ? PACING_SS_RATIO : PACING_CA_RATIO;
    return (ratio * (cwnd > pipe ? cwnd : pipe)) / srtt;
  }

  /** `bytes` left now: the next send time moves on by their time at the rate. */
  sent(t: TcbStore, c: number, bytes: number, pipe: number): void {
    if (!this.enabled) return;
    const r = this.rate(t, c, pipe);
    if (r === Infinity) return;
    const floor = this.clock.nowUs - SLACK_US;
    const n = this.next[c];
    this.next[c] = (n > floor ? n : floor) + bytes / r;
    this.lead[c] = t.sndMss[c] / r;
  }
}
