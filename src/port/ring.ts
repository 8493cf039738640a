/**
 * The `ring` driver: two ports wired back to back in memory, like DPDK's
 * net_ring. Frames sent on queue q of one side are received on queue q of the
 * other. Both ends are polled from the same thread. When both ends use the same
 * pool the slot itself is handed over; otherwise the frame is copied into the
 * receiver's pool.
 *
 * Each direction can carry an impairment (loss, delay, reordering...): the
 * same engine as `vaigai impair`, here the fault injector of stack tests. The
 * sender's frames enter it on TX; frames it releases (by the ring's clock) join
 * the FIFO on the next TX or RX of either end.
 */
import type { BufferPool } from '../core/buffer_pool.js';
import { monotonicClock, type Clock } from '../common/clock.js';
import { Prng } from '../common/prng.js';
import type { ImpairCounters } from '../impair/counters.js';
import { Impairment } from '../impair/engine.js';
import { parseImpairSpec, type ImpairSpec } from '../impair/spec.js';
import { emptyQueueStats, softwareCaps, type Port, type PortCaps, type PortQueue, type QueueStats } from './port.js';

export interface RingOptions {
  /** Frames each direction of each queue holds before TX backs off. */
  capacity?: number;
  queues?: number;
  name?: string;
  /** Impairment of frames from port 0 to port 1 (a spec or `key=value,...` text). */
  aToB?: ImpairSpec | string;
  /** Impairment of frames from port 1 to port 0. */
  bToA?: ImpairSpec | string;
  /** Seed of the impairments' PRNGs (default 1): the same seed repeats a run exactly. */
  seed?: number;
  /** Time source that releases delayed frames (default: the monotonic clock). */
  clock?: Clock;
}

/** An impairment to build once the sender's pool is known. */
interface ImpairPlan {
  spec: ImpairSpec;
  seed: number;
  clock: Clock;
}

/** One direction of one queue: a bounded FIFO of slots of the sender's pool. */
class Fifo {
  readonly slots: Int32Array;
  readonly mask: number;
  head = 0;
  tail = 0;
  pool: BufferPool | null = null;
  impair: Impairment | null = null;
  /** Frames the impairment released while the FIFO was full. */
  dropped = 0;
  constructor(
    capacity: number,
    readonly plan: ImpairPlan | null,
  ) {
    let c = 1;
    while (c < capacity) c <<= 1;
    this.slots = new Int32Array(c);
    this.mask = c - 1;
  }
  get size(): number {
    return this.tail - this.head;
  }

  /** The impairment's output: joins the FIFO, or is dropped when it is full (a full RX ring). */
  push(slot: number): void {
    if (this.tail - this.head === this.slots.length) {
      (this.pool as BufferPool).free(slot);
      this.dropped++;
      return;
    }
    this.slots[this.tail++ & this.mask] = slot;
  }

  /** Moves the frames the impairment holds that are now due into the FIFO. */
  release(): void {
    const plan = this.plan;
    if (this.impair !== null && plan !== null) this.impair.poll(plan.clock.nowUs());
  }
}

class RingQueue implements PortQueue {
  private readonly st: QueueStats = emptyQueueStats();
  constructor(
    readonly queueId: number,
    readonly pool: BufferPool,
    private readonly out: Fifo,
    private readonly inp: Fifo,
  ) {
    out.pool = pool;
    const plan = out.plan;
    if (plan !== null) out.impair = new Impairment(plan.spec, pool, out, new Prng(plan.seed));
  }

  txBurst(slots: Int32Array, n: number): number {
    const f = this.out;
    if (f.impair !== null) return this.txImpaired(f, f.impair, slots, n);
    const room = f.slots.length - f.size;
    const k = n < room ? n : room;
    for (let i = 0; i < k; i++) {
      const s = slots[i];
      this.st.txBytes += this.pool.dataLen[s];
      f.slots[f.tail++ & f.mask] = s;
    }
    this.st.txFrames += k;
    this.st.txDropped += n - k;
    return k;
  }

  /** Every frame enters the impairment, which counts its own drops. */
  private txImpaired(f: Fifo, imp: Impairment, slots: Int32Array, n: number): number {
    const now = (f.plan as ImpairPlan).clock.nowUs();
    imp.poll(now);
    for (let i = 0; i < n; i++) {
      const s = slots[i];
      this.st.txBytes += this.pool.dataLen[s];
      imp.offer(s, now);
    }
    this.st.txFrames += n;
    return n;
  }

  rxBurst(out: Int32Array, max: number): number {
    const f = this.inp;
    f.release();
    const src = f.pool;
    if (src === null) return 0;
    const dst = this.pool;
    let n = 0;
    while (n < max && f.head !== f.tail) {
      const s = f.slots[f.head & f.mask];
      let d = s;
      if (src !== dst) {
        d = dst.alloc();
        if (d < 0) break;
        const len = src.dataLen[s];
        const b = src.base(s);
        dst.u8.set(src.u8.subarray(b, b + len), dst.base(d));
        dst.dataLen[d] = len;
        src.free(s);
      }
      f.head++;
      this.st.rxBytes += dst.dataLen[d];
      out[n++] = d;
    }
    this.st.rxFrames += n;
    return n;
  }

  stats(): QueueStats {
    return { ...this.st, rxDropped: this.st.rxDropped + this.inp.dropped };
  }

  close(): void {
    // Frames still in flight towards this queue belong to the sender's pool.
    const f = this.inp;
    if (f.impair !== null) f.impair.drain();
    while (f.head !== f.tail && f.pool !== null) f.pool.free(f.slots[f.head++ & f.mask]);
  }
}

export class RingPort implements Port {
  readonly driver = 'ring';
  readonly caps: PortCaps;
  constructor(
    readonly name: string,
    readonly queueCount: number,
    mac: Uint8Array,
    private readonly outFifos: Fifo[],
    private readonly inFifos: Fifo[],
  ) {
    this.caps = softwareCaps(mac, queueCount);
  }
  openQueue(q: number, pool: BufferPool): PortQueue {
    if (q < 0 || q >= this.queueCount) throw new RangeError(`ring port ${this.name} has no queue ${q}`);
    return new RingQueue(q, pool, this.outFifos[q], this.inFifos[q]);
  }
  close(): void {}

  /** Counters of the impairment on frames leaving this port's queue `q`, or null without one. */
  impairCounters(q = 0): ImpairCounters | null {
    const imp = this.outFifos[q].impair;
    return imp === null ? null : imp.counters;
  }
}

/** Locally administered MACs 02:76:67:00:00:<n> ("vg") for in-memory ports. */
function ringMac(n: number): Uint8Array {
  return Uint8Array.of(0x02, 0x76, 0x67, 0x00, 0x00, n & 0xff);
}

/** Creates two ports wired back to back. */
export function createRingPair(opts: RingOptions = {}): [RingPort, RingPort] {
  const queues = opts.queues ?? 1;
  const cap = opts.capacity ?? 1024;
  const name = opts.name ?? 'ring';
  const seed = opts.seed ?? 1;
  const clock = opts.clock ?? monotonicClock;
  const plan = (spec: ImpairSpec | string | undefined, s: number): ImpairPlan | null =>
    spec === undefined ? null : { spec: typeof spec === 'string' ? parseImpairSpec(spec) : spec, seed: s, clock };
  const ab: Fifo[] = [];
  const ba: Fifo[] = [];
  for (let q = 0; q < queues; q++) {
    // Each direction of each queue draws from its own stream of the seed.
    ab.push(new Fifo(cap, plan(opts.aToB, seed + 2 * q)));
    ba.push(new Fifo(cap, plan(opts.bToA, seed + 2 * q + 1)));
  }
  return [new RingPort(`${name}0`, queues, ringMac(1), ab, ba), new RingPort(`${name}1`, queues, ringMac(2), ba, ab)];
}
