/**
 * Buffer space shared by all connections of a worker: 2 KiB chunks that are
 * slots of the worker's packet pool, taken on demand. A connection holds
 * chunks only while it has unacknowledged send data or out-of-order receive
 * data, so an idle established connection costs no buffer memory (the
 * 1M-connection target). Living in the pool's own ArrayBuffer, a chunk moves
 * to and from a frame with `copyWithin`: a native memmove, no view created.
 */
import { type BufferPool, SLOT_SIZE } from '../../core/buffer_pool.js';

export const CHUNK_SIZE = SLOT_SIZE;

/** Share of the packet pool that chunks never take, so frames can still be received and sent. */
const FRAME_RESERVE_SHIFT = 2;
const FRAME_RESERVE_MAX = 4096;

export class ChunkPool {
  /** Chunks the TCP may hold at once (the `bufferBytes` option). */
  readonly count: number;
  /** The packet pool's bytes: chunk `c` starts at `c * CHUNK_SIZE`. */
  readonly u8: Uint8Array;
  /** Next chunk in a chain (send buffer or out-of-order queue), -1 at the end. Indexed by slot. */
  readonly next: Int32Array;
  /** Out-of-order queue entries: sequence number and length of the bytes held. */
  readonly seq: Uint32Array;
  readonly len: Uint16Array;
  /** Pool slots left to frames: below this many free slots no chunk is taken. */
  readonly reserve: number;
  /** Chunks that may still be taken (count minus those held). */
  available: number;

  constructor(
    readonly pool: BufferPool,
    count: number,
  ) {
    if (!Number.isInteger(count) || count <= 0) throw new RangeError(`chunk count must be a positive integer, got ${count}`);
    this.count = count;
    this.u8 = pool.u8;
    this.next = new Int32Array(pool.count).fill(-1);
    this.seq = new Uint32Array(pool.count);
    this.len = new Uint16Array(pool.count);
    this.reserve = Math.min(pool.count >> FRAME_RESERVE_SHIFT, FRAME_RESERVE_MAX);
    this.available = count;
  }

  /** A chunk with `next = -1`, or -1 when the TCP holds `count` chunks or the packet pool is down to its reserve. */
  alloc(): number {
    if (this.available === 0 || this.pool.available <= this.reserve) return -1;
    const c = this.pool.alloc();
    this.next[c] = -1;
    this.available--;
    return c;
  }

  free(c: number): void {
    this.pool.free(c);
    this.available++;
  }

  /** Frees a whole chain starting at `c`. */
  freeChain(c: number): void {
    while (c >= 0) {
      const n = this.next[c];
      this.free(c);
      c = n;
    }
  }
}

/**
 * Per-connection send byte queues over the chunk pool: the bytes from SND.UNA
 * onwards, appended by write() and consumed by cumulative ACKs.
 */
export class SendBuffers {
  readonly head: Int32Array;
  readonly tail: Int32Array;
  /** Offset of the first queued byte inside the head chunk. */
  readonly headOff: Uint16Array;
  /** Bytes used in the tail chunk. */
  readonly tailFill: Uint16Array;
  readonly len: Uint32Array;
  /** Stream position of SND.UNA (bytes consumed since the queue was last empty). */
  private readonly consumed: Float64Array;
  /** Read cursor: a chunk of the queue and the stream position of its first byte, so sequential reads do not walk from the head. */
  private readonly curChunk: Int32Array;
  private readonly curStart: Float64Array;

  constructor(
    readonly chunks: ChunkPool,
    max: number,
  ) {
    this.consumed = new Float64Array(max);
    this.curChunk = new Int32Array(max).fill(-1);
    this.curStart = new Float64Array(max);
    this.head = new Int32Array(max).fill(-1);
    this.tail = new Int32Array(max).fill(-1);
    this.headOff = new Uint16Array(max);
    this.tailFill = new Uint16Array(max);
    this.len = new Uint32Array(max);
  }

  /** Appends up to `n` bytes; returns how many fit before the chunk pool ran dry. */
  append(c: number, src: Uint8Array, off: number, n: number): number {
    const pool = this.chunks;
    let done = 0;
    while (done < n) {
      let t = this.tail[c];
      if (t < 0 || this.tailFill[c] === CHUNK_SIZE) {
        const fresh = pool.alloc();
        if (fresh < 0) break;
        if (t < 0) this.head[c] = fresh;
        else pool.next[t] = fresh;
        this.tail[c] = t = fresh;
        this.tailFill[c] = 0;
        if (this.len[c] === 0) this.headOff[c] = 0;
      }
      const fill = this.tailFill[c];
      const room = CHUNK_SIZE - fill;
      const k = n - done < room ? n - done : room;
      copyBytes(src, off + done, pool.u8, t * CHUNK_SIZE + fill, k);
      this.tailFill[c] = fill + k;
      done += k;
    }
    this.len[c] += done;
    return done;
  }

  /** Copies `n` queued bytes starting `rel` bytes after SND.UNA into `dst` at `dstOff`. */
  copyOut(c: number, rel: number, dst: Uint8Array, dstOff: number, n: number): void {
    const pool = this.chunks;
    const u8 = pool.u8;
    const target = this.consumed[c] + rel;
    let ch = this.curChunk[c];
    let start = this.curStart[c];
    if (ch < 0 || start > target) {
      ch = this.head[c];
      start = this.consumed[c] - this.headOff[c];
    }
    while (target - start >= CHUNK_SIZE) {
      ch = pool.next[ch];
      start += CHUNK_SIZE;
    }
    this.curChunk[c] = ch;
    this.curStart[c] = start;
    let pos = target - start;
    while (n > 0) {
      const k = n < CHUNK_SIZE - pos ? n : CHUNK_SIZE - pos;
      const s = ch * CHUNK_SIZE + pos;
      copyBytes(u8, s, dst, dstOff, k);
      dstOff += k;
      n -= k;
      pos = 0;
      ch = pool.next[ch];
    }
  }

  /** Drops the first `n` bytes (cumulatively acknowledged), freeing emptied chunks. */
  consume(c: number, n: number): void {
    if (n >= this.len[c]) {
      this.clear(c);
      return;
    }
    const pool = this.chunks;
    let off = this.headOff[c] + n;
    let h = this.head[c];
    while (off >= CHUNK_SIZE) {
      const nx = pool.next[h];
      pool.free(h);
      h = nx;
      off -= CHUNK_SIZE;
    }
    this.head[c] = h;
    this.headOff[c] = off;
    this.len[c] -= n;
    this.consumed[c] += n;
    // The cursor's chunk may have been freed.
    if (this.curStart[c] < this.consumed[c] - off) this.curChunk[c] = -1;
  }

  clear(c: number): void {
    this.chunks.freeChain(this.head[c]);
    this.head[c] = -1;
    this.tail[c] = -1;
    this.headOff[c] = 0;
    this.tailFill[c] = 0;
    this.len[c] = 0;
    this.consumed[c] = 0;
    this.curChunk[c] = -1;
  }
}

/**
 * Copies `n` bytes between two arrays. Within the packet pool (frame to chunk
 * and back: every per-segment copy) it is `copyWithin`, which creates nothing;
 * from an application's array (once per chunk a write() fills) `set` needs a
 * view of the source range.
 */
export function copyBytes(src: Uint8Array, s: number, dst: Uint8Array, d: number, n: number): void {
  if (src === dst) dst.copyWithin(d, s, s + n);
  else if (n > 32) dst.set(src.subarray(s, s + n), d);
  else for (let i = 0; i < n; i++) dst[d + i] = src[s + i];
}
