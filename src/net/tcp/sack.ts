/**
 * SACK (RFC 2018), receiver side: the blocks describing the out-of-order
 * queue, the block holding the most recent segment first (RFC 2018 §4), after
 * a D-SACK block (RFC 2883) when a duplicate arrived. The sender's scoreboard
 * is rtx_queue.ts.
 */
import type { ChunkPool } from './chunk_pool.js';
import { seqGt, seqGeq, seqLeq, seqLt } from './seq.js';
import { F_OOO_FIN, type TcbStore } from './tcb.js';

/** RFC 6675 §2 DupThresh: duplicate ACKs that start RFC 6582 recovery without SACK; RFC 8985's SACKed segments that zero the reordering window. */
export const DUP_THRESH = 3;

let mergedL = 0;
let mergedR = 0;

/**
 * Reads the merged range of queue entries starting at chunk `ch` into
 * mergedL/mergedR (one more when a FIN kept out of order, `fin`, ends it);
 * returns the chunk after it.
 */
function mergeFrom(chunks: ChunkPool, ch: number, fin: number): number {
  mergedL = chunks.seq[ch];
  mergedR = (mergedL + chunks.len[ch]) >>> 0;
  ch = chunks.next[ch];
  while (ch >= 0 && seqLeq(chunks.seq[ch], mergedR)) {
    const e = (chunks.seq[ch] + chunks.len[ch]) >>> 0;
    if (seqGt(e, mergedR)) mergedR = e;
    ch = chunks.next[ch];
  }
  if (mergedR === fin) mergedR = (mergedR + 1) >>> 0;
  return ch;
}

/**
 * Fills `out` (left, right pairs) from block `first` on with up to `max`
 * blocks in all describing the out-of-order queue of `c`, the block
 * containing the latest arrival first (RFC 2018 §4), the others in sequence
 * order; a FIN kept out of order is covered too. Returns the number of blocks
 * in `out`.
 */
export function buildSackBlocks(t: TcbStore, chunks: ChunkPool, c: number, out: Uint32Array, max: number, first = 0): number {
  const last = t.oooLast[c];
  const hasFin = (t.flags[c] & F_OOO_FIN) !== 0;
  // -1 is no sequence number: no block ends at it.
  const fin = hasFin ? t.oooFin[c] : -1;
  let n = first;
  let recent = -1;
  let finCovered = false;
  for (let ch = t.oooHead[c]; ch >= 0 && n < max; ) {
    ch = mergeFrom(chunks, ch, fin);
    if (seqGeq(last, mergedL) && seqLt(last, mergedR)) {
      out[2 * n] = mergedL;
      out[2 * n + 1] = mergedR;
      recent = mergedL;
      n++;
      break;
    }
  }
  for (let ch = t.oooHead[c]; ch >= 0; ) {
    ch = mergeFrom(chunks, ch, fin);
    if (hasFin && mergedR === ((fin + 1) >>> 0)) finCovered = true;
    if (mergedL === recent || n >= max) continue;
    out[2 * n] = mergedL;
    out[2 * n + 1] = mergedR;
    n++;
  }
  if (hasFin && !finCovered && n < max) {
    // The FIN alone (its data was not kept, or there was none).
    out[2 * n] = fin;
    out[2 * n + 1] = (fin + 1) >>> 0;
    n++;
  }
  return n;
}
