/**
 * The `ring` driver: two ports wired back to back in memory, like DPDK's
 * net_ring. Frames sent on queue q of one side are received on queue q of the
 * other. Both ends are polled from the same thread. When both ends use the same
 * pool the slot itself is handed over; otherwise the frame is copied into the
 * receiver's pool.
 *
 * Faults (loss, delay, reordering...) are not the ring's business: a queue is
 * wrapped by src/impair's `impairQueue`, as the pcap tap wraps one for capture.
 */
import type { BufferPool } from '../core/buffer_pool.js';
import { emptyQueueStats, softwareCaps, type Port, type PortCaps, type PortQueue, type QueueStats } from './port.js';

export interface RingOptions {
  /** Frames each direction of each queue holds before TX backs off. */
  capacity?: number;
  queues?: number;
  name?: string;
}

/** One direction of one queue: a bounded FIFO of slots of the sender's pool. */
class Fifo {
  readonly slots: Int32Array;
  readonly mask: number;
  head = 0;
  tail = 0;
  pool: BufferPool | null = null;
  constructor(capacity: number) {
    let c = 1;
    while (c < capacity) c <<= 1;
    this.slots = new Int32Array(c);
    this.mask = c - 1;
  }
  get size(): number {
    return this.tail - this.head;
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
  }

  txBurst(slots: Int32Array, n: number): number {
    const f = this.out;
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

  rxBurst(out: Int32Array, max: number): number {
    const f = this.inp;
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
    return { ...this.st };
  }

  close(): void {
    // Frames still in flight towards this queue belong to the sender's pool.
    const f = this.inp;
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
  const ab: Fifo[] = [];
  const ba: Fifo[] = [];
  for (let q = 0; q < queues; q++) {
    ab.push(new Fifo(cap));
    ba.push(new Fifo(cap));
  }
  return [new RingPort(`${name}0`, queues, ringMac(1), ab, ba), new RingPort(`${name}1`, queues, ringMac(2), ba, ab)];
}
