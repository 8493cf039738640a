/**
 * The sender's scoreboard: one record per segment sent and not yet
 * cumulatively acknowledged (its sequence range, the time it last left and
 * its state: SACKed, lost, retransmission in flight, ever retransmitted), as
 * Linux's retransmission queue. RACK (RFC 8985) needs the send time of every
 * segment, RFC 6675's pipe needs what is SACKed, lost and retransmitted; the
 * records give both, and the byte counts kept beside them make the pipe O(1):
 *   pipe = (SND.MAX - SND.UNA) - sacked - lost + retransmitted.
 *
 * A connection's records sit in a ring (a power-of-two block of a shared
 * arena, taken when it first sends and returned when everything is
 * acknowledged), in sequence order, so a SACK block's first record is found by
 * binary search. Records are addressed by an absolute index per connection
 * (32-bit, wrapping), the ring position being its low bits, so growing the
 * ring (doubling into a new block) keeps every index. A union-find over the
 * records ("first un-SACKed record at or after k") skips SACKed runs, so
 * tagging a block that repeats what earlier ACKs reported costs nearly
 * nothing, and walks over the holes do not visit the SACKed data between them.
 *
 * Records never split or merge: a retransmission resends one record's exact
 * range, so SACK blocks (which follow the segments the receiver got) cover
 * whole records; a record a block covers only in part stays un-SACKed.
 *
 * The arena is a lazy buddy allocator: blocks of 2^order records, freed
 * blocks go on their order's list at once and buddies merge only when an
 * allocation finds no block (a pass over the arena). Nothing is allocated per
 * segment or per ACK.
 */
import { seqGt, seqLeq, seqLt } from './seq.js';

/**
 * The clock the scoreboard reads (the TCP layer: its time in µs, and a send
 * time for each segment leaving). Read from the object rather than passed:
 * a double (or a sequence number above 2^31) passed to a call that is not
 * inlined is boxed, once per segment.
 */
export interface XmitClock {
  readonly nowUs: number;
  xmitTime(): number;
}

/** Record flags. */
export const R_SACKED = 1;
/** Deemed lost (by RACK, or by an RTO): counted out of the pipe until SACKed or acknowledged. */
export const R_LOST = 2;
/** A retransmission of it is in flight (counted back into the pipe). */
export const R_RETRANS = 4;
/** Retransmitted at least once (Karn; RACK's ambiguity rule; D-SACK of a retransmission = spurious). */
export const R_EVER = 8;

/** Smallest ring: 4 records. */
const MIN_ORDER = 2;
/** Largest ring: 65,536 records (a 64 MB window of full segments). */
const MAX_ORDER = 16;
const NONE = -1;

export class RtxQueue {
  /** Arena, indexed by ring position. */
  readonly start: Uint32Array;
  readonly end: Uint32Array;
  /** Time the record last left, µs. */
  readonly xmit: Float64Array;
  readonly flags: Uint8Array;
  /** Union-find parent of a SACKed record: an absolute index after it with only SACKed records between. */
  private readonly up: Uint32Array;

  /** Per connection: arena offset of the ring (-1: none), its order, absolute index of the first record, record count. */
  readonly base: Int32Array;
  readonly order: Uint8Array;
  readonly head: Uint32Array;
  readonly count: Uint32Array;
  /** Per connection: bytes SACKed, marked lost, and retransmitted and in flight. */
  readonly sacked: Uint32Array;
  /** Per connection: records SACKed (RACK.segs_sacked). */
  readonly sackedSegs: Uint32Array;
  readonly lost: Uint32Array;
  readonly retrans: Uint32Array;

  // ---- results of the last cumAck()/tagSacked() calls since beginAck(), read by the ACK processing ----
  /** Bytes newly delivered (cumulatively acknowledged without having been SACKed, or newly SACKed): RFC 6937 DeliveredData. */
  delivered = 0;
  /** The cumulative ACK covered a record that was retransmitted (Karn: no RTT sample from it). */
  cumRetrans = false;
  /** Send time and end of the most recently sent newly delivered record that passes RACK's ambiguity rule (RFC 8985 §6.2 step 2); xmit -1 if none. */
  rackXmit = -1;
  rackEnd = 0;
  /** Send time of the first newly cumulatively acknowledged record never retransmitted (the RTO's RTT sample), -1 if none. */
  seqRttXmit = -1;
  /** Latest send time of a newly delivered record never retransmitted (the minimum-RTT and HyStart++ sample), -1 if none. */
  caRttXmit = -1;
  /** Lowest end of a newly delivered record never retransmitted (reordering when below the previous highest delivered). */
  lowestEnd = 0;
  haveLowest = false;
  /** Highest end of a newly delivered record (RACK.fack candidate), valid when haveHighest. */
  highestEnd = 0;
  haveHighest = false;
  /** RACK.min_RTT, the input of its ambiguity rule for this ACK. */
  private minRttUs = 0;

  // ---- arena allocator ----
  private readonly arenaOrder: number;
  private readonly freeHead: Int32Array;
  /** Per min-block: order of the free block starting there, or -1. */
  private readonly freeOrder: Int8Array;
  private freeRecords: number;
  /** A block was freed since the last coalescing pass. */
  private dirty = false;
  /** Allocations refused (the arena could not hold the ring). */
  refused = 0;
  /** Connections holding a ring: sending, or with data in flight. */
  rings = 0;

  constructor(
    maxConns: number,
    records: number,
    private readonly clock: XmitClock,
  ) {
    let ao = MIN_ORDER + 1;
    while (1 << ao < records && ao < 24) ao++;
    this.arenaOrder = ao;
    const n = 1 << ao;
    this.start = new Uint32Array(n);
    this.end = new Uint32Array(n);
    this.xmit = new Float64Array(n);
    this.flags = new Uint8Array(n);
    this.up = new Uint32Array(n);
    this.base = new Int32Array(maxConns).fill(NONE);
    this.order = new Uint8Array(maxConns);
    this.head = new Uint32Array(maxConns);
    this.count = new Uint32Array(maxConns);
    this.sacked = new Uint32Array(maxConns);
    this.sackedSegs = new Uint32Array(maxConns);
    this.lost = new Uint32Array(maxConns);
    this.retrans = new Uint32Array(maxConns);
    this.freeHead = new Int32Array(ao + 1).fill(NONE);
    this.freeOrder = new Int8Array(n >> MIN_ORDER).fill(-1);
    this.freeRecords = 0;
    this.release(0, ao);
  }

  /** Records the arena holds. */
  get capacity(): number {
    return 1 << this.arenaOrder;
  }

  // ---------------------------------------------------------------- allocator

  private release(off: number, order: number): void {
    this.start[off] = this.freeHead[order];
    this.freeHead[order] = off;
    this.freeOrder[off >> MIN_ORDER] = order;
    this.freeRecords += 1 << order;
    this.dirty = true;
  }

  /** Takes the first block of the list of `order`, known to be non-empty. */
  private pop(order: number): number {
    const off = this.freeHead[order];
    this.freeHead[order] = this.start[off] | 0;
    this.freeOrder[off >> MIN_ORDER] = -1;
    this.freeRecords -= 1 << order;
    return off;
  }

  private alloc(order: number): number {
    if (this.freeRecords < 1 << order) {
      this.refused++;
      return NONE;
    }
    for (let pass = 0; pass < 2; pass++) {
      let o = order;
      while (o <= this.arenaOrder && this.freeHead[o] < 0) o++;
      if (o <= this.arenaOrder) {
        const off = this.pop(o);
        // Split down: the upper halves go back on their lists.
        while (o > order) {
          o--;
          this.release(off + (1 << o), o);
        }
        return off;
      }
      if (pass === 0 && this.dirty) this.coalesce();
      else break;
    }
    this.refused++;
    return NONE;
  }

  /** Merges free buddies bottom-up and rebuilds the free lists. */
  private coalesce(): void {
    const fo = this.freeOrder;
    const n = 1 << this.arenaOrder;
    for (let o = MIN_ORDER; o < this.arenaOrder; o++) {
      const size = 1 << o;
      for (let off = 0; off < n; off += 2 * size) {
        if (fo[off >> MIN_ORDER] === o && fo[(off + size) >> MIN_ORDER] === o) {
          fo[off >> MIN_ORDER] = o + 1;
          fo[(off + size) >> MIN_ORDER] = -1;
        }
      }
    }
    this.freeHead.fill(NONE);
    this.freeRecords = 0;
    for (let off = n - (1 << MIN_ORDER); off >= 0; off -= 1 << MIN_ORDER) {
      const o = fo[off >> MIN_ORDER];
      if (o >= 0) this.release(off, o);
    }
    this.dirty = false;
  }

  // ---------------------------------------------------------------- records

  /** Arena position of absolute index `k` of connection `c`. */
  pos(c: number, k: number): number {
    return this.base[c] + (k & ((1 << this.order[c]) - 1));
  }

  /** Absolute index one past the last record. */
  tail(c: number): number {
    return (this.head[c] + this.count[c]) >>> 0;
  }

  /** Drops every record of `c` and returns its ring (a connection without one has nothing to clear). */
  clear(c: number): void {
    if (this.base[c] === NONE) return;
    this.release(this.base[c], this.order[c]);
    this.rings--;
    this.base[c] = NONE;
    this.count[c] = 0;
    this.head[c] = 0;
    this.sacked[c] = 0;
    this.sackedSegs[c] = 0;
    this.lost[c] = 0;
    this.retrans[c] = 0;
  }

  /** Whether one more record fits (taking or growing the ring if needed). */
  reserve(c: number): boolean {
    return this.base[c] !== NONE && this.count[c] < 1 << this.order[c] ? true : this.grow(c);
  }

  /** reserve() without room: takes a ring, or doubles it. */
  private grow(c: number): boolean {
    const b = this.base[c];
    if (b === NONE) {
      const off = this.alloc(MIN_ORDER);
      if (off === NONE) return false;
      this.rings++;
      this.base[c] = off;
      this.order[c] = MIN_ORDER;
      this.head[c] = 0;
      this.count[c] = 0;
      return true;
    }
    const o = this.order[c];
    if (this.count[c] < 1 << o) return true;
    if (o >= MAX_ORDER || o >= this.arenaOrder) return false;
    const nb = this.alloc(o + 1);
    if (nb === NONE) return false;
    // Same absolute indices, one more bit of position.
    const mask = (1 << (o + 1)) - 1;
    const oldMask = (1 << o) - 1;
    let k = this.head[c];
    for (let i = 0; i < this.count[c]; i++, k = (k + 1) >>> 0) {
      const from = b + (k & oldMask);
      const to = nb + (k & mask);
      this.start[to] = this.start[from];
      this.end[to] = this.end[from];
      this.xmit[to] = this.xmit[from];
      this.flags[to] = this.flags[from];
      this.up[to] = this.up[from];
    }
    this.release(b, o);
    this.base[c] = nb;
    this.order[c] = o + 1;
    return true;
  }

  /** Appends the record of a segment [seq, end) leaving now; reserve() must have said yes. */
  push(c: number, seq: number, end: number): void {
    const p = this.pos(c, this.tail(c));
    this.start[p] = seq;
    this.end[p] = end;
    this.xmit[p] = this.clock.xmitTime();
    this.flags[p] = 0;
    this.count[c]++;
  }

  /**
   * Absolute index of the first record whose start is >= `seq`, or of the
   * record holding `seq` when `holding` (the tail index when none).
   */
  seek(c: number, seq: number, holding: boolean): number {
    const h = this.head[c];
    let lo = 0;
    let hi = this.count[c];
    // First record with end > seq.
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (seqLeq(this.end[this.pos(c, (h + mid) >>> 0)], seq)) lo = mid + 1;
      else hi = mid;
    }
    if (!holding && lo < this.count[c] && seqLt(this.start[this.pos(c, (h + lo) >>> 0)], seq)) lo++;
    return (h + lo) >>> 0;
  }

  /** Whether absolute index `k` is a record of `c` (between head and tail). */
  valid(c: number, k: number): boolean {
    return ((k - this.head[c]) >>> 0) < this.count[c];
  }

  /** First record at or after `k` that is not SACKed (the tail index when none), compressing the path. */
  unsacked(c: number, k: number): number {
    const h = this.head[c];
    const n = this.count[c];
    if (((k - h) >>> 0) >= n) return (h + n) >>> 0;
    let r = k;
    while (((r - h) >>> 0) < n && (this.flags[this.pos(c, r)] & R_SACKED) !== 0) r = this.up[this.pos(c, r)];
    if (((r - h) >>> 0) > n) r = (h + n) >>> 0;
    // Path compression: every SACKed record walked now points at the answer.
    while (k !== r && ((k - h) >>> 0) < n) {
      const p = this.pos(c, k);
      if ((this.flags[p] & R_SACKED) === 0) break;
      const nx = this.up[p];
      this.up[p] = r;
      k = nx;
    }
    return r;
  }

  // ---------------------------------------------------------------- ACK processing

  /** Starts collecting what one ACK delivers; `minRttUs` is RACK.min_RTT. */
  beginAck(minRttUs: number): void {
    this.delivered = 0;
    this.cumRetrans = false;
    this.rackXmit = -1;
    this.rackEnd = 0;
    this.seqRttXmit = -1;
    this.caRttXmit = -1;
    this.haveLowest = false;
    this.lowestEnd = 0;
    this.highestEnd = 0;
    this.haveHighest = false;
    this.minRttUs = minRttUs;
  }

  /** RFC 8985 §6.2 steps 2-3 inputs for a newly delivered record at position `p`. */
  private onDelivered(p: number): void {
    const f = this.flags[p];
    const x = this.xmit[p];
    const e = this.end[p];
    if (!this.haveHighest || seqGt(e, this.highestEnd)) this.highestEnd = e;
    this.haveHighest = true;
    if ((f & R_EVER) !== 0) {
      // Step 2: an ACK that may be for an earlier transmission gives no RACK sample. As Linux
      // (tcp_rack_advance), by time only: a receiver echoes the timestamp of the last in-order
      // segment, so the echo of a SACK for a resent segment is older than its resending anyway.
      if (this.clock.nowUs - x < this.minRttUs) return;
    } else {
      if (x > this.caRttXmit) this.caRttXmit = x;
      if (!this.haveLowest || seqLt(e, this.lowestEnd)) this.lowestEnd = e;
      this.haveLowest = true;
    }
    // RACK_sent_after: later send time, or the same time and a higher sequence.
    if (x > this.rackXmit || (x === this.rackXmit && seqGt(e, this.rackEnd))) {
      this.rackXmit = x;
      this.rackEnd = e;
    }
  }

  /**
   * Marks the records [l, r) covers as SACKed. Returns the bytes newly
   * SACKed. Records partly covered stay as they are.
   */
  tagSacked(c: number, l: number, r: number): number {
    if (this.count[c] === 0) return 0;
    let k = this.unsacked(c, this.seek(c, l, false));
    let bytes = 0;
    while (this.valid(c, k)) {
      const p = this.pos(c, k);
      const e = this.end[p];
      if (seqGt(e, r)) break;
      const f = this.flags[p];
      const len = (e - this.start[p]) >>> 0;
      if ((f & R_LOST) !== 0) this.lost[c] -= len;
      if ((f & R_RETRANS) !== 0) this.retrans[c] -= len;
      this.flags[p] = (f & ~(R_LOST | R_RETRANS)) | R_SACKED;
      this.sacked[c] += len;
      this.sackedSegs[c]++;
      bytes += len;
      this.onDelivered(p);
      const nx = (k + 1) >>> 0;
      this.up[p] = nx;
      k = this.unsacked(c, nx);
    }
    this.delivered += bytes;
    return bytes;
  }

  /**
   * SND.UNA moved to `ack`: drops the records it covers (trimming one it
   * covers in part). Returns the bytes acknowledged that had not been SACKed.
   */
  cumAck(c: number, ack: number, keepRing: boolean): number {
    if ((this.sacked[c] | this.lost[c] | this.retrans[c]) === 0) return this.cumAckClean(c, ack, keepRing);
    let bytes = 0;
    while (this.count[c] > 0) {
      const k = this.head[c];
      const p = this.pos(c, k);
      const s = this.start[p];
      const e = this.end[p];
      if (!seqGt(ack, s)) break;
      const f = this.flags[p];
      const whole = seqLeq(e, ack);
      const len = ((whole ? e : ack) - s) >>> 0;
      if ((f & R_SACKED) !== 0) {
        this.sacked[c] -= len;
        if (whole) this.sackedSegs[c]--;
      } else {
        bytes += len;
      }
      if ((f & R_LOST) !== 0) this.lost[c] -= len;
      if ((f & R_RETRANS) !== 0) this.retrans[c] -= len;
      if ((f & R_EVER) !== 0) this.cumRetrans = true;
      if ((f & R_SACKED) === 0 && whole) {
        if (this.seqRttXmit < 0 && (f & R_EVER) === 0) this.seqRttXmit = this.xmit[p];
        this.onDelivered(p);
      }
      if (!whole) {
        this.start[p] = ack;
        break;
      }
      this.head[c] = (k + 1) >>> 0;
      this.count[c]--;
    }
    if (this.count[c] === 0 && !keepRing && this.base[c] !== NONE) this.clear(c);
    this.delivered += bytes;
    return bytes;
  }

  /**
   * cumAck() when nothing is SACKed, lost or being retransmitted (the common
   * case): every record is an original, in sequence and send-time order, so
   * what RACK and the RTT samples want comes from the first and the last
   * record acknowledged.
   */
  private cumAckClean(c: number, ack: number, keepRing: boolean): number {
    const n = this.count[c];
    const b = this.base[c];
    const mask = (1 << this.order[c]) - 1;
    const h = this.head[c];
    let bytes = 0;
    let i = 0;
    let first = -1;
    let last = -1;
    while (i < n) {
      const p = b + ((h + i) & mask);
      const s = this.start[p];
      if (!seqGt(ack, s)) break;
      const e = this.end[p];
      if (seqGt(e, ack)) {
        this.start[p] = ack;
        bytes += (ack - s) >>> 0;
        break;
      }
      if (first < 0) first = p;
      last = p;
      bytes += (e - s) >>> 0;
      i++;
    }
    this.head[c] = (h + i) >>> 0;
    this.count[c] = n - i;
    if (last >= 0) {
      this.seqRttXmit = this.xmit[first];
      const x = this.xmit[last];
      this.caRttXmit = x;
      this.rackXmit = x;
      this.rackEnd = this.end[last];
      this.lowestEnd = this.end[first];
      this.haveLowest = true;
      this.highestEnd = this.rackEnd;
      this.haveHighest = true;
    }
    if (n === i && !keepRing && b !== NONE) this.clear(c);
    this.delivered += bytes;
    return bytes;
  }

  // ---------------------------------------------------------------- loss and retransmission

  /** Marks the record at position `p` of `c` lost (its retransmission, if any, is no longer in flight). */
  markLost(c: number, p: number): void {
    const f = this.flags[p];
    const len = (this.end[p] - this.start[p]) >>> 0;
    if ((f & R_LOST) === 0) this.lost[c] += len;
    if ((f & R_RETRANS) !== 0) this.retrans[c] -= len;
    this.flags[p] = (f & ~R_RETRANS) | R_LOST;
  }

  /** The record at position `p` was retransmitted, now. */
  onRetransmit(c: number, p: number): void {
    const f = this.flags[p];
    if ((f & R_RETRANS) === 0) this.retrans[c] += (this.end[p] - this.start[p]) >>> 0;
    this.flags[p] = f | R_RETRANS | R_EVER;
    this.xmit[p] = this.clock.xmitTime();
  }

  /** Bytes in flight (RFC 6675 pipe) of `c` with `outstanding` = SND.MAX - SND.UNA. */
  pipe(c: number, outstanding: number): number {
    return outstanding - this.sacked[c] - this.lost[c] + this.retrans[c];
  }

  /** The first record at or after `k` that is lost and not being retransmitted, or the tail index. */
  nextLost(c: number, k: number): number {
    k = this.unsacked(c, k);
    while (this.valid(c, k)) {
      const p = this.pos(c, k);
      if ((this.flags[p] & (R_LOST | R_RETRANS)) === R_LOST) return k;
      k = this.unsacked(c, (k + 1) >>> 0);
    }
    return k;
  }

  /** Absolute index of the highest record not SACKed, or the tail index when every record is SACKed. */
  highestUnsacked(c: number): number {
    let k = (this.tail(c) - 1) >>> 0;
    for (let i = this.count[c]; i > 0; i--, k = (k - 1) >>> 0) {
      if ((this.flags[this.pos(c, k)] & R_SACKED) === 0) return k;
    }
    return this.tail(c);
  }

  /** Sequence right after the highest SACKed record, or SND.UNA-like `una` when none is SACKed. */
  highestSacked(c: number, una: number): number {
    if (this.sacked[c] === 0) return una;
    let k = (this.tail(c) - 1) >>> 0;
    for (let i = this.count[c]; i > 0; i--, k = (k - 1) >>> 0) {
      const p = this.pos(c, k);
      if ((this.flags[p] & R_SACKED) !== 0) return this.end[p];
    }
    return una;
  }

  /** Clears every SACK mark of `c` (a receiver reneging, RFC 2018 §8). */
  unsackAll(c: number): void {
    let k = this.head[c];
    for (let i = 0; i < this.count[c]; i++, k = (k + 1) >>> 0) this.flags[this.pos(c, k)] &= ~R_SACKED;
    this.sacked[c] = 0;
    this.sackedSegs[c] = 0;
  }
}
