/**
 * The poll loop of `vaigai impair`. The bridge polls two queues, so it runs its
 * own small loop rather than the one-queue worker loop: slices of up to
 * SLICE_STEPS polls or SLICE_US, then one turn of the event loop (signals, the
 * live line). When nothing has arrived for IDLE_US it naps NAP_MS between
 * polls, so an idle hop leaves the CPU to the hosts it connects (on 2 shared
 * cores a spinning hop was measured slower: the scheduler favours a task that
 * sleeps). A nap lasts about 0.1 ms here, far below the delay accuracy asked
 * (1 ms) and shorter than it takes to fill an RX ring.
 */
import { setImmediate as yieldTurn } from 'node:timers/promises';
import type { Clock } from '../common/clock.js';
import type { Bridge } from './bridge.js';

const SLICE_STEPS = 4096;
const SLICE_US = 2000;
const IDLE_US = 500;
const NAP_MS = 0.05;

export interface LoopControl {
  /** Set to stop the loop after its current slice. */
  stopped: boolean;
}

export interface BridgeLoopOptions {
  clock: Clock;
  /** Stop after this long; 0 runs until `control.stopped`. */
  durationUs: number;
  control: LoopControl;
  /** Called about once per second with the time since the start. */
  onSecond: (elapsedUs: number) => void;
}

/** Runs the bridge until stopped or the duration ends; returns the time it ran, in microseconds. */
export async function runBridge(bridge: Bridge, opts: BridgeLoopOptions): Promise<number> {
  const { clock, control } = opts;
  const napWord = new Int32Array(new SharedArrayBuffer(4));
  const start = clock.nowUs();
  let nextSecond = start + 1_000_000;
  let lastRx = start;
  let now = start;
  while (!control.stopped) {
    const sliceEnd = now + SLICE_US;
    for (let i = 0; i < SLICE_STEPS; i++) {
      const n = bridge.step();
      now = clock.nowUs();
      if (n > 0) lastRx = now;
      else if (now - lastRx > IDLE_US) Atomics.wait(napWord, 0, 0, NAP_MS);
      if (now >= sliceEnd) break;
    }
    if (now >= nextSecond) {
      opts.onSecond(now - start);
      nextSecond += 1_000_000;
      if (nextSecond <= now) nextSecond = now + 1_000_000;
    }
    if (opts.durationUs > 0 && now - start >= opts.durationUs) break;
    await yieldTurn();
  }
  return clock.nowUs() - start;
}
