/**
 * The worker's mempool: fixed-size slots in one ArrayBuffer, allocated and freed
 * by index. Every frame a worker touches lives in a slot; a frame's bytes start
 * at `base(slot) = slot * SLOT_SIZE + dataOff[slot]` and run for `dataLen[slot]`.
 * Headroom before the data lets a layer prepend bytes (an 802.1Q tag) in place.
 *
 * One DataView and one Uint8Array cover the whole pool: hot-path code re-points
 * offsets, never creates views per packet.
 */
export const SLOT_SIZE = 2048;
export const HEADROOM = 128;
/** Largest frame a slot can hold after the default headroom. */
export const SLOT_DATA_MAX = SLOT_SIZE - HEADROOM;

export class BufferPool {
  readonly count: number;
  readonly buffer: ArrayBuffer;
  readonly u8: Uint8Array;
  readonly dv: DataView;
  /** Offset of the frame inside its slot (headroom). */
  readonly dataOff: Uint16Array;
  /** Length of the frame in the slot. */
  readonly dataLen: Uint16Array;
  /**
   * Stack of free slot indices; `freeStack[0..top)` are available. A native
   * driver pops received frames' slots off it in place (src/port/native.ts)
   * and the caller lowers `top`; all other code uses alloc/free.
   */
  readonly freeStack: Int32Array;
  top: number;

  constructor(count: number) {
    if (!Number.isInteger(count) || count <= 0 || count > 1 << 20) {
      throw new RangeError(`buffer pool size must be an integer in 1..${1 << 20}, got ${count}`);
    }
    this.count = count;
    this.buffer = new ArrayBuffer(count * SLOT_SIZE);
    this.u8 = new Uint8Array(this.buffer);
    this.dv = new DataView(this.buffer);
    this.dataOff = new Uint16Array(count);
    this.dataLen = new Uint16Array(count);
    this.freeStack = new Int32Array(count);
    for (let i = 0; i < count; i++) this.freeStack[i] = count - 1 - i;
    this.top = count;
  }

  /** Returns a free slot with default headroom and zero length, or -1 when exhausted. */
  alloc(): number {
    if (this.top === 0) return -1;
    const slot = this.freeStack[--this.top];
    this.dataOff[slot] = HEADROOM;
    this.dataLen[slot] = 0;
    return slot;
  }

  /** Returns a slot to the pool. Freeing a slot twice corrupts the pool; callers own slots exclusively. */
  free(slot: number): void {
    this.freeStack[this.top++] = slot;
  }

  /** Frees `src[0..n)`, as `free` on each, in one call per burst. */
  freeBurst(src: Int32Array, n: number): void {
    const stack = this.freeStack;
    const top = this.top;
    // Entries above the top mean nothing, so copying all of `src` is harmless,
    // and one memmove is about 3x faster than the loop for a burst of 64.
    if (top + src.length <= stack.length) stack.set(src, top);
    else for (let i = 0; i < n; i++) stack[top + i] = src[i];
    this.top = top + n;
  }

  /** Slots currently available. */
  get available(): number {
    return this.top;
  }

  /** Byte offset in `u8`/`dv` where the slot's frame starts. */
  base(slot: number): number {
    return slot * SLOT_SIZE + this.dataOff[slot];
  }

  /** Copies `src` into a slot's data area and sets its length. */
  write(slot: number, src: Uint8Array): void {
    this.u8.set(src, this.base(slot));
    this.dataLen[slot] = src.length;
  }

  /** A copy of the slot's frame bytes (for tests and tools, not the hot path). */
  read(slot: number): Uint8Array {
    const b = this.base(slot);
    return this.u8.slice(b, b + this.dataLen[slot]);
  }
}
