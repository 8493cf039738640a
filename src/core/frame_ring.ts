/**
 * A bounded many-producer, one-consumer ring of frames in a SharedArrayBuffer:
 * how one worker hands a received frame to the worker that owns its flow
 * (src/run/stack_pipeline.ts steers client replies this way). Each cell holds
 * one frame of up to FRAME_CELL_BYTES; the frame bytes are copied in and out
 * (Buffer.copy, a memcpy), never allocated per frame.
 *
 * The algorithm is D. Vyukov's bounded MPMC queue with a single consumer: a
 * cell's sequence word says whose turn it is. A producer claims the tail with
 * a compare-and-swap when the cell's sequence equals the tail, writes the
 * frame, then publishes it by storing tail + 1; the consumer takes the cell
 * whose sequence is head + 1 and gives it back by storing head + capacity.
 * Positions are 32-bit and wrap; comparisons are on their difference.
 */
import { SLOT_SIZE } from './buffer_pool.js';

/** Largest frame a cell holds: a whole pool slot. */
export const FRAME_CELL_BYTES = SLOT_SIZE;

const TAIL = 0;
const HEADER_WORDS = 16; // tail on its own cache line

/** What a producer or the consumer needs to attach (structured-cloneable). */
export interface FrameRingShared {
  readonly sab: SharedArrayBuffer;
  readonly capacity: number;
}

export function createFrameRing(capacity: number): FrameRingShared {
  if (!Number.isInteger(capacity) || capacity < 2 || (capacity & (capacity - 1)) !== 0) {
    throw new RangeError(`frame ring capacity must be a power of two >= 2, got ${capacity}`);
  }
  const sab = new SharedArrayBuffer(HEADER_WORDS * 4 + capacity * 8 + capacity * FRAME_CELL_BYTES);
  const seq = new Int32Array(sab, HEADER_WORDS * 4, capacity);
  for (let i = 0; i < capacity; i++) seq[i] = i;
  return { sab, capacity };
}

export class FrameRing {
  readonly capacity: number;
  private readonly hdr: Int32Array;
  private readonly seq: Int32Array;
  private readonly len: Int32Array;
  private readonly data: Buffer;
  private readonly mask: number;
  /** Consumer side only. */
  private head = 0;

  constructor(shared: FrameRingShared) {
    const cap = shared.capacity;
    this.capacity = cap;
    this.mask = cap - 1;
    this.hdr = new Int32Array(shared.sab, 0, HEADER_WORDS);
    this.seq = new Int32Array(shared.sab, HEADER_WORDS * 4, cap);
    this.len = new Int32Array(shared.sab, HEADER_WORDS * 4 + cap * 4, cap);
    this.data = Buffer.from(shared.sab, HEADER_WORDS * 4 + cap * 8, cap * FRAME_CELL_BYTES);
  }

  /** Producer (any thread): copies `src[off, off+len)` in; false when the ring is full or the frame too long. */
  push(src: Buffer, off: number, len: number): boolean {
    if (len < 0 || len > FRAME_CELL_BYTES) return false;
    let pos: number;
    let cell: number;
    for (;;) {
      pos = Atomics.load(this.hdr, TAIL);
      cell = pos & this.mask;
      const d = (Atomics.load(this.seq, cell) - pos) | 0;
      if (d === 0) {
        if (Atomics.compareExchange(this.hdr, TAIL, pos, (pos + 1) | 0) === pos) break;
      } else if (d < 0) {
        return false; // the consumer has not freed this cell yet: full
      }
      // d > 0: another producer took this position; look again.
    }
    src.copy(this.data, cell * FRAME_CELL_BYTES, off, off + len);
    this.len[cell] = len;
    Atomics.store(this.seq, cell, (pos + 1) | 0);
    return true;
  }

  /** Consumer: true when a frame is ready. */
  get ready(): boolean {
    return Atomics.load(this.seq, this.head & this.mask) === ((this.head + 1) | 0);
  }

  /** Consumer: copies the oldest frame to `dst[off..]` and returns its length, or -1 when none is ready. */
  pop(dst: Buffer, off: number): number {
    const pos = this.head;
    const cell = pos & this.mask;
    if (Atomics.load(this.seq, cell) !== ((pos + 1) | 0)) return -1;
    const n = this.len[cell];
    const at = cell * FRAME_CELL_BYTES;
    this.data.copy(dst, off, at, at + n);
    Atomics.store(this.seq, cell, (pos + this.capacity) | 0);
    this.head = (pos + 1) | 0;
    return n;
  }
}
