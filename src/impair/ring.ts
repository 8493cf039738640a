/**
 * A ring pair whose directions carry impairments: the in-memory link of stack
 * tests with faults. Each side's queues are wrapped by `impairQueue`.
 */
import type { Clock } from '../common/clock.js';
import { createRingPair, type RingOptions } from '../port/ring.js';
import { ImpairedPort } from './queue.js';
import { emptySpec, type ImpairSpec } from './spec.js';

export interface ImpairedRingOptions extends RingOptions {
  /** Impairment of frames from port 0 to port 1 (a spec or `key=value,...` text). */
  aToB?: ImpairSpec | string;
  /** Impairment of frames from port 1 to port 0. */
  bToA?: ImpairSpec | string;
  /** Seed of the impairments' PRNGs (default 1): the same seed repeats a run exactly. */
  seed?: number;
  /** Time source that releases delayed frames (default: the monotonic clock). */
  clock?: Clock;
}

/**
 * Two ports back to back; a direction without a spec passes frames through.
 * Queue q of a->b draws from seed + 2q, of b->a from seed + 2q + 1.
 */
export function createImpairedRingPair(opts: ImpairedRingOptions = {}): [ImpairedPort, ImpairedPort] {
  const [a, b] = createRingPair(opts);
  const seed = opts.seed ?? 1;
  const o = { stride: 2, clock: opts.clock };
  return [
    new ImpairedPort(a, opts.aToB ?? emptySpec(), { ...o, seed }),
    new ImpairedPort(b, opts.bToA ?? emptySpec(), { ...o, seed: seed + 1 }),
  ];
}
