/**
 * Proportional Rate Reduction (RFC 6937) for the window during SACK-based
 * loss recovery. While the pipe is above ssthresh, the sender sends in
 * proportion to what the receiver reports delivered, so that by the end of
 * recovery it has sent ssthresh / RecoverFS of it; once the pipe falls below
 * ssthresh (losses beyond the reduction), it grows back towards ssthresh no
 * faster than slow start (PRR-SSRB: what was delivered, plus one segment when
 * SND.UNA advanced and nothing new was lost). The first ACK of recovery
 * always lets one segment out (the fast retransmit). Counts are bytes.
 */
export class Prr {
  /** prr_delivered, prr_out, RecoverFS (RFC 6937 §3). */
  readonly delivered: Uint32Array;
  readonly out: Uint32Array;
  readonly recoverFs: Uint32Array;

  constructor(max: number) {
    this.delivered = new Uint32Array(max);
    this.out = new Uint32Array(max);
    this.recoverFs = new Uint32Array(max);
  }

  /** Recovery starts with `flight` bytes outstanding (RecoverFS = SND.NXT - SND.UNA). */
  init(c: number, flight: number): void {
    this.delivered[c] = 0;
    this.out[c] = 0;
    this.recoverFs[c] = flight > 0 ? flight : 1;
  }

  /** Bytes (re)transmitted during recovery. */
  sent(c: number, bytes: number): void {
    this.out[c] += bytes;
  }

  /**
   * The ACK delivered `delivered` bytes; returns sndcnt, the bytes that may
   * be sent now (cwnd = pipe + sndcnt). `unaAdvanced` and `newlyLost` feed
   * PRR-SSRB's extra segment.
   */
  sndcnt(c: number, delivered: number, pipe: number, ssthresh: number, mss: number, unaAdvanced: boolean, newlyLost: boolean): number {
    const d = (this.delivered[c] += delivered);
    const out = this.out[c];
    let n: number;
    if (pipe > ssthresh) {
      // Proportional part: CEIL(prr_delivered * ssthresh / RecoverFS) - prr_out.
      n = Math.ceil((d * ssthresh) / this.recoverFs[c]) - out;
    } else {
      // Slow-start reduction bound.
      n = d - out > delivered ? d - out : delivered;
      if (unaAdvanced && !newlyLost) n += mss;
      const room = ssthresh - pipe;
      if (n > room) n = room;
    }
    // The first segment of recovery (the fast retransmit) goes whatever the count.
    if (out === 0 && n < mss) n = mss;
    return n > 0 ? n : 0;
  }
}
