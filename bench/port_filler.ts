/**
 * The RX filler of bench/port.ts: an af_packet sender on the kernel peer's
 * interface, in a worker thread pinned to another CPU than the loop under test,
 * as a NIC or another host fills a queue without running on the worker's core.
 *
 * The main thread drives it through `Filler`: `fill(k)` writes the frame to
 * send into shared memory, posts k, and spins until the sender is done and the
 * kernel has had time to deliver, so the loop under test stays warm. The
 * worker entry is this same file, started with `workerData`.
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { BufferPool } from '../src/core/buffer_pool.js';
import { openNativePort, pinThread } from '../src/port/native.js';

/** ctl[CMD]: frames to send (> 0), 0 when idle, -1 to stop. */
const CMD = 0;
/** ctl[LEN]: length of the frame in `frame`. */
const LEN = 1;
const MAX_FRAME = 2048;
/** After the sender returns, the peer's softirq may still be handing frames to the queue. */
const SETTLE_NS = 300_000n;

interface FillerData {
  ns: string;
  iface: string;
  cpu: number;
  burst: number;
  ctl: Int32Array;
  frame: Uint8Array;
}

export class Filler {
  private constructor(
    private readonly worker: Worker,
    private readonly ctl: Int32Array,
    private readonly frame: Uint8Array,
  ) {}

  /** Starts the sender on `iface` of namespace `ns`, pinned to `cpu`; resolves once its port is open. */
  static async start(ns: string, iface: string, cpu: number, burst: number): Promise<Filler> {
    const ctl = new Int32Array(new SharedArrayBuffer(8));
    const frame = new Uint8Array(new SharedArrayBuffer(MAX_FRAME));
    const data: FillerData = { ns, iface, cpu, burst, ctl, frame };
    const worker = new Worker(new URL(import.meta.url), { workerData: data });
    await new Promise<void>((resolve, reject) => {
      worker.once('message', () => resolve());
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`filler on ${iface} exited (${code}) before it was ready`)));
    });
    return new Filler(worker, ctl, frame);
  }

  /** Sends k copies of `frame` from the other CPU and returns once they have reached the queue. */
  fill(k: number, frame: Uint8Array): void {
    this.frame.set(frame);
    Atomics.store(this.ctl, LEN, frame.length);
    Atomics.store(this.ctl, CMD, k);
    Atomics.notify(this.ctl, CMD);
    // Spin, not Atomics.wait: a polling worker's core does not sleep and go cold.
    while (Atomics.load(this.ctl, CMD) !== 0);
    const until = process.hrtime.bigint() + SETTLE_NS;
    while (process.hrtime.bigint() < until);
  }

  async close(): Promise<void> {
    const exited = new Promise((r) => this.worker.once('exit', r));
    Atomics.store(this.ctl, CMD, -1);
    Atomics.notify(this.ctl, CMD);
    await exited;
  }
}

function serve(d: FillerData): void {
  if (d.cpu >= 0) pinThread(d.cpu);
  const pool = new BufferPool(Math.max(256, d.burst * 2));
  const port = openNativePort('af_packet', { iface: d.iface, netns: d.ns }, d.iface);
  const q = port.openQueue(0, pool, d.burst);
  parentPort?.postMessage('ready');
  try {
    for (;;) {
      Atomics.wait(d.ctl, CMD, 0);
      const k = Atomics.load(d.ctl, CMD);
      if (k < 0) break;
      const frame = d.frame.subarray(0, Atomics.load(d.ctl, LEN));
      q.benchTx(d.burst, k, 2000, (s) => pool.write(s, frame));
      Atomics.store(d.ctl, CMD, 0);
    }
  } finally {
    q.close();
    port.close();
  }
}

if (!isMainThread && (workerData as FillerData | null)?.ctl !== undefined) serve(workerData as FillerData);
