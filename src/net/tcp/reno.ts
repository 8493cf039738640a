/**
 * Congestion control behind an interface, so other algorithms can be added.
 * The controller owns `cwnd` and `ssthresh` of the TCB store; the sender calls
 * it at the events RFC 5681 names. NewReno is RFC 5681 + RFC 6582; CUBIC
 * (cubic.ts) extends it. During SACK-based recovery PRR (prr.ts) sets cwnd on
 * each ACK; the controller decides ssthresh when recovery starts.
 */
import type { TcbStore } from './tcb.js';

/** The initial ssthresh (RFC 5681 §3.1: arbitrarily high): slow start until the first congestion event. */
export const SSTHRESH_INIT = 0x7fffffff;

/** Congestion controllers by name (`--cc`, TcpOptions.cc). */
export const CC_NEWRENO = 0;
export const CC_CUBIC = 1;
export const CC_NAMES = ['newreno', 'cubic'] as const;
export type CcName = (typeof CC_NAMES)[number];

/** Index of a controller name, -1 when unknown. */
export function ccIndex(name: string): number {
  return (CC_NAMES as readonly string[]).indexOf(name);
}

/** The time a controller reads (the TCP layer's clock). */
export interface CcClock {
  readonly nowUs: number;
}

export interface CongestionControl {
  /** Connection established: the initial window. */
  init(c: number): void;
  /**
   * `acked` bytes newly delivered outside recovery (cumulatively
   * acknowledged, or SACKed), `ack` the ACK field, `rttUs` this ACK's RTT
   * sample from a never-retransmitted segment (-1: none).
   */
  onAck(c: number, acked: number, ack: number, rttUs: number): void;
  /**
   * Loss detected: set ssthresh. With `pipe` (SACK), PRR sets cwnd on each
   * ACK of the recovery; without it, RFC 6582 fast recovery inflates the
   * window (onDupAck/onPartialAck).
   */
  enterRecovery(c: number, pipe: boolean): void;
  /** A further duplicate ACK during RFC 6582 recovery. */
  onDupAck(c: number): void;
  /** An ACK that advanced SND.UNA but not past `recover` (RFC 6582). */
  onPartialAck(c: number, acked: number): void;
  /** Recovery ended by an ACK covering `recover`; `pipe` as at enterRecovery. */
  exitRecovery(c: number, pipe: boolean): void;
  /** Retransmission timeout. */
  onRto(c: number): void;
  /** A reduction proven spurious was undone: cwnd and ssthresh are back (undo.ts). */
  onUndo(c: number): void;
}

export class NewReno implements CongestionControl {
  constructor(
    protected readonly t: TcbStore,
    protected readonly clock: CcClock,
  ) {}

  protected flight(c: number): number {
    return (this.t.sndMax[c] - this.t.sndUna[c]) >>> 0;
  }

  /** The reduced window on loss: RFC 5681 eq. (4), ssthresh = max(FlightSize / 2, 2*SMSS). */
  protected reduce(c: number): void {
    const mss = this.t.sndMss[c];
    const half = this.flight(c) >>> 1;
    this.t.ssthresh[c] = half > 2 * mss ? half : 2 * mss;
    this.t.caAcked[c] = 0;
  }

  init(c: number): void {
    // RFC 6928: IW = min(10*MSS, max(2*MSS, 14600)).
    const mss = this.t.sndMss[c];
    const iw = 2 * mss > 14600 ? 2 * mss : 14600;
    this.t.cwnd[c] = 10 * mss < iw ? 10 * mss : iw;
    this.t.ssthresh[c] = SSTHRESH_INIT;
    this.t.caAcked[c] = 0;
  }

  /** RFC 7661 §4.1 spirit: a window the sender is not using (flight before this ACK under half of it) does not grow. */
  protected appLimited(c: number, acked: number): boolean {
    return 2 * (this.flight(c) + acked) < this.t.cwnd[c];
  }

  onAck(c: number, acked: number, _ack: number, _rttUs: number): void {
    const t = this.t;
    const mss = t.sndMss[c];
    const cwnd = t.cwnd[c];
    if (this.appLimited(c, acked)) return;
    if (cwnd < t.ssthresh[c]) {
      // RFC 5681 §3.1 slow start, byte counting limited to SMSS per ACK (RFC 3465 L = 1).
      t.cwnd[c] = cwnd + (acked < mss ? acked : mss);
    } else {
      // Congestion avoidance by RFC 3465 §2.1 byte counting: one SMSS per cwnd of bytes
      // acknowledged, whatever the ACK ratio (eq. (3) per ACK grows a third as fast
      // against Linux, which acknowledges every second or third segment).
      let a = t.caAcked[c] + acked;
      if (a >= cwnd) {
        a -= cwnd;
        t.cwnd[c] = cwnd + mss;
      }
      t.caAcked[c] = a;
    }
  }

  enterRecovery(c: number, pipe: boolean): void {
    // RFC 6582 §3.2 step 2 / RFC 5681 §3.2 steps 2-3; RFC 6675 §5 step 4.2: cwnd = ssthresh.
    this.reduce(c);
    this.t.cwnd[c] = this.t.ssthresh[c] + (pipe ? 0 : 3 * this.t.sndMss[c]);
  }

  onDupAck(c: number): void {
    this.t.cwnd[c] += this.t.sndMss[c]; // RFC 6582 §3.2 step 3: inflate
  }

  onPartialAck(c: number, acked: number): void {
    // RFC 6582 §3.2 step 5: deflate by the newly acked amount, add back one SMSS if >= SMSS.
    const t = this.t;
    const mss = t.sndMss[c];
    let w = t.cwnd[c] - acked;
    if (acked >= mss) w += mss;
    t.cwnd[c] = w > mss ? w : mss;
  }

  exitRecovery(c: number, pipe: boolean): void {
    const t = this.t;
    // Recovery sent by the pipe (PRR) inflated nothing: the window ends at ssthresh
    // (RFC 6937; Linux ends its reduction there too). Deflating it to the flight
    // left at the end of recovery, often one segment, sends a lone segment that the
    // peer's delayed ACK holds for up to 200 ms.
    if (pipe) {
      t.cwnd[c] = t.ssthresh[c];
      return;
    }
    // RFC 6582 §3.2 step 4 option 1: min(ssthresh, max(FlightSize, SMSS) + SMSS).
    const mss = t.sndMss[c];
    const f = this.flight(c);
    const w = (f > mss ? f : mss) + mss;
    t.cwnd[c] = w < t.ssthresh[c] ? w : t.ssthresh[c];
  }

  onRto(c: number): void {
    // RFC 5681 §3.1 eq. (4) and LW = 1 SMSS.
    this.reduce(c);
    this.t.cwnd[c] = this.t.sndMss[c];
  }

  /** Nothing of New Reno's beyond cwnd and ssthresh depends on the reduction. */
  onUndo(_c: number): void {}
}
