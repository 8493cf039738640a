/**
 * RACK-TLP (RFC 8985): time-based loss detection over the scoreboard
 * (rtx_queue.ts), for connections with SACK. A segment is lost when a segment
 * sent at least a reordering window later has been delivered: RACK keeps the
 * send time of the most recently sent delivered segment (RACK.xmit_ts), the
 * RTT it measured, and marks every un-SACKed segment sent before it, longer
 * ago than RACK.rtt + RACK.reo_wnd, lost. The reordering window starts at 0
 * (until reordering is seen) or min_RTT / 4, grows by that much per round in
 * which a D-SACK shows a spurious retransmission, and returns to one step
 * after 16 recoveries without one. Segments not yet past their window arm
 * the reordering timer. The tail loss probe's episode (§7.4) is tracked here
 * too: a probe that retransmitted the tail and was acknowledged without a
 * D-SACK repaired a loss, and the window is reduced once.
 */
import { R_EVER, R_LOST, R_RETRANS, type RtxQueue, type XmitClock } from './rtx_queue.js';
import { DUP_THRESH } from './sack.js';
import { seqGt, seqLt } from './seq.js';

/** Bits of `flags`. */
const REORDERING_SEEN = 1;
const DSACK_ROUND = 2;
/** A TLP episode is open (TLP.end_seq valid). */
const TLP_EPISODE = 4;
/** The episode's probe was a retransmission. */
const TLP_RETRANS = 8;
/** A D-SACK ending at TLP.end_seq arrived: it reports the probe (or its original) as a duplicate. */
const TLP_DSACKED = 16;
/** This recovery sent its rescue retransmission (RFC 6675 §4 NextSeg rule 4). */
const RESCUED = 32;
/** The state beyond flags and min_RTT was set (lazily, on first use: a short connection never needs it). */
const INIT = 64;

/** RFC 8985 §6.2 step 4: recoveries a grown reordering window survives without a D-SACK. */
const REO_WND_PERSIST = 16;
/** Ceiling of the reordering window's multiplier (the window is bounded by SRTT anyway). */
const REO_WND_MULT_MAX = 255;

export class Rack {
  /** RACK.xmit_ts (µs, -1 none), RACK.end_seq, RACK.rtt (µs). */
  readonly xmitTs: Float64Array;
  readonly endSeq: Uint32Array;
  readonly rtt: Int32Array;
  /** RACK.fack: highest sequence delivered (ACKed or SACKed). */
  readonly fack: Uint32Array;
  /** RACK.min_RTT in µs (-1 none): the minimum over the connection, from never-retransmitted segments. */
  readonly minRtt: Int32Array;
  readonly reoMult: Uint8Array;
  readonly reoPersist: Uint8Array;
  /** RACK.dsack_round: SND.MAX when the window last grew; a D-SACK before SND.UNA passes it does not grow it again. */
  readonly dsackRound: Uint32Array;
  /** TLP.end_seq. */
  readonly tlpEnd: Uint32Array;
  readonly flags: Uint8Array;
  /** Deadline of the reordering timer (ms, 0 none). */
  readonly reoAt: Float64Array;
  /** Records marked lost by the last detectLoss() call. */
  newlyLost = 0;
  /** D-SACKs (RFC 2883) received and those that covered retransmitted data (spurious retransmissions). */
  dsacks = 0;
  spurious = 0;

  constructor(
    max: number,
    private readonly clock: XmitClock,
  ) {
    this.xmitTs = new Float64Array(max);
    this.endSeq = new Uint32Array(max);
    this.rtt = new Int32Array(max);
    this.fack = new Uint32Array(max);
    this.minRtt = new Int32Array(max);
    this.reoMult = new Uint8Array(max);
    this.reoPersist = new Uint8Array(max);
    this.dsackRound = new Uint32Array(max);
    this.tlpEnd = new Uint32Array(max);
    this.flags = new Uint8Array(max);
    this.reoAt = new Float64Array(max);
  }

  /**
   * A connection is established, its handshake having measured `rttUs` (-1:
   * none, the SYN was resent): the first min_RTT. The rest is set when first
   * needed, by ensure().
   */
  init(c: number, rttUs: number): void {
    this.flags[c] = 0;
    this.minRtt[c] = rttUs;
  }

  /** Sets RACK's state at its first use, with SND.UNA at `una`. */
  ensure(c: number, una: number): void {
    if ((this.flags[c] & INIT) !== 0) return;
    this.xmitTs[c] = -1;
    this.endSeq[c] = una;
    this.rtt[c] = 0;
    this.fack[c] = una;
    this.reoMult[c] = 1;
    this.reoPersist[c] = 0;
    this.flags[c] |= INIT;
  }

  /**
   * Everything delivered is below `una` (nothing SACKed now): RACK.fack is
   * there; a segment this ACK delivered below the old RACK.fack (one SACKed
   * earlier was above it) arrived out of order (§6.2 step 3).
   */
  allAcked(c: number, rtx: RtxQueue, una: number): void {
    if ((this.flags[c] & INIT) === 0) return;
    if (rtx.haveLowest && seqLt(rtx.lowestEnd, this.fack[c])) this.flags[c] |= REORDERING_SEEN;
    this.fack[c] = una;
  }

  /**
   * RFC 8985 §6.2 steps 2-3 with what rtx collected from one ACK's newly
   * delivered records: advance RACK.xmit_ts / end_seq / rtt, see reordering.
   */
  update(c: number, rtx: RtxQueue): void {
    if (rtx.rackXmit >= 0) {
      const x = rtx.rackXmit;
      const prev = this.xmitTs[c];
      if (x > prev || (x === prev && seqGt(rtx.rackEnd, this.endSeq[c]))) {
        this.xmitTs[c] = x;
        this.endSeq[c] = rtx.rackEnd;
      }
      const r = this.clock.nowUs - x;
      this.rtt[c] = r > 0 ? r : 0;
    }
    // Step 3: a never-retransmitted segment delivered below what was already delivered arrived out of order.
    if (rtx.haveLowest && seqLt(rtx.lowestEnd, this.fack[c])) this.flags[c] |= REORDERING_SEEN;
    if (rtx.haveHighest && seqGt(rtx.highestEnd, this.fack[c])) this.fack[c] = rtx.highestEnd;
  }

  /**
   * A D-SACK arrived (RFC 8985 §6.2 step 4): once per round trip the
   * reordering window grows by a step and persists for 16 recoveries.
   * `retrans`: it covered data we had retransmitted (a spurious retransmission).
   */
  onDsack(c: number, una: number, sndMax: number, retrans: boolean): void {
    this.ensure(c, una);
    this.dsacks++;
    if (retrans) this.spurious++;
    const f = this.flags[c];
    if ((f & DSACK_ROUND) === 0 || seqGt(una, this.dsackRound[c])) {
      this.flags[c] = f | DSACK_ROUND;
      this.dsackRound[c] = sndMax;
      // Doubled rather than RFC 8985's one step: the step is min_RTT / 4, and segments that
      // overtook others (the reordering itself) set min_RTT: one step per round trip took
      // ~80 round trips to cover a 2 ms displacement on a 0.1 ms min_RTT (vaigAI sent 25
      // Mbit/s against Linux's 460 through 5% reordering; doubled, 185).
      const m = this.reoMult[c];
      this.reoMult[c] = m < REO_WND_MULT_MAX >> 1 ? 2 * m : REO_WND_MULT_MAX;
      this.reoPersist[c] = REO_WND_PERSIST;
    }
  }

  /** Loss recovery ended (step 4: the grown window decays back after REO_WND_PERSIST recoveries). */
  onRecoveryEnd(c: number): void {
    if (this.reoPersist[c] > 0 && --this.reoPersist[c] === 0) this.reoMult[c] = 1;
  }

  /** RACK.reo_wnd in µs (RFC 8985 §6.2 step 4). */
  reoWnd(c: number, inRecovery: boolean, sackedSegs: number, srttUs: number): number {
    const seen = (this.flags[c] & REORDERING_SEEN) !== 0;
    if (!seen && (inRecovery || sackedSegs >= DUP_THRESH)) return 0;
    let m = this.minRtt[c];
    if (m < 0) return 0;
    // Once reordering is seen the step is min_RTT / 4 but not below SRTT / 32: segments that
    // overtook others by taking a faster path set a min_RTT that says nothing about how late
    // the others come (through 5% reordering, a quarter of the recoveries and retransmissions).
    if (seen && m < srttUs >> 3) m = srttUs >> 3;
    const w = (this.reoMult[c] * m) >> 2;
    return srttUs > 0 && w > srttUs ? srttUs : w;
  }

  /**
   * RFC 8985 §6.2 step 5, RACK_detect_loss: marks lost every un-SACKed
   * record sent before RACK.xmit_ts whose time (RACK.rtt + reo_wnd) is up.
   * Records are walked in sequence order from SND.UNA, SACKed runs skipped;
   * the walk ends at the first never-retransmitted record sent after
   * RACK.xmit_ts (those above it were sent later still). Returns the time
   * in µs until the next record would be deemed lost (0: none waits).
   */
  detectLoss(c: number, rtx: RtxQueue, reoWnd: number): number {
    const nowUs = this.clock.nowUs;
    this.newlyLost = 0;
    const rx = this.xmitTs[c];
    if (rx < 0 || rtx.count[c] === 0) return 0;
    const re = this.endSeq[c];
    const horizon = this.rtt[c] + reoWnd;
    let timeout = 0;
    let k = rtx.unsacked(c, rtx.head[c]);
    while (rtx.valid(c, k)) {
      const p = rtx.pos(c, k);
      const f = rtx.flags[p];
      const x = rtx.xmit[p];
      // RACK_sent_after(RACK.xmit_ts, RACK.end_seq, Segment.xmit_ts, Segment.end_seq)
      const before = rx > x || (rx === x && seqGt(re, rtx.end[p]));
      if (!before) {
        if ((f & R_EVER) === 0) break;
      } else if ((f & (R_LOST | R_RETRANS)) !== R_LOST) {
        const remaining = x + horizon - nowUs;
        if (remaining <= 0) {
          rtx.markLost(c, p);
          this.newlyLost++;
        } else if (remaining > timeout) {
          timeout = remaining;
        }
      }
      k = rtx.unsacked(c, (k + 1) >>> 0);
    }
    return timeout;
  }

  /** A recovery starts: it may send one rescue retransmission. */
  onRecoveryStart(c: number): void {
    this.flags[c] &= ~RESCUED;
  }

  /** Takes this recovery's rescue retransmission; false when it was sent already. */
  takeRescue(c: number): boolean {
    if ((this.flags[c] & RESCUED) !== 0) return false;
    this.flags[c] |= RESCUED;
    return true;
  }

  // ---- TLP episode (RFC 8985 §7.4) ----

  /** A probe left; SND.MAX after it is TLP.end_seq. */
  tlpSent(c: number, sndMax: number, retrans: boolean): void {
    this.ensure(c, sndMax);
    this.tlpEnd[c] = sndMax;
    this.flags[c] = (this.flags[c] & ~(TLP_RETRANS | TLP_DSACKED)) | TLP_EPISODE | (retrans ? TLP_RETRANS : 0);
  }

  tlpOpen(c: number): boolean {
    return (this.flags[c] & TLP_EPISODE) !== 0;
  }

  /** A D-SACK [l, r): when it ends at TLP.end_seq, the original and the probe both arrived (as Linux's FLAG_DSACK_TLP). */
  tlpDsack(c: number, r: number): void {
    if ((this.flags[c] & (TLP_EPISODE | TLP_RETRANS)) === (TLP_EPISODE | TLP_RETRANS) && r === this.tlpEnd[c]) this.flags[c] |= TLP_DSACKED;
  }

  /**
   * Ends the episode as an ACK decides (Linux's tcp_process_tlp_ack): returns
   * true when the probe repaired a loss (it was a retransmission, and an ACK
   * beyond it came with no D-SACK for it): the caller reduces the window once.
   */
  tlpAck(c: number, ack: number, unaAdvanced: boolean, dataSacked: boolean): boolean {
    const f = this.flags[c];
    if ((f & TLP_EPISODE) === 0 || seqLt(ack, this.tlpEnd[c])) return false;
    const close = (): void => {
      this.flags[c] &= ~(TLP_EPISODE | TLP_RETRANS | TLP_DSACKED);
    };
    if ((f & TLP_RETRANS) === 0 || (f & TLP_DSACKED) !== 0) {
      close();
      return false;
    }
    if (seqGt(ack, this.tlpEnd[c])) {
      close();
      return true;
    }
    if (!unaAdvanced && !dataSacked) close(); // a pure duplicate: both copies arrived
    return false;
  }

  /** After an RTO the episode no longer matters. */
  tlpReset(c: number): void {
    this.flags[c] &= ~(TLP_EPISODE | TLP_RETRANS | TLP_DSACKED);
  }
}
