/**
 * The hop itself: two queues of two ports sharing one slot pool, frames from
 * each forwarded to the other through that direction's Impairment, with no L3
 * processing (a transparent bridge). One `step` is one poll round; the caller's
 * loop decides how often to step and when to yield.
 */
import type { Clock } from '../common/clock.js';
import { Prng } from '../common/prng.js';
import { TxBatch } from '../port/tx_batch.js';
import type { PortQueue } from '../port/port.js';
import type { CounterSnapshot } from './counters.js';
import { Impairment } from './engine.js';
import type { ImpairSpec } from './spec.js';

const BURST = 64;

export interface BridgeOptions {
  aToB: ImpairSpec;
  bToA: ImpairSpec;
  /** Direction a->b draws from `seed`, b->a from `seed + 1`. */
  seed: number;
  clock: Clock;
}

/** Counters of one direction, with the TX drops of the port it sends on. */
export interface DirectionSnapshot extends CounterSnapshot {
  dropTx: number;
}

export class Bridge {
  readonly aToB: Impairment;
  readonly bToA: Impairment;
  private readonly txA: TxBatch;
  private readonly txB: TxBatch;
  private readonly rx = new Int32Array(BURST);
  private readonly clock: Clock;

  constructor(
    private readonly qa: PortQueue,
    private readonly qb: PortQueue,
    opts: BridgeOptions,
  ) {
    if (qa.pool !== qb.pool) throw new Error('impair: both queues of the bridge must share one buffer pool');
    this.clock = opts.clock;
    this.txA = new TxBatch(qa, 1024, BURST);
    this.txB = new TxBatch(qb, 1024, BURST);
    this.aToB = new Impairment(opts.aToB, qa.pool, this.txB, new Prng(opts.seed));
    this.bToA = new Impairment(opts.bToA, qa.pool, this.txA, new Prng(opts.seed + 1));
  }

  /** One poll round: receive on both sides, release due frames, transmit. Returns frames received. */
  step(): number {
    const now = this.clock.nowUs();
    const rx = this.rx;
    const na = this.qa.rxBurst(rx, BURST);
    for (let i = 0; i < na; i++) this.aToB.offer(rx[i], now);
    const nb = this.qb.rxBurst(rx, BURST);
    for (let i = 0; i < nb; i++) this.bToA.offer(rx[i], now);
    this.aToB.poll(now);
    this.bToA.poll(now);
    this.txB.flush();
    this.txA.flush();
    return na + nb;
  }

  /** Frames held in either direction or waiting to be sent. */
  get pending(): number {
    return this.aToB.held + this.bToA.held + this.txA.pending + this.txB.pending;
  }

  snapshot(): { aToB: DirectionSnapshot; bToA: DirectionSnapshot } {
    return {
      aToB: { ...this.aToB.counters.snapshot(), dropTx: this.txB.dropped },
      bToA: { ...this.bToA.counters.snapshot(), dropTx: this.txA.dropped },
    };
  }

  /** Frees the frames still held (frames already accepted by a port are the port's). */
  close(): void {
    this.aToB.drain();
    this.bToA.drain();
    this.txA.flush();
    this.txB.flush();
  }
}
