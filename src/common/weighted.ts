/**
 * Picks an index by weight: a cumulative table searched with a uniform draw
 * in [0, 1). Built once; a pick allocates nothing.
 */
export class WeightedPick {
  private readonly cum: Float64Array;

  constructor(weights: readonly number[]) {
    if (weights.length === 0 || !weights.every((w) => w > 0 && Number.isFinite(w))) throw new RangeError('weights must be positive numbers, at least one');
    this.cum = new Float64Array(weights.length);
    let t = 0;
    weights.forEach((w, i) => (this.cum[i] = t += w));
    for (let i = 0; i < this.cum.length; i++) this.cum[i] /= t;
  }

  get size(): number {
    return this.cum.length;
  }

  /** The index whose share of [0, 1) holds `u`. */
  pick(u: number): number {
    const c = this.cum;
    let lo = 0;
    let hi = c.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (u < c[mid]) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}

/** `total` split by `weights` into integers that add up to it (largest remainders). */
export function splitByWeight(total: number, weights: readonly number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  const exact = weights.map((w) => (total * w) / sum);
  const out = exact.map(Math.floor);
  let left = total - out.reduce((a, b) => a + b, 0);
  const order = exact.map((e, i) => [e - Math.floor(e), i]).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (let k = 0; left > 0; k++, left--) out[order[k % order.length][1]]++;
  return out;
}
