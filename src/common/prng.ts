/**
 * A fast seeded PRNG: sfc32 (Chris Doty-Humphrey's Small Fast Chaotic counter
 * generator, PractRand-clean), seeded through splitmix32 so that nearby seeds
 * give unrelated streams. The same seed always yields the same sequence, which
 * is what makes a `--seed` run repeat exactly. State is four u32 fields: no
 * allocation per draw.
 */
const TWO_POW_32 = 4294967296;

/** splitmix32 step: a well-mixed u32 from a counter (seeding only). */
function splitmix32(x: number): number {
  let z = (x + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

export class Prng {
  private a = 0;
  private b = 0;
  private c = 0;
  private d = 0;
  /** Second value of the last Box-Muller pair, used by the next normal() call. */
  private spare = 0;
  private hasSpare = false;

  constructor(seed: number) {
    this.reseed(seed);
  }

  /** Restarts the sequence of `seed` (any number; its low 32 bits and high bits both count). */
  reseed(seed: number): void {
    const lo = seed | 0;
    const hi = Math.floor(seed / TWO_POW_32) | 0;
    this.a = splitmix32(lo);
    this.b = splitmix32(this.a ^ hi);
    this.c = splitmix32(this.b + 1);
    this.d = 1;
    this.hasSpare = false;
    // sfc32 needs a few rounds before its output is independent of the seed.
    for (let i = 0; i < 12; i++) this.nextU32();
  }

  /** A uniform u32 in [0, 2^32). */
  nextU32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** A uniform float in [0, 1). */
  next(): number {
    return this.nextU32() / TWO_POW_32;
  }

  /** True with probability `p` (0 never, 1 always). */
  chance(p: number): boolean {
    return this.nextU32() < p * TWO_POW_32;
  }

  /** A uniform integer in [0, n) for 0 < n <= 2^32. */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** A uniform float in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** A normal deviate with the given mean and standard deviation (Box-Muller, pairs cached). */
  normal(mean = 0, sigma = 1): number {
    if (this.hasSpare) {
      this.hasSpare = false;
      return mean + sigma * this.spare;
    }
    // 1 - next() lies in (0, 1], so the logarithm is finite.
    const r = Math.sqrt(-2 * Math.log(1 - this.next()));
    const theta = 2 * Math.PI * this.next();
    this.spare = r * Math.sin(theta);
    this.hasSpare = true;
    return mean + sigma * r * Math.cos(theta);
  }
}
