/**
 * Native ports: loads the packet-I/O addon (build/Release/vaigai_native.node,
 * built from native/ by node-gyp during `npm install`) and wraps any native
 * PortDriver (af_packet, tap, af_xdp, dpdk) as a `Port`.
 *
 * One native call moves a burst. Each queue registers its pool's ArrayBuffer,
 * dataOff/dataLen and two slot arrays with the addon once, when it opens; a
 * burst call then passes two numbers and gets one number back. RX pops
 * slots off the pool's free stack in place, only for the frames that arrived:
 * the addon receives into the top entries of `pool.freeStack`, writes the used
 * ones into the caller's output array (registered the first time it is seen)
 * and closes the gap, and JS lowers `pool.top`: no per-frame work in JS.
 */
import { createRequire } from 'node:module';
import { HEADROOM, SLOT_SIZE, type BufferPool } from '../core/buffer_pool.js';
import type { Port, PortCaps, PortQueue, QueueStats } from './port.js';
import { WireStamps } from './wire_stamps.js';

/** errno of a burst on a closed queue. */
const EBADF = 9;

/** Largest burst a queue moves in one native call. */
export const MAX_BURST = 256;
export const DEFAULT_BURST = 64;

export interface NativeBenchResult {
  frames: number;
  calls: number;
  ns: number;
}

/** The addon's queue object (native/addon.cc). */
export interface NativeQueueHandle {
  /** Receives up to n frames into freeStack[top - n, top); see the file comment. */
  rx(n: number, top: number): number;
  /** The array `rx` writes slot numbers to. */
  setRxOut(out: Int32Array): void;
  tx(n: number): number;
  readonly waitFd: number;
  /** Whether rx writes the kernel's receive time of each frame into rxStamps. */
  readonly rxTimestamps: boolean;
  /** Whether tx writes the device's transmit stamp of each burst's first frame into txStamp (else the hand-over time). */
  readonly txTimestamps: boolean;
  stats(): QueueStats;
  close(): void;
  benchTx(burst: number, frames: number, timeoutMs: number): NativeBenchResult;
  benchRx(burst: number, frames: number, timeoutMs: number): NativeBenchResult;
}

interface NativeCaps {
  mac: Uint8Array;
  mtu: number;
  maxQueues: number;
  txChecksumOffload: boolean;
  rxChecksumValidated: boolean;
  rxVlanStrip: boolean;
}

interface QueueRegistration {
  buffer: ArrayBuffer;
  slotSize: number;
  dataOff: Uint16Array;
  dataLen: Uint16Array;
  freeStack: Int32Array;
  headroom: number;
  rxSlots: Int32Array;
  txSlots: Int32Array;
  /** Per slot: the kernel's receive time of its last frame (stack µs). */
  rxStamps?: Float64Array;
  /** [0]: the last TX burst's hand-over time (stack µs). */
  txStamp?: Float64Array;
  /** CLOCK_MONOTONIC ns at the stack clock's zero. */
  clockOriginNs?: number;
}

/** The addon's port object. */
export interface NativePortHandle {
  readonly driver: string;
  readonly handle: number;
  readonly queueCount: number;
  caps(): NativeCaps;
  openQueue(q: number, reg: QueueRegistration): NativeQueueHandle;
  close(): void;
}

export interface NativeAddon {
  drivers(): string[];
  open(driver: string, options: Record<string, string>, ealArgs: string): NativePortHandle;
  attach(handle: number): NativePortHandle;
  pinThread(cpu: number): void;
  getAffinity(): number[];
  /** sched_yield(2): the rest of this thread's time slice to whoever else is runnable on its core. */
  yieldCpu(): void;
}

/** Where the addon is loaded from: the package root, three levels above dist/src/port/ (or dist-NAME/src/port/). */
export const ADDON_PATH = new URL('../../../build/Release/vaigai_native.node', import.meta.url).pathname;

let addon: NativeAddon | null = null;
let loadError = '';

/** The addon, or null when it was not built (see `nativeLoadError()`). */
export function loadNative(): NativeAddon | null {
  if (addon !== null || loadError !== '') return addon;
  try {
    addon = createRequire(import.meta.url)(ADDON_PATH) as NativeAddon;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    loadError =
      err.code === 'MODULE_NOT_FOUND'
        ? `native addon not built (${ADDON_PATH} missing): install a C++ compiler and run npm install`
        : `native addon failed to load: ${err.message}`;
  }
  return addon;
}

export function nativeLoadError(): string {
  loadNative();
  return loadError;
}

/** Drivers compiled into the addon; empty when it is not built. */
export function nativeDrivers(): string[] {
  return loadNative()?.drivers() ?? [];
}

function requireNative(): NativeAddon {
  const a = loadNative();
  if (a === null) throw new Error(loadError);
  return a;
}

/** Pins the calling thread (main or worker) to one CPU. */
export function pinThread(cpu: number): void {
  requireNative().pinThread(cpu);
}

/** CPUs the calling thread may run on. */
export function getAffinity(): number[] {
  return requireNative().getAffinity();
}

export class NativeQueue implements PortQueue {
  /** Errno of the last failed native call (0 when none); the packet path never throws. */
  lastError = 0;
  private readonly rxSlots: Int32Array;
  private readonly txSlots: Int32Array;
  /** The array the addon writes received slot numbers to. */
  private rxOut: Int32Array;
  private closed = false;

  constructor(
    readonly queueId: number,
    readonly pool: BufferPool,
    private readonly h: NativeQueueHandle,
    rxSlots: Int32Array,
    txSlots: Int32Array,
    readonly wire: WireStamps,
  ) {
    this.rxSlots = rxSlots;
    this.txSlots = txSlots;
    this.rxOut = rxSlots;
  }

  rxBurst(out: Int32Array, max: number): number {
    if (this.closed) return 0;
    if (out !== this.rxOut) {
      this.h.setRxOut(out);
      this.rxOut = out;
    }
    const pool = this.pool;
    const top = pool.top;
    let want = max < out.length ? max : out.length;
    if (want > top) want = top;
    if (want <= 0) return 0;
    const k = this.h.rx(want, top);
    if (k <= 0) {
      if (k < 0) this.lastError = -k;
      return 0;
    }
    pool.top = top - k;
    return k;
  }

  txBurst(slots: Int32Array, n: number): number {
    if (this.closed) return 0;
    const t = this.txSlots;
    const pool = this.pool;
    let done = 0;
    while (done < n) {
      const m = n - done < t.length ? n - done : t.length;
      for (let i = 0; i < m; i++) t[i] = slots[done + i];
      const k = this.h.tx(m);
      if (k <= 0) {
        if (k < 0) this.lastError = -k;
        break;
      }
      pool.freeBurst(t, k);
      done += k;
      if (k < m) break;
    }
    return done;
  }

  /** A descriptor that polls readable when frames wait (-1 when the driver has none). */
  get waitFd(): number {
    return this.h.waitFd;
  }

  stats(): QueueStats {
    return this.h.stats();
  }

  /** The native-loop peer for benchmarks: `burst` slots of this queue sent again and again. */
  benchTx(burst: number, frames: number, timeoutMs: number, fill: (slot: number) => void): NativeBenchResult {
    const t = this.txSlots;
    for (let i = 0; i < burst; i++) {
      t[i] = this.pool.alloc();
      fill(t[i]);
    }
    try {
      return this.h.benchTx(burst, frames, timeoutMs);
    } finally {
      for (let i = 0; i < burst; i++) this.pool.free(t[i]);
    }
  }

  /** The native-loop peer for benchmarks: receives into `burst` reserved slots again and again. */
  benchRx(burst: number, frames: number, timeoutMs: number): NativeBenchResult {
    const r = this.rxSlots;
    for (let i = 0; i < burst; i++) r[i] = this.pool.alloc();
    try {
      return this.h.benchRx(burst, frames, timeoutMs);
    } finally {
      // The native loop ends owning rxSlots[0..burst), as it started.
      for (let i = 0; i < burst; i++) this.pool.free(r[i]);
    }
  }

  /** Closes the native queue; later bursts move nothing. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.lastError = EBADF;
    this.h.close();
  }
}

export class NativePort implements Port {
  readonly driver: string;
  readonly queueCount: number;
  readonly caps: PortCaps;

  constructor(
    private readonly h: NativePortHandle,
    readonly name: string,
  ) {
    this.driver = h.driver;
    this.queueCount = h.queueCount;
    const c = h.caps();
    this.caps = {
      mac: Uint8Array.from(c.mac),
      mtu: c.mtu,
      maxQueues: c.maxQueues,
      txChecksumOffload: c.txChecksumOffload,
      rxChecksumValidated: c.rxChecksumValidated,
      rxVlanStrip: c.rxVlanStrip,
    };
  }

  /** Process-wide id of the native port: `attachNativePort(handle)` reaches it from a worker thread. */
  get handle(): number {
    return this.h.handle;
  }

  openQueue(q: number, pool: BufferPool, burst = DEFAULT_BURST): NativeQueue {
    if (!Number.isInteger(burst) || burst < 1 || burst > MAX_BURST) {
      throw new RangeError(`burst must be an integer in 1..${MAX_BURST}, got ${burst}`);
    }
    const rxSlots = new Int32Array(burst);
    const txSlots = new Int32Array(burst);
    const wire = new WireStamps(pool.count);
    const h = this.h.openQueue(q, {
      buffer: pool.buffer,
      slotSize: SLOT_SIZE,
      dataOff: pool.dataOff,
      dataLen: pool.dataLen,
      freeStack: pool.freeStack,
      headroom: HEADROOM,
      rxSlots,
      txSlots,
      rxStamps: wire.rxUs,
      txStamp: wire.txUs,
      clockOriginNs: wire.originNs,
    });
    if (h.rxTimestamps) wire.clock = h.txTimestamps ? 'kernel' : 'kernel-rx';
    return new NativeQueue(q, pool, h, rxSlots, txSlots, wire);
  }

  close(): void {
    this.h.close();
  }
}

/** Opens a native port; throws the driver's error (which names the problem). */
export function openNativePort(
  driver: string,
  options: Record<string, string>,
  name: string,
  ealArgs = '',
): NativePort {
  return new NativePort(requireNative().open(driver, options, ealArgs), name);
}

/** The port `handle` opened by another thread of this process, for use in this thread. */
export function attachNativePort(handle: number, name: string): NativePort {
  return new NativePort(requireNative().attach(handle), name);
}
