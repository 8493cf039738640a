/**
 * One direction of the impairment hop, the user-space counterpart of netem.
 * A frame offered to it goes through, in netem's order:
 *   loss -> duplicate -> corrupt -> rate (token bucket, FIFO) -> delay/jitter
 *   (timing wheel) or, for the reorder share, straight out
 * and leaves through the sink. Frames wait in their own pool slots; the stages
 * hold slot indices only, so a frame costs no allocation however long it waits.
 * The direction holds at most `limit` frames (rate FIFO + delay line); a frame
 * arriving beyond that is dropped (tail drop) and counted.
 */
import type { BufferPool } from '../core/buffer_pool.js';
import type { Prng } from '../common/prng.js';
import { ImpairCounters } from './counters.js';
import { DelayLine } from './delay_line.js';
import type { FrameSink } from './frame_sink.js';
import { LossModel } from './loss.js';
import { RateQueue } from './rate_queue.js';
import { markCe } from './ecn_mark.js';
import { DIST_NORMAL, effectiveBurst, isPassThrough, type ImpairSpec } from './spec.js';

/** Corruption leaves the Ethernet header alone so the frame still reaches its host, where checksums fail. */
const ETH_HEADER = 14;

/** The output end: counts what is forwarded, then hands it on. */
class CountingSink implements FrameSink {
  constructor(
    private readonly pool: BufferPool,
    private readonly c: ImpairCounters,
    private readonly sink: FrameSink,
  ) {}
  push(slot: number): void {
    this.c.forwarded++;
    this.c.forwardedBytes += this.pool.dataLen[slot];
    this.sink.push(slot);
  }
}

/** Delay, jitter and reorder; also the sink the rate FIFO drains into. */
class DelayStage implements FrameSink {
  /** Time of the frame being handled (set by the engine before each entry). */
  nowUs = 0;
  readonly line: DelayLine;
  private readonly active: boolean;
  private readonly delayUs: number;
  private readonly jitterUs: number;
  private readonly normal: boolean;
  private readonly reorder: number;

  constructor(
    spec: ImpairSpec,
    pool: BufferPool,
    private readonly prng: Prng,
    private readonly c: ImpairCounters,
    private readonly out: FrameSink,
  ) {
    this.line = new DelayLine(pool.count);
    this.delayUs = spec.delayUs;
    this.jitterUs = spec.jitterUs;
    this.normal = spec.dist === DIST_NORMAL;
    this.reorder = spec.reorder;
    this.active = spec.delayUs > 0 || spec.jitterUs > 0;
  }

  /** A frame leaving the rate FIFO: already counted against the limit. */
  push(slot: number): void {
    this.enter(slot);
  }

  enter(slot: number): void {
    if (!this.active) {
      this.out.push(slot);
      return;
    }
    // netem's reorder: this share skips the delay and so overtakes the frames already waiting.
    if (this.reorder > 0 && this.prng.chance(this.reorder)) {
      this.c.reordered++;
      this.out.push(slot);
      return;
    }
    let d = this.delayUs;
    if (this.jitterUs > 0) {
      d += this.normal ? this.prng.normal(0, this.jitterUs) : this.jitterUs * (2 * this.prng.next() - 1);
      if (d < 0) d = 0;
    }
    this.line.insert(slot, this.nowUs + d, this.nowUs);
    this.c.delayed++;
  }
}

export class Impairment {
  readonly counters = new ImpairCounters();
  private readonly passThrough: boolean;
  private readonly loss: LossModel;
  private readonly out: CountingSink;
  private readonly stage: DelayStage;
  private readonly rate: RateQueue | null;
  private readonly duplicate: number;
  private readonly corrupt: number;
  private readonly ecn: boolean;
  private readonly limit: number;

  constructor(
    readonly spec: ImpairSpec,
    private readonly pool: BufferPool,
    sink: FrameSink,
    private readonly prng: Prng,
  ) {
    this.passThrough = isPassThrough(spec);
    this.loss = new LossModel(spec, prng);
    this.out = new CountingSink(pool, this.counters, sink);
    this.stage = new DelayStage(spec, pool, prng, this.counters, this.out);
    this.rate = spec.rateBps > 0 ? new RateQueue(pool, spec.rateBps, effectiveBurst(spec), spec.limit) : null;
    this.duplicate = spec.duplicate;
    this.corrupt = spec.corrupt;
    this.ecn = spec.ecn;
    this.limit = spec.limit;
  }

  /** Frames held now (rate FIFO + delay line). */
  get held(): number {
    return this.stage.line.size + (this.rate === null ? 0 : this.rate.size);
  }

  /** Takes ownership of `slot`, a frame of the pool that arrived at `nowUs`. */
  offer(slot: number, nowUs: number): void {
    const c = this.counters;
    c.offered++;
    if (this.passThrough) {
      this.out.push(slot);
      return;
    }
    if (this.loss.drop()) {
      if (this.ecn && markCe(this.pool, slot)) {
        c.ceMarked++;
      } else {
        c.dropLoss++;
        this.pool.free(slot);
        return;
      }
    }
    if (this.duplicate > 0 && this.prng.chance(this.duplicate)) {
      const d = this.copy(slot);
      if (d < 0) {
        c.dropNoBuf++;
      } else {
        c.duplicated++;
        this.admit(d, nowUs);
      }
    }
    this.admit(slot, nowUs);
  }

  /** Releases the frames due at `nowUs` (the rate FIFO first, then the delay line). */
  poll(nowUs: number): void {
    if (this.rate !== null) {
      this.stage.nowUs = nowUs;
      this.rate.release(nowUs, this.stage);
    }
    this.stage.line.release(nowUs, this.out);
    this.counters.queued = this.held;
  }

  /** Frees every held frame (shutdown). */
  drain(): void {
    const free = (s: number): void => this.pool.free(s);
    if (this.rate !== null) this.rate.drain(free);
    this.stage.line.drain(free);
    this.counters.queued = 0;
  }

  private admit(slot: number, nowUs: number): void {
    const c = this.counters;
    // Tail drop, checked first as netem does: at the limit every stage that could take the frame would hold it.
    if (this.held >= this.limit) {
      c.dropLimit++;
      this.pool.free(slot);
      return;
    }
    if (this.corrupt > 0 && this.prng.chance(this.corrupt)) this.flipBit(slot);
    this.stage.nowUs = nowUs;
    const rate = this.rate;
    if (rate !== null && !rate.passNow(slot, nowUs)) rate.enqueue(slot);
    else this.stage.enter(slot);
    const h = this.held;
    c.queued = h;
    if (h > c.queueHigh) c.queueHigh = h;
  }

  private copy(slot: number): number {
    const p = this.pool;
    const d = p.alloc();
    if (d < 0) return -1;
    const b = p.base(slot);
    const len = p.dataLen[slot];
    p.u8.copyWithin(p.base(d), b, b + len);
    p.dataLen[d] = len;
    return d;
  }

  private flipBit(slot: number): void {
    const len = this.pool.dataLen[slot];
    if (len <= ETH_HEADER) return;
    const off = this.pool.base(slot) + ETH_HEADER + this.prng.int(len - ETH_HEADER);
    this.pool.u8[off] ^= 1 << this.prng.int(8);
    this.counters.corrupted++;
  }
}
