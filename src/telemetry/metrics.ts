/**
 * Per-worker counter slabs in one SharedArrayBuffer, the architecture's
 * "cache-line aligned, one per worker, no cross-core writes". Each worker owns
 * one slab and is the only writer of its counters; management reads all slabs
 * and sums them. Counter names are registered once at start (a MetricsLayout)
 * so the hot path indexes a Float64Array by a number it looked up beforehand.
 *
 * Why Float64 cells: a counter update is a single aligned 8-byte store
 * (`c[i] += n`) that V8 compiles to one movsd, so the reader on another core
 * sees the old or the new value, never half of each, and the value is exact to
 * 2^53 (over 2 years at 100 M events/s). BigUint64 cells would allocate a BigInt
 * per update; Uint32 pairs need two stores and a carry, which a reader can see
 * torn. Gauges (e.g. open connections) use the same cells: the sum is the total.
 */

export const CACHE_LINE = 64;
const F64_PER_LINE = CACHE_LINE / 8;
const NAME = /^[a-z][a-z0-9_]*$/;

/** The names of the counters, and where each lives in a slab. */
export class MetricsLayout {
  readonly names: readonly string[];
  /** Slab size in Float64 cells, a whole number of cache lines. */
  readonly stride: number;
  private readonly ids: Map<string, number>;

  constructor(names: readonly string[]) {
    const ids = new Map<string, number>();
    for (const n of names) {
      if (!NAME.test(n)) throw new RangeError(`metric name ${JSON.stringify(n)} is not snake_case`);
      if (ids.has(n)) throw new RangeError(`metric ${n} registered twice`);
      ids.set(n, ids.size);
    }
    this.names = [...names];
    this.ids = ids;
    this.stride = Math.max(1, Math.ceil(names.length / F64_PER_LINE)) * F64_PER_LINE;
  }

  /** The counter's index in a slab; throws for a name that was not registered. */
  id(name: string): number {
    const i = this.ids.get(name);
    if (i === undefined) throw new RangeError(`metric ${name} is not registered`);
    return i;
  }

  /** Allocates the slabs of `workers` workers, zeroed. */
  allocate(workers: number): SharedArrayBuffer {
    if (!Number.isInteger(workers) || workers < 1) throw new RangeError(`worker count must be >= 1, got ${workers}`);
    return new SharedArrayBuffer(workers * this.stride * 8);
  }
}

/** What a worker needs to attach to its slab; structured-cloneable for workerData. */
export interface MetricsShared {
  readonly sab: SharedArrayBuffer;
  readonly names: readonly string[];
}

/** One worker's slab: the only place that worker writes its counters. */
export class MetricsSlab {
  readonly layout: MetricsLayout;
  /** The counters, indexed by layout.id(name). Hot path: `slab.c[id] += n`. */
  readonly c: Float64Array;

  constructor(shared: MetricsShared, workerIdx: number, layout = new MetricsLayout(shared.names)) {
    this.layout = layout;
    const workers = shared.sab.byteLength / (layout.stride * 8);
    if (!Number.isInteger(workerIdx) || workerIdx < 0 || workerIdx >= workers) {
      throw new RangeError(`no metrics slab for worker ${workerIdx} (have ${workers})`);
    }
    this.c = new Float64Array(shared.sab, workerIdx * layout.stride * 8, layout.names.length);
  }

  id(name: string): number {
    return this.layout.id(name);
  }
}

export type MetricsSnapshot = Record<string, number>;

/** The management view over every worker's slab. */
export class MetricsReader {
  readonly layout: MetricsLayout;
  readonly workers: number;
  private readonly all: Float64Array;

  constructor(shared: MetricsShared) {
    this.layout = new MetricsLayout(shared.names);
    this.workers = shared.sab.byteLength / (this.layout.stride * 8);
    this.all = new Float64Array(shared.sab);
  }

  /** One worker's counters as a plain object. */
  worker(w: number): MetricsSnapshot {
    if (w < 0 || w >= this.workers) throw new RangeError(`no worker ${w}`);
    const out: MetricsSnapshot = {};
    const base = w * this.layout.stride;
    this.layout.names.forEach((n, i) => (out[n] = this.all[base + i]));
    return out;
  }

  /** Every counter summed over the workers, as a plain object. */
  sum(): MetricsSnapshot {
    const out: MetricsSnapshot = {};
    const { names, stride } = this.layout;
    for (let i = 0; i < names.length; i++) {
      let t = 0;
      for (let w = 0; w < this.workers; w++) t += this.all[w * stride + i];
      out[names[i]] = t;
    }
    return out;
  }
}
