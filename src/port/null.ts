/**
 * The `null` driver: a TX blackhole that never receives, like DPDK's net_null.
 * Useful to measure the stack's TX cost without I/O.
 */
import type { BufferPool } from '../core/buffer_pool.js';
import { emptyQueueStats, softwareCaps, type Port, type PortCaps, type PortQueue, type QueueStats } from './port.js';

class NullQueue implements PortQueue {
  private readonly st: QueueStats = emptyQueueStats();
  constructor(
    readonly queueId: number,
    readonly pool: BufferPool,
  ) {}
  rxBurst(_out: Int32Array, _max: number): number {
    return 0;
  }
  txBurst(slots: Int32Array, n: number): number {
    for (let i = 0; i < n; i++) {
      const s = slots[i];
      this.st.txBytes += this.pool.dataLen[s];
      this.pool.free(s);
    }
    this.st.txFrames += n;
    return n;
  }
  stats(): QueueStats {
    return { ...this.st };
  }
  close(): void {}
}

export class NullPort implements Port {
  readonly driver = 'null';
  readonly caps: PortCaps;
  constructor(
    readonly name = 'null0',
    readonly queueCount = 1,
  ) {
    this.caps = softwareCaps(Uint8Array.of(0x02, 0x76, 0x67, 0x00, 0x00, 0xff), queueCount);
  }
  openQueue(q: number, pool: BufferPool): PortQueue {
    if (q < 0 || q >= this.queueCount) throw new RangeError(`null port has no queue ${q}`);
    return new NullQueue(q, pool);
  }
  close(): void {}
}
