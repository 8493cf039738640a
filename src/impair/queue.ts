/**
 * The impairment as a PortQueue wrapper, as the pcap tap wraps a queue for
 * capture: frames the caller transmits enter an Impairment (the same engine as
 * `vaigai impair`); the frames it releases, by the clock, go to the inner
 * queue on the wrapper's next poll (TX or RX). This is the fault injector of
 * stack tests over the ring port.
 */
import { monotonicClock, type Clock } from '../common/clock.js';
import { Prng } from '../common/prng.js';
import type { BufferPool } from '../core/buffer_pool.js';
import type { Port, PortCaps, PortQueue, QueueStats } from '../port/port.js';
import { TxBatch } from '../port/tx_batch.js';
import type { ImpairCounters } from './counters.js';
import { Impairment } from './engine.js';
import { parseImpairSpec, type ImpairSpec } from './spec.js';

/** Released frames the inner queue could not take yet; beyond this they are dropped (txDropped). */
const BACKLOG = 1024;

export interface ImpairQueueOptions {
  /** Seed of the impairment's PRNG (default 1): the same seed repeats a run exactly. */
  seed?: number;
  /** Time source that releases delayed frames (default: the monotonic clock). */
  clock?: Clock;
}

export class ImpairedQueue implements PortQueue {
  readonly impairment: Impairment;
  private readonly out: TxBatch;
  private readonly clock: Clock;

  constructor(
    private readonly inner: PortQueue,
    spec: ImpairSpec | string,
    opts: ImpairQueueOptions = {},
  ) {
    this.clock = opts.clock ?? monotonicClock;
    this.out = new TxBatch(inner, BACKLOG, BACKLOG);
    const s = typeof spec === 'string' ? parseImpairSpec(spec) : spec;
    this.impairment = new Impairment(s, inner.pool, this.out, new Prng(opts.seed ?? 1));
  }

  get queueId(): number {
    return this.inner.queueId;
  }
  get pool(): BufferPool {
    return this.inner.pool;
  }
  get counters(): ImpairCounters {
    return this.impairment.counters;
  }

  /** Every frame enters the impairment, which counts its own drops. */
  txBurst(slots: Int32Array, n: number): number {
    const now = this.clock.nowUs();
    const imp = this.impairment;
    imp.poll(now);
    for (let i = 0; i < n; i++) imp.offer(slots[i], now);
    this.out.flush();
    return n;
  }

  rxBurst(out: Int32Array, max: number): number {
    this.impairment.poll(this.clock.nowUs());
    this.out.flush();
    return this.inner.rxBurst(out, max);
  }

  stats(): QueueStats {
    const s = this.inner.stats();
    return { ...s, txDropped: s.txDropped + this.out.dropped };
  }

  close(): void {
    this.impairment.drain();
    this.out.drop();
    this.inner.close();
  }
}

/** Wraps a queue so that the frames it transmits go through an impairment of `spec`. */
export function impairQueue(queue: PortQueue, spec: ImpairSpec | string, opts: ImpairQueueOptions = {}): ImpairedQueue {
  return new ImpairedQueue(queue, spec, opts);
}

/**
 * A Port whose queues transmit through an impairment each; queue q draws from
 * seed `seed + stride * q`, so each queue (and each direction of a pair) has
 * its own stream.
 */
export class ImpairedPort implements Port {
  private readonly queues: (ImpairedQueue | null)[] = [];
  constructor(
    private readonly inner: Port,
    private readonly spec: ImpairSpec | string,
    private readonly opts: ImpairQueueOptions & { stride?: number } = {},
  ) {}
  get driver(): string {
    return this.inner.driver;
  }
  get name(): string {
    return this.inner.name;
  }
  get queueCount(): number {
    return this.inner.queueCount;
  }
  get caps(): PortCaps {
    return this.inner.caps;
  }
  openQueue(q: number, pool: BufferPool): PortQueue {
    const seed = (this.opts.seed ?? 1) + (this.opts.stride ?? 1) * q;
    const iq = impairQueue(this.inner.openQueue(q, pool), this.spec, { seed, clock: this.opts.clock });
    this.queues[q] = iq;
    return iq;
  }
  /** Counters of the impairment on frames leaving queue `q`, or null before it is opened. */
  impairCounters(q = 0): ImpairCounters | null {
    return this.queues[q]?.counters ?? null;
  }
  close(): void {
    this.inner.close();
  }
}
