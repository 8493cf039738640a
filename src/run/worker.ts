/**
 * The worker_threads entry: one worker owns one queue of one port. From
 * workerData (a WorkerInit built by workers.ts) it pins its thread, opens the
 * port and its queue, creates its BufferPool, imports the pipeline module and
 * calls its `createPipeline(ctx)`, then runs the poll loop until management
 * stops it. With a capture file it taps its queue into its own pcap writer.
 * postMessage carries only start-up and shutdown news and the pipeline's
 * final report; everything in between goes through the IPC rings and the
 * metric slabs.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { monotonicClock, type Clock } from '../common/clock.js';
import { attachNativePort, loadNative } from '../port/native.js';
import type { Port, PortQueue } from '../port/port.js';
import { openShmPort, type ShmLink } from '../port/shm_ring.js';
import { PcapWriter, tapQueue } from '../port/pcap.js';
import { openPort } from '../port/spec.js';
import { HdrRecorder, type HistogramShared } from '../telemetry/histogram.js';
import { MetricsSlab, type MetricsShared } from '../telemetry/metrics.js';
import { BufferPool } from '../core/buffer_pool.js';
import { MgmtEnd, WorkerEnd, type IpcShared } from '../core/ipc.js';
import type { Pipeline } from '../core/pipeline.js';
import { TxBatch } from '../port/tx_batch.js';
import { CommandTable, WorkerLoop, type LoopOptions, type LoopStats } from './worker_loop.js';

export const WORKER_KIND = 'vaigai-worker';

/** Everything a worker gets at start (structured-cloned; SharedArrayBuffers are shared). */
export interface WorkerInit {
  kind: typeof WORKER_KIND;
  workerIdx: number;
  /** The port spec as the user typed it (`null`, `af_packet:iface=eth1,queues=2`, ...), or `shm`. */
  port: string;
  /** The native port management opened for this spec (its process-wide handle), -1 for a thread-local port. */
  portHandle: number;
  /** The link and side for the `shm` driver, else null. */
  shm: { link: ShmLink; side: number } | null;
  queueId: number;
  /** This worker's capture file (every frame its queue receives and sends), or null. */
  pcap: string | null;
  poolSlots: number;
  /** CPU to pin to, -1 for none. */
  cpu: number;
  /** URL of the module exporting createPipeline. */
  pipeline: string;
  config: unknown;
  ipc: IpcShared;
  /** Every worker's IPC channel of the set (this one's included), for ending another worker's park. */
  peers: IpcShared[];
  metrics: MetricsShared;
  histograms: HistogramShared | null;
  loop: Partial<LoopOptions>;
}

/** What a pipeline module's createPipeline(ctx) gets. */
export interface PipelineContext {
  readonly workerIdx: number;
  /** The port (caps: MAC, MTU, offloads); the worker polls only `queue` of it. */
  readonly port: Port;
  readonly queue: PortQueue;
  readonly pool: BufferPool;
  readonly tx: TxBatch;
  readonly clock: Clock;
  /** The worker's counter slab (LOOP_METRICS first, then the names management registered). */
  readonly metrics: MetricsSlab;
  /** The worker's latency histogram (slot 0), or null when management asked for none. */
  readonly latency: HdrRecorder | null;
  /** Every slot of the shared histograms (a worker writes only its own region), or null. */
  readonly histograms: HistogramShared | null;
  /** Where the pipeline registers its command handlers (CMD_CONFIG via onConfig). */
  readonly ipc: CommandTable;
  /** The pipeline's configuration, as management passed it. */
  readonly config: unknown;
  /** Ends the park of worker `w` of the set (after handing it frames), as management's wake does. */
  wakeWorker(w: number): void;
  /** Hands management a structured-cloneable report (what a slab cannot hold); the last one is kept. */
  post(report: unknown): void;
}

export type PipelineFactory = (ctx: PipelineContext) => Pipeline | Promise<Pipeline>;

/** The only messages a worker posts. */
export type WorkerMessage =
  | { type: 'ready'; workerIdx: number; pinnedCpu: number }
  | { type: 'stopped'; workerIdx: number; stats: LoopStats; pcapFrames: number }
  | { type: 'report'; workerIdx: number; report: unknown }
  | { type: 'error'; workerIdx: number; message: string };

/**
 * Opens the worker's side of its port: the shm link it was given, the native
 * port management opened (attached by handle, so that the N queues of one
 * interface share one port), or a thread-local `null`/`ring` port.
 */
function openWorkerPort(init: WorkerInit): Port {
  if (init.shm !== null) return openShmPort(init.shm.link, init.shm.side);
  if (init.portHandle >= 0) return attachNativePort(init.portHandle, init.port);
  return openPort(init.port);
}

/** Pins the thread when asked and the addon is built; returns the CPU or -1. */
function pin(cpu: number): number {
  if (cpu < 0) return -1;
  const addon = loadNative();
  if (addon === null) return -1;
  addon.pinThread(cpu);
  return cpu;
}

/** Seconds between flushes of a capture file, so it stays readable while the run goes on. */
const PCAP_FLUSH_MS = 1000;

async function runWorker(init: WorkerInit): Promise<WorkerMessage> {
  let port: Port | null = null;
  let queue: PortQueue | null = null;
  let pipeline: Pipeline | null = null;
  let pcap: PcapWriter | null = null;
  let flusher: NodeJS.Timeout | undefined;
  let looping = false;
  try {
    const pinnedCpu = pin(init.cpu);
    if (init.pcap !== null) pcap = new PcapWriter(init.pcap);
    port = openWorkerPort(init);
    const pool = new BufferPool(init.poolSlots);
    const own = port.openQueue(init.queueId, pool);
    queue = pcap === null ? own : tapQueue(own, pcap);
    if (pcap !== null) {
      const w = pcap;
      flusher = setInterval(() => w.flush(), PCAP_FLUSH_MS);
    }
    const tx = new TxBatch(queue);
    const metrics = new MetricsSlab(init.metrics, init.workerIdx);
    const commands = new CommandTable();
    // Only wake() is used of these ends: a CAS on the peer's park word and a notify.
    const peers = init.peers.map((p) => new MgmtEnd(p));
    const mod = (await import(init.pipeline)) as { createPipeline?: PipelineFactory };
    if (typeof mod.createPipeline !== 'function') throw new TypeError(`${init.pipeline} does not export createPipeline(ctx)`);
    const ctx: PipelineContext = {
      workerIdx: init.workerIdx,
      port,
      queue,
      pool,
      tx,
      clock: monotonicClock,
      metrics,
      latency: init.histograms === null ? null : new HdrRecorder(init.histograms, init.workerIdx),
      histograms: init.histograms,
      ipc: commands,
      config: init.config,
      wakeWorker: (w) => peers[w]?.wake(),
      post: (report) => parentPort?.postMessage({ type: 'report', workerIdx: init.workerIdx, report } satisfies WorkerMessage),
    };
    pipeline = await mod.createPipeline(ctx);
    const ipc = new WorkerEnd(init.ipc);
    const addon = loadNative();
    const yieldCpu = addon !== null && typeof addon.yieldCpu === 'function' ? (): void => addon.yieldCpu() : null;
    const loop = new WorkerLoop({ queue, pipeline, tx, clock: monotonicClock, ipc, commands, metrics, yieldCpu }, init.loop);
    parentPort?.postMessage({ type: 'ready', workerIdx: init.workerIdx, pinnedCpu } satisfies WorkerMessage);
    looping = true;
    const stats = await loop.run();
    port.close();
    clearInterval(flusher);
    pcap?.close();
    return { type: 'stopped', workerIdx: init.workerIdx, stats, pcapFrames: pcap?.frames ?? -1 };
  } catch (e) {
    clearInterval(flusher);
    // Once running, the loop closes the pipeline and queue itself, even when it fails.
    try {
      if (!looping) pipeline?.close();
      if (!looping) queue?.close();
      port?.close();
      pcap?.close();
    } catch {
      // Report the first failure, not the clean-up's.
    }
    return { type: 'error', workerIdx: init.workerIdx, message: e instanceof Error ? e.message : String(e) };
  }
}

const init = workerData as WorkerInit | null;
if (!isMainThread && init !== null && typeof init === 'object' && init.kind === WORKER_KIND) {
  void runWorker(init).then((msg) => parentPort?.postMessage(msg));
}
