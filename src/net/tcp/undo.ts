/**
 * Undoing a window reduction that was not needed, as Linux does: a recovery
 * (or RTO) whose retransmissions all came back as D-SACKs (RFC 2883, RFC 3708
 * §3: the receiver had the originals), or whose end is acknowledged with a timestamp
 * echo older than the first retransmission (RFC 3522 Eifel detection: the ACK
 * was for an original), was caused by reordering or delay, not loss: cwnd and
 * ssthresh go back to what they were before it (RFC 9438 §4.9 for CUBIC;
 * Linux's tcp_try_undo_dsack / tcp_try_undo_recovery / tcp_try_undo_loss).
 * Under reordering this is what keeps the window: RACK's first spurious
 * retransmissions come before its reordering window has grown.
 */
import { seqGt } from './seq.js';
import type { TcbStore } from './tcb.js';

/** `armed`: an episode runs; it ended and lingers for its last window; it ended and lingers for two. */
const EPISODE = 1;
const LINGER_LAST = 2;
const LINGER_FIRST = 3;

export class Undo {
  /** cwnd and ssthresh before the reduction. */
  readonly priorCwnd: Uint32Array;
  readonly priorSsthresh: Uint32Array;
  /** SND.UNA when the episode began: D-SACKs above it count against its retransmissions. */
  readonly marker: Uint32Array;
  /** Retransmissions of the episode not yet reported back as duplicates; -1 before the first one. */
  readonly retrans: Int32Array;
  /** TSval of the episode's first retransmission (0: none yet). */
  readonly stamp: Uint32Array;
  /** An episode can still be undone: EPISODE while it runs, LINGER_* after its end. */
  readonly armed: Uint8Array;
  /** After the episode's end, late D-SACKs may undo it until SND.UNA passes this twice (SND.MAX when it ended, then when first passed). */
  readonly until: Uint32Array;

  constructor(max: number) {
    this.priorCwnd = new Uint32Array(max);
    this.priorSsthresh = new Uint32Array(max);
    this.marker = new Uint32Array(max);
    this.retrans = new Int32Array(max);
    this.stamp = new Uint32Array(max);
    this.armed = new Uint8Array(max);
    this.until = new Uint32Array(max);
  }

  /**
   * A reduction is about to happen (recovery or RTO) with SND.UNA at `una`:
   * remember the window. While the last episode still lingers (its last
   * D-SACKs on their way), the new one extends it: its window before is the
   * one to restore, once every resend of both came back as a duplicate.
   */
  begin(t: TcbStore, c: number, una: number): void {
    if (this.armed[c] >= LINGER_LAST) {
      this.armed[c] = EPISODE;
      return;
    }
    this.priorCwnd[c] = t.cwnd[c];
    // As Linux's tcp_current_ssthresh: at least three quarters of the window in use.
    const cur = t.ssthresh[c];
    const q = (t.cwnd[c] >>> 1) + (t.cwnd[c] >>> 2);
    this.priorSsthresh[c] = cur > q ? cur : q;
    this.marker[c] = una;
    this.retrans[c] = -1;
    this.stamp[c] = 0;
    this.armed[c] = EPISODE;
  }

  /** A retransmission of the episode left with timestamp `tsVal`. */
  onRetransmit(c: number, tsVal: number): void {
    if (this.armed[c] === 0) return;
    if (this.stamp[c] === 0) this.stamp[c] = tsVal;
    this.retrans[c] = this.retrans[c] < 0 ? 1 : this.retrans[c] + 1;
  }

  /**
   * A D-SACK [l, r) arrived. A receiver extends the D-SACK it has not sent yet
   * over adjacent duplicates (Linux's tcp_dsack_extend), so one block may
   * report several resent segments of `mss` bytes: each counts (Linux's
   * dup_segs in tcp_dsack_seen).
   */
  onDsack(c: number, l: number, r: number, mss: number): void {
    if (this.armed[c] === 0 || this.retrans[c] <= 0 || !seqGt(r, this.marker[c])) return;
    const segs = Math.ceil(((r - l) >>> 0) / mss);
    this.retrans[c] = this.retrans[c] > segs ? this.retrans[c] - segs : 0;
  }

  /** Every retransmission of the episode was a duplicate at the receiver. */
  allDsacked(c: number): boolean {
    return this.armed[c] !== 0 && this.retrans[c] === 0;
  }

  /**
   * Whether the episode can be undone at its end: all its retransmissions
   * came back as D-SACKs, or none was sent (what was deemed lost arrived
   * before pacing or PRR let its resend out: Linux's tcp_packet_delayed with
   * no retrans_stamp), or the ACK ending it echoes `tsEcr` (0: none) from
   * before the first retransmission (Linux's tcp_may_undo).
   */
  mayUndo(c: number, tsEcr: number): boolean {
    if (this.armed[c] === 0) return false;
    if (this.retrans[c] <= 0) return true;
    const s = this.stamp[c];
    return s !== 0 && tsEcr !== 0 && ((tsEcr - s) | 0) < 0;
  }

  /** Restores the window of before the episode. */
  undo(t: TcbStore, c: number): void {
    if (this.priorCwnd[c] > t.cwnd[c]) t.cwnd[c] = this.priorCwnd[c];
    if (this.priorSsthresh[c] > t.ssthresh[c]) t.ssthresh[c] = this.priorSsthresh[c];
    this.armed[c] = 0;
  }

  /** The episode ended without an undo (or one was done). */
  end(c: number): void {
    this.armed[c] = 0;
  }

  /**
   * Recovery ended without an undo at SND.MAX `sndMax`: D-SACKs still on
   * their way may undo it for two more windows (the D-SACK of a resend sent
   * just before the end comes a round trip later, as late as SND.UNA passing
   * `sndMax`, and later still when the ACKs carrying it are reordered).
   */
  linger(c: number, sndMax: number): void {
    this.until[c] = sndMax;
    this.armed[c] = LINGER_FIRST;
  }

  /**
   * SND.UNA is at `una` outside recovery, SND.MAX at `sndMax`: past the
   * lingering windows the episode is over. At its end it is not (the D-SACK
   * of the last resend follows the ACK of everything when nothing more was sent).
   */
  expire(c: number, una: number, sndMax: number): void {
    const a = this.armed[c];
    if (a < LINGER_LAST || !seqGt(una, this.until[c])) return;
    if (a === LINGER_FIRST) {
      this.armed[c] = LINGER_LAST;
      this.until[c] = sndMax;
    } else {
      this.armed[c] = 0;
    }
  }
}
