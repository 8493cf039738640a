/**
 * HDR latency histograms (Gil Tene's HdrHistogram layout): values are counted
 * in buckets of doubling width, each split into 2^k sub-buckets, so any value
 * is held with `digits` significant decimal digits at a fixed memory cost.
 *
 * Each worker records into its own region of a SharedArrayBuffer (one writer,
 * Float64 cells for the reasons given in metrics.ts); management merges the
 * regions into a Histogram and exports it with the standard HdrHistogram V2
 * encoding (ZigZag LEB128 counts with zero runs, zlib-deflated, base64: the
 * "HISTF..." strings that HdrHistogram's Java/C/JS/Go tools read). Values are
 * numbers below 2^53; a value above `highest` is recorded as `highest`, a
 * negative or NaN one as 0, and both are counted in `clamped`.
 */
import { deflateSync, inflateSync } from 'node:zlib';

export interface HdrParams {
  /** Smallest value told apart from 0 (>= 1). */
  lowest: number;
  /** Largest value tracked exactly (e.g. 60 s in us). */
  highest: number;
  /** Significant decimal digits kept, 0..5. */
  digits: number;
}

const TWO32 = 2 ** 32;
const TWO31 = 2 ** 31;
const POW2 = Float64Array.from({ length: 64 }, (_, i) => 2 ** i);

/** The gap from |x| to the next larger double. */
function ulp(x: number): number {
  const a = Math.abs(x);
  if (a === 0) return Number.MIN_VALUE;
  return 2 ** (Math.floor(Math.log2(a)) - 52);
}

/** Index of the highest set bit of a non-negative number < 2^53, -1 for 0 (fractions are truncated). */
function msb(v: number): number {
  if (v < TWO32) return 31 - Math.clz32(v);
  return 63 - Math.clz32(Math.floor(v / TWO32));
}

/** The bucket geometry shared by recorders, histograms and the codec. */
export class HdrLayout {
  readonly params: Readonly<HdrParams>;
  readonly unitMag: number;
  readonly subHalfMag: number;
  readonly subCount: number;
  readonly subHalf: number;
  readonly bucketCount: number;
  /** Cells of the counts array. */
  readonly countsLen: number;

  constructor(p: HdrParams) {
    const { lowest, highest, digits } = p;
    if (!Number.isSafeInteger(lowest) || lowest < 1) throw new RangeError(`histogram lowest must be an integer >= 1, got ${lowest}`);
    if (!Number.isSafeInteger(highest) || highest < 2 * lowest) {
      throw new RangeError(`histogram highest must be an integer >= 2 x lowest, got ${highest}`);
    }
    if (!Number.isInteger(digits) || digits < 0 || digits > 5) throw new RangeError(`histogram digits must be 0..5, got ${digits}`);
    this.params = { lowest, highest, digits };
    const subCountMag = Math.ceil(Math.log2(2 * 10 ** digits));
    this.subHalfMag = Math.max(subCountMag, 1) - 1;
    this.unitMag = msb(lowest);
    this.subCount = 2 ** (this.subHalfMag + 1);
    this.subHalf = this.subCount / 2;
    let smallestUntrackable = this.subCount * POW2[this.unitMag];
    let buckets = 1;
    while (smallestUntrackable <= highest) {
      smallestUntrackable *= 2;
      buckets++;
    }
    this.bucketCount = buckets;
    this.countsLen = (buckets + 1) * this.subHalf;
  }

  private bucketOf(v: number): number {
    const b = msb(v) - this.unitMag - this.subHalfMag;
    return b > 0 ? b : 0;
  }

  /** The counts cell of value v (0 <= v <= highest). */
  index(v: number): number {
    if (v < TWO31) {
      // Below 2^31 (36 minutes in µs), the hot path's case: integer shifts in place of a division.
      const iv = v | 0;
      const b = 31 - Math.clz32(iv) - this.unitMag - this.subHalfMag;
      return b > 0 ? b * this.subHalf + (iv >>> (b + this.unitMag)) : iv >>> this.unitMag;
    }
    const b = this.bucketOf(v);
    const sub = Math.floor(v / POW2[b + this.unitMag]);
    return (b + 1) * this.subHalf + sub - this.subHalf;
  }

  /** The lowest value counted in cell i. */
  valueAt(i: number): number {
    let b = Math.floor(i / this.subHalf) - 1;
    let sub = (i % this.subHalf) + this.subHalf;
    if (b < 0) {
      sub -= this.subHalf;
      b = 0;
    }
    return sub * POW2[b + this.unitMag];
  }

  lowestEquivalent(v: number): number {
    return this.valueAt(this.index(v));
  }

  /** Width of the range of values counted with v. */
  rangeSize(v: number): number {
    const b = this.bucketOf(v);
    const sub = Math.floor(v / POW2[b + this.unitMag]);
    return POW2[this.unitMag + (sub >= this.subCount ? b + 1 : b)];
  }

  highestEquivalent(v: number): number {
    return this.lowestEquivalent(v) + this.rangeSize(v) - 1;
  }

  /** Header cells before the counts: total, min, max, clamped, padded to a cache line. */
  static readonly HEADER = 8;

  /** One worker's region in Float64 cells, whole cache lines. */
  get stride(): number {
    return Math.ceil((HdrLayout.HEADER + this.countsLen) / 8) * 8;
  }
}

const TOTAL = 0;
const MIN = 1;
const MAX = 2;
const CLAMPED = 3;

/** What a worker needs to attach to its region; structured-cloneable for workerData. */
export interface HistogramShared {
  readonly sab: SharedArrayBuffer;
  readonly params: HdrParams;
  readonly workers: number;
  /** Histograms per worker (e.g. one per latency phase), each its own region of the worker's. */
  readonly slots: number;
}

export function createSharedHistograms(params: HdrParams, workers: number, slots = 1): HistogramShared {
  const layout = new HdrLayout(params);
  if (!Number.isInteger(workers) || workers < 1) throw new RangeError(`worker count must be >= 1, got ${workers}`);
  if (!Number.isInteger(slots) || slots < 1) throw new RangeError(`histogram slots must be >= 1, got ${slots}`);
  return { sab: new SharedArrayBuffer(workers * slots * layout.stride * 8), params: { ...layout.params }, workers, slots };
}

/** Offset in Float64 cells of worker w's histogram `slot`. */
function regionOf(shared: HistogramShared, stride: number, w: number, slot: number): number {
  if (!Number.isInteger(slot) || slot < 0 || slot >= shared.slots) throw new RangeError(`no histogram slot ${slot}`);
  return (w * shared.slots + slot) * stride;
}

/** Counts one value into a Float64 region laid out as HEADER + counts. */
function recordInto(l: HdrLayout, a: Float64Array, base: number, value: number, n: number): void {
  let v = value;
  if (!(v >= 0)) {
    v = 0;
    a[base + CLAMPED] += n;
  } else if (v > l.params.highest) {
    v = l.params.highest;
    a[base + CLAMPED] += n;
  }
  a[base + HdrLayout.HEADER + l.index(v)] += n;
  if (a[base + TOTAL] === 0 || v < a[base + MIN]) a[base + MIN] = v;
  if (v > a[base + MAX]) a[base + MAX] = v;
  a[base + TOTAL] += n;
}

/** A worker's writer into its region of the shared histograms. */
export class HdrRecorder {
  readonly layout: HdrLayout;
  private readonly a: Float64Array;

  constructor(shared: HistogramShared, workerIdx: number, slot = 0) {
    if (!Number.isInteger(workerIdx) || workerIdx < 0 || workerIdx >= shared.workers) {
      throw new RangeError(`no histogram region for worker ${workerIdx}`);
    }
    this.layout = new HdrLayout(shared.params);
    this.a = new Float64Array(shared.sab, regionOf(shared, this.layout.stride, workerIdx, slot) * 8, this.layout.stride);
  }

  record(v: number): void {
    recordInto(this.layout, this.a, 0, v, 1);
  }

  recordN(v: number, n: number): void {
    recordInto(this.layout, this.a, 0, v, n);
  }
}

const V2_COOKIE = 0x1c849313;
const V2_COMPRESSED_COOKIE = 0x1c849314;
const V2_HEADER = 40;

function zigzagPut(out: number[], value: number): void {
  let z = value >= 0 ? value * 2 : -value * 2 - 1;
  while (z >= 0x80) {
    out.push((z % 0x80) | 0x80);
    z = Math.floor(z / 0x80);
  }
  out.push(z);
}

/** A plain (management-side) histogram: merged from workers, decoded, or recorded directly. */
export class Histogram {
  readonly layout: HdrLayout;
  /** HEADER cells then counts, as in a worker's region. */
  private readonly a: Float64Array;

  constructor(params: HdrParams) {
    this.layout = new HdrLayout(params);
    this.a = new Float64Array(HdrLayout.HEADER + this.layout.countsLen);
  }

  /** Sums every worker's region of histogram `slot`. */
  static merged(shared: HistogramShared, slot = 0): Histogram {
    const h = new Histogram(shared.params);
    const { stride } = h.layout;
    const all = new Float64Array(shared.sab);
    for (let w = 0; w < shared.workers; w++) h.addRegion(all, regionOf(shared, stride, w, slot));
    return h;
  }

  /**
   * What `cur` counted since `prev` (an earlier copy of the same cumulative
   * histogram): the per-interval figures of merged worker histograms. Min and
   * max are those of the cells that grew.
   */
  static difference(cur: Histogram, prev: Histogram): Histogram {
    const h = new Histogram(cur.layout.params);
    h.checkGeometry(prev);
    h.checkGeometry(cur);
    const H = HdrLayout.HEADER;
    for (let i = 0; i < h.layout.countsLen; i++) {
      const d = cur.a[H + i] - prev.a[H + i];
      if (d > 0) h.addCell(i, d);
    }
    h.a[CLAMPED] = Math.max(0, cur.a[CLAMPED] - prev.a[CLAMPED]);
    return h;
  }

  /** A copy (to take differences from later). */
  clone(): Histogram {
    const h = new Histogram(this.layout.params);
    h.a.set(this.a);
    return h;
  }

  private checkGeometry(other: Histogram): void {
    const p = this.layout.params;
    const q = other.layout.params;
    if (p.lowest !== q.lowest || p.highest !== q.highest || p.digits !== q.digits) {
      throw new RangeError('histograms of different geometry cannot be added');
    }
  }

  /** Adds another histogram of the same geometry. */
  add(other: Histogram): void {
    this.checkGeometry(other);
    this.addRegion(other.a, 0);
  }

  /**
   * Adds a region that its worker may be recording into meanwhile: the total
   * is the sum of the cells as read, not the header's, which a record between
   * the two reads would leave one short of them (and an interval taken from
   * this copy one short of the run's).
   */
  private addRegion(src: Float64Array, base: number): void {
    const a = this.a;
    if (src[base + TOTAL] === 0) return;
    if (a[TOTAL] === 0 || src[base + MIN] < a[MIN]) a[MIN] = src[base + MIN];
    if (src[base + MAX] > a[MAX]) a[MAX] = src[base + MAX];
    a[CLAMPED] += src[base + CLAMPED];
    const H = HdrLayout.HEADER;
    let t = 0;
    for (let i = 0; i < this.layout.countsLen; i++) {
      const n = src[base + H + i];
      a[H + i] += n;
      t += n;
    }
    a[TOTAL] += t;
  }

  record(v: number, n = 1): void {
    recordInto(this.layout, this.a, 0, v, n);
  }

  /** Adds n to cell i as decoded: no clamping, since encoders may hold values past their declared highest. */
  private addCell(i: number, n: number): void {
    const a = this.a;
    const v = this.layout.valueAt(i);
    a[HdrLayout.HEADER + i] += n;
    if (a[TOTAL] === 0 || v < a[MIN]) a[MIN] = v;
    if (v > a[MAX]) a[MAX] = v;
    a[TOTAL] += n;
  }

  get totalCount(): number {
    return this.a[TOTAL];
  }

  /** Values recorded out of range (above `highest`, negative or NaN). */
  get clamped(): number {
    return this.a[CLAMPED];
  }

  get min(): number {
    return this.a[TOTAL] === 0 ? 0 : this.layout.lowestEquivalent(this.a[MIN]);
  }

  get max(): number {
    return this.a[TOTAL] === 0 ? 0 : this.layout.highestEquivalent(this.a[MAX]);
  }

  countAt(v: number): number {
    return this.a[HdrLayout.HEADER + this.layout.index(v)];
  }

  /** Mean of the recorded values, each taken at the middle of its range (as HdrHistogram does). */
  get mean(): number {
    const l = this.layout;
    if (this.a[TOTAL] === 0) return 0;
    let sum = 0;
    for (let i = 0; i < l.countsLen; i++) {
      const c = this.a[HdrLayout.HEADER + i];
      if (c === 0) continue;
      const v = l.valueAt(i);
      sum += (v + Math.floor(l.rangeSize(v) / 2)) * c;
    }
    return sum / this.a[TOTAL];
  }

  /**
   * For each of the ascending `bounds`, how many values are at or below it
   * (a cell counts whole where it starts): a Prometheus histogram's
   * cumulative buckets. Values past the last bound are in totalCount only.
   */
  cumulative(bounds: readonly number[]): number[] {
    const l = this.layout;
    const out = new Array<number>(bounds.length).fill(0);
    if (this.a[TOTAL] === 0) return out;
    const limit = l.index(this.a[MAX]) + 1;
    let b = 0;
    let seen = 0;
    for (let i = 0; i < limit && b < bounds.length; i++) {
      const v = l.valueAt(i);
      while (b < bounds.length && v > bounds[b]) out[b++] = seen;
      seen += this.a[HdrLayout.HEADER + i];
    }
    while (b < bounds.length) out[b++] = seen;
    return out;
  }

  /** The value at or below which `p` percent of the recorded values fall (highest equivalent value). */
  valueAtPercentile(p: number): number {
    const l = this.layout;
    const total = this.a[TOTAL];
    if (total === 0) return 0;
    const q = Math.min(Math.max(p, 0), 100);
    // As HdrHistogram: the count at the percentile rounded up, less one ulp of the float product's error.
    const fp = (q / 100) * total;
    const want = Math.max(1, Math.ceil(fp - ulp(fp)));
    let seen = 0;
    for (let i = 0; i < l.countsLen; i++) {
      seen += this.a[HdrLayout.HEADER + i];
      if (seen >= want) {
        const v = l.valueAt(i);
        return q === 0 ? l.lowestEquivalent(v) : l.highestEquivalent(v);
      }
    }
    return 0;
  }

  /** The V2 encoding, uncompressed (header + ZigZag LEB128 counts up to the max value's cell). */
  encodeRaw(): Uint8Array {
    const l = this.layout;
    const limit = this.a[TOTAL] === 0 ? 0 : l.index(this.a[MAX]) + 1;
    const body: number[] = [];
    for (let i = 0; i < limit; ) {
      const c = this.a[HdrLayout.HEADER + i++];
      if (c !== 0) {
        zigzagPut(body, c);
        continue;
      }
      let zeros = 1;
      while (i < limit && this.a[HdrLayout.HEADER + i] === 0) {
        zeros++;
        i++;
      }
      zigzagPut(body, zeros > 1 ? -zeros : 0);
    }
    const out = new Uint8Array(V2_HEADER + body.length);
    const dv = new DataView(out.buffer);
    dv.setInt32(0, V2_COOKIE);
    dv.setInt32(4, body.length);
    dv.setInt32(8, 0); // normalizing index offset
    dv.setInt32(12, l.params.digits);
    dv.setBigInt64(16, BigInt(l.params.lowest));
    dv.setBigInt64(24, BigInt(l.params.highest));
    dv.setFloat64(32, 1.0); // integer-to-double conversion ratio
    out.set(body, V2_HEADER);
    return out;
  }

  /** The compressed V2 encoding in base64, as HdrHistogram's encodeIntoCompressedByteBuffer + base64. */
  encode(): string {
    const z = deflateSync(this.encodeRaw());
    const out = Buffer.alloc(8 + z.length);
    out.writeInt32BE(V2_COMPRESSED_COOKIE, 0);
    out.writeInt32BE(z.length, 4);
    z.copy(out, 8);
    return out.toString('base64');
  }

  /** Decodes a compressed base64 V2 histogram; throws a RangeError naming what is wrong. */
  static decode(b64: string): Histogram {
    const buf = Buffer.from(b64, 'base64');
    if (buf.length < 8 || buf.readInt32BE(0) !== V2_COMPRESSED_COOKIE) throw new RangeError('not a compressed V2 HdrHistogram');
    const len = buf.readInt32BE(4);
    if (len < 0 || 8 + len > buf.length) throw new RangeError('truncated HdrHistogram');
    let raw: Buffer;
    try {
      raw = inflateSync(buf.subarray(8, 8 + len));
    } catch (e) {
      throw new RangeError(`HdrHistogram payload does not inflate: ${(e as Error).message}`, { cause: e });
    }
    return Histogram.decodeRaw(raw);
  }

  /** Decodes the uncompressed V2 encoding. */
  static decodeRaw(raw: Uint8Array): Histogram {
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    if (raw.length < V2_HEADER || dv.getInt32(0) !== V2_COOKIE) throw new RangeError('not a V2 HdrHistogram encoding');
    const bodyLen = dv.getInt32(4);
    if (bodyLen < 0 || V2_HEADER + bodyLen > raw.length) throw new RangeError('truncated HdrHistogram counts');
    if (dv.getInt32(8) !== 0) throw new RangeError('normalizing index offsets are not supported');
    const lowest = Number(dv.getBigInt64(16));
    const highest = Number(dv.getBigInt64(24));
    const h = new Histogram({ lowest, highest, digits: dv.getInt32(12) });
    const cells = h.layout.countsLen;
    let i = 0;
    let pos = V2_HEADER;
    const end = V2_HEADER + bodyLen;
    while (pos < end) {
      let z = 0;
      let scale = 1;
      let b: number;
      do {
        if (pos >= end || scale > 2 ** 49) throw new RangeError('bad ZigZag count in HdrHistogram');
        b = raw[pos++];
        z += (b & 0x7f) * scale;
        scale *= 0x80;
      } while (b & 0x80);
      const v = z % 2 === 0 ? z / 2 : -(z + 1) / 2;
      if (v < 0) {
        i += -v;
        continue;
      }
      if (i >= cells) throw new RangeError('HdrHistogram counts run past its highest value');
      if (v > 0) h.addCell(i, v);
      i++;
    }
    return h;
  }
}
