/**
 * The worker's poll loop (the architecture's worker_loop.c): rxBurst ->
 * pipeline.input -> TxBatch flush, a timer tick every `tickUs` from the Clock,
 * management commands from the IPC ring, and idle parking.
 *
 * Unlike a DPDK lcore, a worker thread also hosts an event loop (TLS, timers,
 * streams), so the loop runs in slices: it polls for at most `yieldBursts`
 * polls or `yieldUs`, then gives the event loop one turn through setImmediate.
 * When nothing arrived, nothing is pending and the pipeline is not busy for
 * `idleUs`, it parks on the IPC wake word with Atomics.wait for at most
 * `parkUs` (so ticks keep coming about once per park), or until management
 * wakes it.
 */
import type { Clock } from '../common/clock.js';
import type { PortQueue } from '../port/port.js';
import type { MetricsSlab } from '../telemetry/metrics.js';
import { CMD_CONFIG, CMD_NOP, decodeJson, RC_BAD_PAYLOAD, RC_HANDLER_FAILED, RC_OK, RC_UNKNOWN_CMD, type WorkerEnd } from '../core/ipc.js';
import type { Pipeline } from '../core/pipeline.js';
import type { TxBatch } from '../port/tx_batch.js';

export interface LoopOptions {
  /** Frames asked for per rxBurst. */
  burst: number;
  /** Timer tick period. */
  tickUs: number;
  /** Polls per slice before the event loop gets a turn. */
  yieldBursts: number;
  /** Longest slice before the event loop gets a turn. */
  yieldUs: number;
  /** Idle time spent spinning before parking. */
  idleUs: number;
  /** Longest park; also bounds how late a tick can be while idle. */
  parkUs: number;
}

export const DEFAULT_LOOP_OPTIONS: Readonly<LoopOptions> = {
  burst: 32,
  tickUs: 1000,
  yieldBursts: 1024,
  yieldUs: 1000,
  idleUs: 200,
  parkUs: 1000,
};

/** The loop's own counters; a worker's metrics layout starts with them. */
export const LOOP_METRICS = [
  'loop_polls',
  'loop_rx_bursts',
  'loop_rx_frames',
  'loop_ticks',
  'loop_yields',
  'loop_parks',
  'loop_parked_us',
  'loop_commands',
  'loop_command_errors',
] as const;

export type LoopStats = Record<(typeof LOOP_METRICS)[number], number> & {
  /** Frames the TxBatch dropped because the queue stayed full. */
  tx_batch_dropped: number;
  /** Slots not back in the pool after the pipeline and queue closed (leaks if > 0). */
  slots_in_use: number;
};

/** A command handler: gets the payload, returns the ack rc (0 ok, negative error). */
export type CommandHandler = (payload: Uint8Array) => number;

/**
 * Commands a pipeline handles, registered through the ctx it gets at creation.
 * CMD_NOP is answered by the loop (a ping); CMD_CONFIG goes to onConfig.
 */
export class CommandTable {
  private readonly handlers = new Map<number, CommandHandler>();

  on(cmd: number, handler: CommandHandler): void {
    if (cmd === CMD_NOP) throw new RangeError('CMD_NOP is answered by the loop');
    this.handlers.set(cmd, handler);
  }

  /** Registers the CMD_CONFIG handler; the JSON payload is decoded first (bad JSON acks RC_BAD_PAYLOAD). */
  onConfig(handler: (update: unknown) => number): void {
    this.on(CMD_CONFIG, (payload) => {
      let update: unknown;
      try {
        update = decodeJson(payload);
      } catch {
        return RC_BAD_PAYLOAD;
      }
      return handler(update);
    });
  }

  /** Runs a command; a throwing or misbehaving handler becomes an error rc, never an exception. */
  dispatch(cmd: number, payload: Uint8Array): number {
    if (cmd === CMD_NOP) return RC_OK;
    const h = this.handlers.get(cmd);
    if (h === undefined) return RC_UNKNOWN_CMD;
    try {
      const rc = h(payload);
      return Number.isInteger(rc) ? rc : RC_HANDLER_FAILED;
    } catch {
      return RC_HANDLER_FAILED;
    }
  }
}

export interface LoopParts {
  queue: PortQueue;
  pipeline: Pipeline;
  tx: TxBatch;
  clock: Clock;
  ipc: WorkerEnd;
  commands: CommandTable;
  /** The worker's slab; its layout must start with LOOP_METRICS. */
  metrics: MetricsSlab;
  /** Gives up the rest of the time slice (sched_yield), or null: a spinning loop that found nothing lets a peer on its core run. */
  yieldCpu?: (() => void) | null;
}

const POLLS = 0;
const RX_BURSTS = 1;
const RX_FRAMES = 2;
const TICKS = 3;
const YIELDS = 4;
const PARKS = 5;
const PARKED_US = 6;
const COMMANDS = 7;
const COMMAND_ERRORS = 8;

export class WorkerLoop {
  readonly opts: LoopOptions;
  private readonly rx: Int32Array;
  private readonly c: Float64Array;
  private nextTick: number;
  private idleSince = -1;
  private done = false;
  private resolve: (s: LoopStats) => void = () => {};
  private reject: (e: unknown) => void = () => {};
  private readonly sliceFn = (): void => this.slice();

  constructor(
    private readonly p: LoopParts,
    opts: Partial<LoopOptions> = {},
  ) {
    this.opts = { ...DEFAULT_LOOP_OPTIONS, ...opts };
    for (const [k, v] of Object.entries(this.opts)) {
      if (!Number.isFinite(v) || v < 0 || (k === 'burst' && v < 1)) throw new RangeError(`loop option ${k} = ${v} is out of range`);
    }
    LOOP_METRICS.forEach((name, i) => {
      if (p.metrics.layout.names[i] !== name) throw new RangeError(`metrics layout must start with ${LOOP_METRICS.join(',')}`);
    });
    this.rx = new Int32Array(this.opts.burst);
    this.c = p.metrics.c;
    this.nextTick = p.clock.nowUs() + this.opts.tickUs;
  }

  /** Runs slices until management asks to stop; resolves with the loop's stats after closing down. */
  run(): Promise<LoopStats> {
    return new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
      setImmediate(this.sliceFn);
    });
  }

  /**
   * One poll: a receive burst into the pipeline, the timer tick when due,
   * waiting commands, then a TX flush. Returns true when there was work.
   */
  step(now: number): boolean {
    const { queue, pipeline, tx, ipc } = this.p;
    const c = this.c;
    c[POLLS]++;
    const n = queue.rxBurst(this.rx, this.opts.burst);
    if (n > 0) {
      c[RX_BURSTS]++;
      c[RX_FRAMES] += n;
      pipeline.input(this.rx, n, now);
    }
    if (now >= this.nextTick) {
      pipeline.tick(now);
      c[TICKS]++;
      // A late tick (long park, slow slice) is one call; the pipeline catches up from `now`.
      const late = now - this.nextTick;
      this.nextTick += this.opts.tickUs * (Math.floor(late / this.opts.tickUs) + 1);
    }
    let cmds = false;
    while (ipc.recv()) {
      cmds = true;
      const rc = this.p.commands.dispatch(ipc.cmd, ipc.payload);
      c[COMMANDS]++;
      if (rc !== RC_OK) c[COMMAND_ERRORS]++;
      ipc.ack(ipc.seq, rc);
    }
    tx.flush();
    return n > 0 || cmds || tx.pending > 0 || pipeline.busy();
  }

  /** Polls until the slice budget is spent or the loop has been idle for idleUs; returns true to park. */
  private pollSlice(): boolean {
    const { clock, pipeline } = this.p;
    const yieldCpu = this.p.yieldCpu ?? null;
    const { yieldBursts, yieldUs, idleUs } = this.opts;
    const start = clock.nowUs();
    let now = start;
    for (let i = 0; i < yieldBursts; i++) {
      if (this.step(now)) {
        this.idleSince = -1;
      } else if (pipeline.inFlight?.() === true) {
        // Nothing this poll, but answers are awaited: keep polling, and let a peer on this core run meanwhile.
        this.idleSince = -1;
        if (yieldCpu !== null) yieldCpu();
      } else if (this.idleSince < 0) {
        this.idleSince = now;
      } else if (now - this.idleSince >= idleUs) {
        return true;
      }
      now = clock.nowUs();
      if (now - start >= yieldUs) break;
    }
    return false;
  }

  private slice(): void {
    if (this.done) return;
    try {
      if (this.p.ipc.stopRequested) {
        this.finish();
        return;
      }
      if (this.pollSlice()) this.park();
      this.c[YIELDS]++;
      setImmediate(this.sliceFn);
    } catch (e) {
      this.fail(e);
    }
  }

  private park(): void {
    const t0 = performance.now();
    if (this.p.ipc.park(this.opts.parkUs / 1000)) {
      this.c[PARKS]++;
      this.c[PARKED_US] += Math.round((performance.now() - t0) * 1000);
    }
  }

  /** Flushes, closes the pipeline (it may still transmit), flushes again, frees what the queue refused, closes the queue. */
  private closeDown(): LoopStats {
    const { queue, pipeline, tx } = this.p;
    this.done = true;
    tx.flush();
    pipeline.close();
    tx.flush();
    tx.drop();
    queue.close();
    const stats = { tx_batch_dropped: tx.dropped, slots_in_use: queue.pool.count - queue.pool.available } as LoopStats;
    LOOP_METRICS.forEach((name, i) => (stats[name] = this.c[i]));
    return stats;
  }

  private finish(): void {
    let stats: LoopStats;
    try {
      stats = this.closeDown();
    } catch (e) {
      this.reject(e);
      return;
    }
    this.resolve(stats);
  }

  /** A pipeline error ends the loop; the queue is still closed so nothing leaks. */
  private fail(e: unknown): void {
    try {
      this.closeDown();
    } catch {
      // The first error is the one worth reporting.
    }
    this.reject(e);
  }
}
