/**
 * SACK (RFC 2018). Sender side: a scoreboard of up to SACK_MAX disjoint,
 * sorted ranges above SND.UNA reported by the peer, and RFC 6675's queries on
 * it: IsLost, SetPipe (the bytes in flight estimate) and the holes NextSeg
 * picks from. Receiver side: SACK blocks built from the out-of-order queue,
 * the block holding the most recent segment first (RFC 2018 §4).
 */
import type { ChunkPool } from './chunk_pool.js';
import { seqGt, seqGeq, seqLeq, seqLt } from './seq.js';
import type { TcbStore } from './tcb.js';

export const SACK_MAX = 4;
/** RFC 6675 §2 DupThresh. */
export const DUP_THRESH = 3;

export class SackBoard {
  /** Per TCB SACK_MAX (left, right) pairs, sorted by left edge. */
  private readonly blk: Uint32Array;
  readonly n: Uint8Array;
  /** End of the hole found by the last nextHole() call. */
  holeEnd = 0;

  constructor(max: number) {
    this.blk = new Uint32Array(max * SACK_MAX * 2);
    this.n = new Uint8Array(max);
  }

  clear(c: number): void {
    this.n[c] = 0;
  }

  /** Merges a reported block [left, right) already validated to lie within (SND.UNA, SND.MAX]. */
  add(c: number, left: number, right: number): void {
    const b = this.blk;
    const base = c * SACK_MAX * 2;
    let n = this.n[c];
    // Absorb every block that overlaps or touches the new one.
    let i = 0;
    while (i < n) {
      const l = b[base + 2 * i];
      const r = b[base + 2 * i + 1];
      if (seqLeq(l, right) && seqGeq(r, left)) {
        if (seqLt(l, left)) left = l;
        if (seqGt(r, right)) right = r;
        for (let k = i; k < n - 1; k++) {
          b[base + 2 * k] = b[base + 2 * k + 2];
          b[base + 2 * k + 1] = b[base + 2 * k + 3];
        }
        n--;
      } else {
        i++;
      }
    }
    // Insert sorted; when full, the highest range is dropped (holes below stay exact).
    let pos = 0;
    while (pos < n && seqLt(b[base + 2 * pos], left)) pos++;
    if (n === SACK_MAX) {
      if (pos === SACK_MAX) {
        this.n[c] = n;
        return;
      }
      n--;
    }
    for (let k = n; k > pos; k--) {
      b[base + 2 * k] = b[base + 2 * k - 2];
      b[base + 2 * k + 1] = b[base + 2 * k - 1];
    }
    b[base + 2 * pos] = left;
    b[base + 2 * pos + 1] = right;
    this.n[c] = n + 1;
  }

  /** Forgets what a cumulative ACK up to `una` covers. */
  trim(c: number, una: number): void {
    const b = this.blk;
    const base = c * SACK_MAX * 2;
    const n = this.n[c];
    let k = 0;
    for (let i = 0; i < n; i++) {
      const l = b[base + 2 * i];
      const r = b[base + 2 * i + 1];
      if (seqLeq(r, una)) continue;
      b[base + 2 * k] = seqLt(l, una) ? una : l;
      b[base + 2 * k + 1] = r;
      k++;
    }
    this.n[c] = k;
  }

  sackedBytes(c: number): number {
    const b = this.blk;
    const base = c * SACK_MAX * 2;
    let s = 0;
    for (let i = 0; i < this.n[c]; i++) s += (b[base + 2 * i + 1] - b[base + 2 * i]) >>> 0;
    return s;
  }

  /**
   * First un-SACKed sequence >= `from` below the highest SACKed byte, or -1.
   * Sets `holeEnd` to where the hole ends (the next SACKed block).
   */
  nextHole(c: number, from: number): number {
    const b = this.blk;
    const base = c * SACK_MAX * 2;
    const n = this.n[c];
    for (let i = 0; i < n; i++) {
      const l = b[base + 2 * i];
      const r = b[base + 2 * i + 1];
      if (seqLt(from, l)) {
        this.holeEnd = l;
        return from;
      }
      if (seqLt(from, r)) from = r;
    }
    return -1;
  }

  /** The end of the highest SACKed range; meaningful only when n[c] > 0. */
  highestSacked(c: number): number {
    return this.blk[c * SACK_MAX * 2 + 2 * this.n[c] - 1];
  }

  /**
   * RFC 6675 §4 IsLost(seq) for an un-SACKed `seq`: DupThresh discontiguous
   * SACKed ranges, or more than (DupThresh - 1) * SMSS SACKed bytes, above it.
   */
  isLost(c: number, seq: number, mss: number): boolean {
    const b = this.blk;
    const base = c * SACK_MAX * 2;
    let ranges = 0;
    let bytes = 0;
    for (let i = this.n[c] - 1; i >= 0 && seqGt(b[base + 2 * i], seq); i--) {
      ranges++;
      bytes += (b[base + 2 * i + 1] - b[base + 2 * i]) >>> 0;
    }
    return ranges >= DUP_THRESH || bytes > (DUP_THRESH - 1) * mss;
  }

  /**
   * RFC 6675 §4 SetPipe over [una, max): every un-SACKed byte counts once if
   * not lost (still in flight) and once more if below `highRxt` (its
   * retransmission is in flight). IsLost is the same for every byte of one
   * hole (the same SACKed data lies above them), so this walks holes, not bytes.
   */
  pipe(c: number, una: number, max: number, highRxt: number, mss: number): number {
    const b = this.blk;
    const base = c * SACK_MAX * 2;
    const n = this.n[c];
    let above = 0;
    for (let i = 0; i < n; i++) above += (b[base + 2 * i + 1] - b[base + 2 * i]) >>> 0;
    let pipe = 0;
    let s = una;
    for (let i = 0; i <= n; i++) {
      const l = i < n ? b[base + 2 * i] : max;
      if (seqLt(s, l)) {
        const len = (l - s) >>> 0;
        if (!(n - i >= DUP_THRESH || above > (DUP_THRESH - 1) * mss)) pipe += len;
        if (seqGt(highRxt, s)) {
          const rx = (highRxt - s) >>> 0;
          pipe += rx < len ? rx : len;
        }
      }
      if (i === n) break;
      above -= (b[base + 2 * i + 1] - l) >>> 0;
      if (seqGt(b[base + 2 * i + 1], s)) s = b[base + 2 * i + 1];
    }
    return pipe;
  }

  /**
   * The end of the highest un-SACKed range in [una, max) (RFC 6675 rule 4's
   * "highest outstanding unSACKed sequence number" + 1), or `una` when none.
   */
  highestUnsacked(c: number, una: number, max: number): number {
    const b = this.blk;
    const base = c * SACK_MAX * 2;
    for (let i = this.n[c] - 1; i >= 0; i--) {
      const r = b[base + 2 * i + 1];
      if (seqLt(r, max)) return max;
      max = b[base + 2 * i];
    }
    return seqGt(max, una) ? max : una;
  }
}

let mergedL = 0;
let mergedR = 0;

/** Reads the merged range of queue entries starting at chunk `ch` into mergedL/mergedR; returns the chunk after it. */
function mergeFrom(chunks: ChunkPool, ch: number): number {
  mergedL = chunks.seq[ch];
  mergedR = (mergedL + chunks.len[ch]) >>> 0;
  ch = chunks.next[ch];
  while (ch >= 0 && seqLeq(chunks.seq[ch], mergedR)) {
    const e = (chunks.seq[ch] + chunks.len[ch]) >>> 0;
    if (seqGt(e, mergedR)) mergedR = e;
    ch = chunks.next[ch];
  }
  return ch;
}

/**
 * Fills `out` (left, right pairs) with up to `max` blocks describing the
 * out-of-order queue of `c`, the block containing the latest arrival first
 * (RFC 2018 §4), the others in sequence order. Returns the number of blocks.
 */
export function buildSackBlocks(t: TcbStore, chunks: ChunkPool, c: number, out: Uint32Array, max: number): number {
  const last = t.oooLast[c];
  let n = 0;
  let recent = -1;
  for (let ch = t.oooHead[c]; ch >= 0; ) {
    ch = mergeFrom(chunks, ch);
    if (seqGeq(last, mergedL) && seqLt(last, mergedR)) {
      out[0] = mergedL;
      out[1] = mergedR;
      recent = mergedL;
      n = 1;
      break;
    }
  }
  for (let ch = t.oooHead[c]; ch >= 0 && n < max; ) {
    ch = mergeFrom(chunks, ch);
    if (mergedL === recent && n > 0) continue;
    out[2 * n] = mergedL;
    out[2 * n + 1] = mergedR;
    n++;
  }
  return n;
}
