/**
 * Wire-level timing of the TCP layer (issue 22's wire split): when segments
 * left and answers arrived, on the driver's stamps rather than the poll
 * loop's clock, so neither the loop's delay nor our own processing enters a
 * figure.
 *
 * - Round trip: one segment per connection is timed at a time (the classic
 *   single RTT timer): a SYN (or SYN-ACK) or a new data segment, from the
 *   hand-over time of the TX burst that carried it to the receive time of the
 *   frame whose ACK covers it. A retransmission on the connection drops the
 *   timing (Karn). The handler's optional `onWireRtt` gets each sample.
 * - Connect: the first SYN's TX time (a SYN resent or moved to another port
 *   does not restart it), for the connect phase on the same clocks.
 * - Send runs, for request/response timing above: the wire times of the first
 *   and the last data segment a connection sent since it last received data
 *   (a request's first and last byte out, when nothing is pipelined).
 *
 * A segment's TX time is known only once its burst is flushed: `sent` lists
 * the connection, and `flushed` (TxBatch's hook) stamps every listed one.
 * Receive times are the kernel's (TPACKET_V2 ring) when the queue's driver
 * gives them, else the time of the poll burst (`clock` says which).
 */
import type { WireClock, WireStamps } from '../../port/wire_stamps.js';
import type { WireTimes } from './stream.js';
import { seqGeq } from './seq.js';

const IDLE = 0;
/** A timed segment waits for its TX burst's stamp. */
const QUEUED = 1;
/** A timed segment is on the wire, its ACK awaited. */
const FLYING = 2;

const RUN_FIRST = 1;
const RUN_LAST = 2;
const FIRST_SYN = 4;

/** What the timing reads of the TCP layer. */
export interface WireHost {
  readonly nowUs: number;
  /** The slot of the frame being processed, -1 outside input. */
  readonly rxSlot: number;
}

export class WireRtt implements WireTimes {
  clock: WireClock = 'stack';
  private stamps: WireStamps | null = null;
  private readonly state: Uint8Array;
  private readonly synTx: Float64Array;
  /** End of the timed segment's sequence space. */
  private readonly endSeq: Int32Array;
  private readonly txUs: Float64Array;
  /** A send run is open (data sent since data was last received). */
  private readonly runOpen: Uint8Array;
  private readonly runFirst: Float64Array;
  private readonly runLast: Float64Array;
  /** RUN_* stamps the next flush owes each listed connection. */
  private readonly owed: Uint8Array;
  private readonly listed: Uint8Array;
  private readonly pend: Int32Array;
  private nPend = 0;

  constructor(
    max: number,
    private readonly host: WireHost,
    /** The clock read at a flush when the queue gives no TX stamp (software ports). */
    private readonly now: () => number,
  ) {
    this.state = new Uint8Array(max);
    this.synTx = new Float64Array(max).fill(-1);
    this.endSeq = new Int32Array(max);
    this.txUs = new Float64Array(max);
    this.runOpen = new Uint8Array(max);
    this.runFirst = new Float64Array(max).fill(-1);
    this.runLast = new Float64Array(max).fill(-1);
    this.owed = new Uint8Array(max);
    this.listed = new Uint8Array(max);
    this.pend = new Int32Array(max);
  }

  /** The queue's stamps (native ports); until then, and for software ports, the stack's clock. */
  attach(stamps: WireStamps | undefined): void {
    this.stamps = stamps ?? null;
    this.clock = stamps?.clock ?? 'stack';
  }

  /** A new incarnation of `c`: nothing timed, no run. */
  reset(c: number): void {
    this.state[c] = IDLE;
    this.owed[c] = 0;
    this.runOpen[c] = 0;
    this.runFirst[c] = -1;
    this.runLast[c] = -1;
  }

  /** When the frame being processed was received (the poll burst's time outside input or without kernel stamps). */
  rxUs(): number {
    const s = this.stamps;
    const slot = this.host.rxSlot;
    return s !== null && this.clock !== 'stack' && slot >= 0 ? s.rxUs[slot] : this.host.nowUs;
  }

  /** connect() is about to send `c`'s first SYN: the next flush stamps it. */
  opening(c: number): void {
    this.synTx[c] = -1;
    this.owed[c] |= FIRST_SYN;
  }

  /** When `c`'s first SYN left, -1 unknown. */
  synTxUs(c: number): number {
    return this.synTx[c];
  }

  runFirstTxUs(c: number): number {
    return this.runFirst[c];
  }

  runLastTxUs(c: number): number {
    return this.runLast[c];
  }

  /**
   * `c` emitted a segment: `n` sequence numbers from `seq` (a SYN counts one),
   * `data` when it carries payload, `again` when it is a retransmission (a
   * first SYN that opening() announced is listed all the same).
   */
  sent(c: number, seq: number, n: number, data: boolean, again: boolean): void {
    if (again) this.state[c] = IDLE;
    else if (this.state[c] === IDLE) {
      this.state[c] = QUEUED;
      this.endSeq[c] = (seq + n) | 0;
    }
    if (data && !again) {
      let owe = RUN_LAST;
      if (this.runOpen[c] === 0) {
        this.runOpen[c] = 1;
        owe |= RUN_FIRST;
      }
      this.owed[c] |= owe;
    }
    if (this.listed[c] === 0) {
      this.listed[c] = 1;
      this.pend[this.nPend++] = c;
    }
  }

  /** A TX burst went to the driver: what it carried gets the burst's stamp. */
  flushed(): void {
    if (this.nPend === 0) return;
    const at = this.stamps !== null ? this.stamps.txUs[0] : this.now();
    for (let i = 0; i < this.nPend; i++) {
      const c = this.pend[i];
      this.listed[c] = 0;
      if (this.state[c] === QUEUED) {
        this.state[c] = FLYING;
        this.txUs[c] = at;
      }
      const owe = this.owed[c];
      if ((owe & FIRST_SYN) !== 0) this.synTx[c] = at;
      if ((owe & RUN_FIRST) !== 0) this.runFirst[c] = at;
      if ((owe & RUN_LAST) !== 0) this.runLast[c] = at;
      this.owed[c] = 0;
    }
    this.nPend = 0;
  }

  /** `c` received data: its next data segment opens a new send run. */
  received(c: number): void {
    this.runOpen[c] = 0;
  }

  /**
   * SND.UNA of `c` moved to `ack`: the RTT sample (µs) when it covers the
   * timed segment, else -1.
   */
  acked(c: number, ack: number): number {
    if (this.state[c] !== FLYING || !seqGeq(ack, this.endSeq[c])) return -1;
    this.state[c] = IDLE;
    const r = this.rxUs() - this.txUs[c];
    return r >= 0 ? r : 0;
  }
}
