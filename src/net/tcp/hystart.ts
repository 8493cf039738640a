/**
 * HyStart++ (RFC 9406): slow start that watches the minimum RTT of each
 * round trip. When a round's minimum (after 8 samples) exceeds the previous
 * round's by RttThresh (its eighth, clamped to 4..16 ms), the queue is
 * building: growth drops to a quarter (Conservative Slow Start); if the RTT
 * falls back below where CSS began, slow start resumes, and after 5 rounds of
 * CSS the connection enters congestion avoidance with ssthresh = cwnd. Used
 * for the initial slow start only (a loss ends it).
 */

/** RFC 9406 §4.3 constants. */
export const MIN_RTT_THRESH_US = 4000;
export const MAX_RTT_THRESH_US = 16000;
export const MIN_RTT_DIVISOR = 8;
export const N_RTT_SAMPLE = 8;
export const CSS_GROWTH_DIVISOR = 4;
export const CSS_ROUNDS = 5;

/** Modes. */
export const HY_SS = 0;
export const HY_CSS = 1;
/** Slow start is over (a loss, or CSS ran its rounds): HyStart++ does nothing more. */
export const HY_DONE = 2;
/** Initial slow start, the round state not set yet (it is on the first ACK). */
const HY_START = 3;

/** What onAck tells the controller. */
export const HY_GROW = 1;
export const HY_GROW_CSS = CSS_GROWTH_DIVISOR;
/** Enter congestion avoidance now (ssthresh = cwnd). */
export const HY_EXIT = 0;

const INF = 0x7fffffff;

export class HyStart {
  /** The round ends when SND.UNA passes windowEnd. */
  readonly windowEnd: Uint32Array;
  readonly lastRoundMin: Int32Array;
  readonly curRoundMin: Int32Array;
  readonly samples: Uint8Array;
  readonly cssBaseline: Int32Array;
  readonly cssRounds: Uint8Array;
  readonly mode: Uint8Array;

  constructor(max: number) {
    this.windowEnd = new Uint32Array(max);
    this.lastRoundMin = new Int32Array(max);
    this.curRoundMin = new Int32Array(max);
    this.samples = new Uint8Array(max);
    this.cssBaseline = new Int32Array(max);
    this.cssRounds = new Uint8Array(max);
    this.mode = new Uint8Array(max);
  }

  /** Initial slow start begins (the rounds start with its first ACK). */
  init(c: number): void {
    this.mode[c] = HY_START;
  }

  /** The first round ends with the data sent so far. */
  private start(c: number, sndNxt: number): void {
    this.windowEnd[c] = sndNxt;
    this.lastRoundMin[c] = INF;
    this.curRoundMin[c] = INF;
    this.samples[c] = 0;
    this.cssBaseline[c] = INF;
    this.cssRounds[c] = 0;
    this.mode[c] = HY_SS;
  }

  done(c: number): void {
    this.mode[c] = HY_DONE;
  }

  /**
   * An ACK in slow start: `ack` its cumulative ACK, `rttUs` its RTT sample
   * (-1 none), `sndNxt` where the next round ends. Returns the divisor of
   * the slow-start increase (HY_GROW, HY_GROW_CSS) or HY_EXIT.
   */
  onAck(c: number, ack: number, rttUs: number, sndNxt: number): number {
    let m = this.mode[c];
    if (m === HY_DONE) return HY_GROW;
    if (m === HY_START) {
      this.start(c, sndNxt);
      m = HY_SS;
    }
    // A new round (RFC 9406 §4.2): this ACK passed the end of the last one.
    if (((ack - this.windowEnd[c]) | 0) >= 0) {
      this.lastRoundMin[c] = this.curRoundMin[c];
      this.curRoundMin[c] = INF;
      this.samples[c] = 0;
      this.windowEnd[c] = sndNxt;
      if (m === HY_CSS && ++this.cssRounds[c] >= CSS_ROUNDS) {
        this.mode[c] = HY_DONE;
        return HY_EXIT;
      }
    }
    if (rttUs >= 0) {
      if (rttUs < this.curRoundMin[c]) this.curRoundMin[c] = rttUs;
      if (this.samples[c] < 255) this.samples[c]++;
    }
    const cur = this.curRoundMin[c];
    const last = this.lastRoundMin[c];
    if (this.samples[c] >= N_RTT_SAMPLE && cur !== INF) {
      if (m === HY_SS && last !== INF) {
        let thresh = Math.floor(last / MIN_RTT_DIVISOR);
        if (thresh > MAX_RTT_THRESH_US) thresh = MAX_RTT_THRESH_US;
        if (thresh < MIN_RTT_THRESH_US) thresh = MIN_RTT_THRESH_US;
        if (cur >= last + thresh) {
          this.cssBaseline[c] = cur;
          this.cssRounds[c] = 0;
          this.mode[c] = HY_CSS;
        }
      } else if (m === HY_CSS && cur < this.cssBaseline[c]) {
        // The RTT increase was spurious: back to slow start.
        this.cssBaseline[c] = INF;
        this.mode[c] = HY_SS;
      }
    }
    return this.mode[c] === HY_CSS ? HY_GROW_CSS : HY_GROW;
  }
}
