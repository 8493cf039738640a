/**
 * Ephemeral source ports: one bitmap over [10000, 60000) per source address,
 * as the architecture's per-lcore port pool. A round-robin cursor (a bit
 * position) hands ports out in rising order and wraps, so a released port goes
 * to the back: it comes out again only after every other free port did, and a
 * late segment of the old connection (after a RST, which skips TIME_WAIT)
 * meets a new one on the same tuple as late as possible.
 */
export const EPHEMERAL_LO = 10000;
export const EPHEMERAL_HI = 60000;
const SPAN = EPHEMERAL_HI - EPHEMERAL_LO;
const WORDS = Math.ceil(SPAN / 32);

class PortBitmap {
  /** Bit set = port in use. Bits past the span are pre-set so they never allocate. */
  readonly words = new Uint32Array(WORDS);
  /** The first port offset the next search looks at. */
  cursor = 0;
  used = 0;
  constructor() {
    for (let p = SPAN; p < WORDS * 32; p++) this.words[p >>> 5] |= 1 << (p & 31);
  }
}

export class PortPool {
  private readonly maps = new Map<number, PortBitmap>();

  private bitmap(ip: number): PortBitmap {
    let b = this.maps.get(ip);
    if (b === undefined) {
      b = new PortBitmap();
      this.maps.set(ip, b);
    }
    return b;
  }

  /** A free port of `ip` marked used, or -1 when all 50,000 are taken. */
  alloc(ip: number): number {
    const b = this.bitmap(ip);
    if (b.used === SPAN) return -1;
    let w = b.cursor >>> 5;
    // The cursor's word is searched twice: from the cursor first, then (after the wrap) below it.
    let v = (b.words[w] | ((1 << (b.cursor & 31)) - 1)) >>> 0;
    for (let i = 0; i <= WORDS; i++) {
      if (v !== 0xffffffff) {
        const free = ~v & (v + 1); // lowest clear bit
        const p = w * 32 + 31 - Math.clz32(free);
        b.words[w] |= free;
        b.used++;
        b.cursor = p + 1 === SPAN ? 0 : p + 1;
        return EPHEMERAL_LO + p;
      }
      w = w + 1 === WORDS ? 0 : w + 1;
      v = b.words[w];
    }
    return -1;
  }

  release(ip: number, port: number): void {
    if (port < EPHEMERAL_LO || port >= EPHEMERAL_HI) return;
    const b = this.maps.get(ip);
    if (b === undefined) return;
    const p = port - EPHEMERAL_LO;
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
