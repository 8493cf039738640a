/**
 * Ephemeral source ports: one bitmap over [10000, 60000) (or a share of it) per source address,
 * as the architecture's per-lcore port pool. A round-robin cursor (a bit
 * position) hands ports out in rising order and wraps, so a released port goes
 * to the back: it comes out again only after every other free port did, and a
 * late segment of the old connection (after a RST, which skips TIME_WAIT)
 * meets a new one on the same tuple as late as possible.
 */
export const EPHEMERAL_LO = 10000;
export const EPHEMERAL_HI = 60000;

class PortBitmap {
  /** Bit set = port in use. Bits past the span are pre-set so they never allocate. */
  readonly words: Uint32Array;
  /** The first port offset the next search looks at. */
  cursor = 0;
  used = 0;
  constructor(span: number) {
    this.words = new Uint32Array(Math.ceil(span / 32));
    for (let p = span; p < this.words.length * 32; p++) this.words[p >>> 5] |= 1 << (p & 31);
  }
}

export class PortPool {
  private readonly maps = new Map<number, PortBitmap>();
  private readonly lo: number;
  private readonly span: number;

  /** Ports [lo, hi) of every source address; a worker of a client load owns a share (src/net/flow_steer.ts). */
  constructor(lo = EPHEMERAL_LO, hi = EPHEMERAL_HI) {
    if (!Number.isInteger(lo) || !Number.isInteger(hi) || lo < 1024 || hi > 65536 || lo >= hi) {
      throw new RangeError(`ephemeral ports must be a range within 1024..65535, got [${lo}, ${hi})`);
    }
    this.lo = lo;
    this.span = hi - lo;
  }

  private bitmap(ip: number): PortBitmap {
    let b = this.maps.get(ip);
    if (b === undefined) {
      b = new PortBitmap(this.span);
      this.maps.set(ip, b);
    }
    return b;
  }

  /** A free port of `ip` marked used, or -1 when the whole range is taken. */
  alloc(ip: number): number {
    const b = this.bitmap(ip);
    const span = this.span;
    if (b.used === span) return -1;
    const words = b.words.length;
    let w = b.cursor >>> 5;
    // The cursor's word is searched twice: from the cursor first, then (after the wrap) below it.
    let v = (b.words[w] | ((1 << (b.cursor & 31)) - 1)) >>> 0;
    for (let i = 0; i <= words; i++) {
      if (v !== 0xffffffff) {
        const free = ~v & (v + 1); // lowest clear bit
        const p = w * 32 + 31 - Math.clz32(free);
        b.words[w] |= free;
        b.used++;
        b.cursor = p + 1 === span ? 0 : p + 1;
        return this.lo + p;
      }
      w = w + 1 === words ? 0 : w + 1;
      v = b.words[w];
    }
    return -1;
  }

  release(ip: number, port: number): void {
    const p = port - this.lo;
    if (p < 0 || p >= this.span) return;
    const b = this.maps.get(ip);
    if (b === undefined) return;
    const m = 1 << (p & 31);
    if ((b.words[p >>> 5] & m) === 0) return;
    b.words[p >>> 5] &= ~m;
    b.used--;
  }

  inUse(ip: number): number {
    const b = this.maps.get(ip);
    return b === undefined ? 0 : b.used;
  }
}
