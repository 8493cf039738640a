/**
 * The management side of the workers: starts one worker thread per queue,
 * sends config updates over each worker's IPC ring and collects the acks,
 * reads the metric slabs and histograms, and stops every worker, waiting until
 * each thread has closed its queue and exited.
 */
import { createInterface } from 'node:readline';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Histogram, createSharedHistograms, type HdrParams, type HistogramShared } from '../telemetry/histogram.js';
import { MetricsLayout, MetricsReader, type MetricsShared, type MetricsSnapshot } from '../telemetry/metrics.js';
import { NativePort } from '../port/native.js';
import type { Port } from '../port/port.js';
import type { WireClock } from '../port/wire_stamps.js';
import type { ShmLink } from '../port/shm_ring.js';
import { openPort, parsePortSpec } from '../port/spec.js';
import { CMD_CONFIG, CMD_TRACE, MgmtEnd, createIpc, encodeJson, type Ack } from '../core/ipc.js';
import { WORKER_KIND, type WorkerInit, type WorkerMessage } from './worker.js';
import { LOOP_METRICS, type LoopOptions, type LoopStats } from './worker_loop.js';

export interface WorkerSpec {
  /**
   * Port spec (`null`, `af_packet:iface=eth1,queues=2`, ...), or `shm` with `shm` set.
   * Workers naming the same native spec share one port, each on its own queueId.
   */
  port: string;
  queueId?: number;
  /** CPU to pin the worker to (see core_assign), -1 or absent for none. */
  cpu?: number;
  shm?: { link: ShmLink; side: number };
  /** This worker's pipeline config, instead of the set's. */
  config?: unknown;
  /** Capture file of this worker's queue (see worker.ts). */
  pcap?: string;
  /** A live trace's part file (pcapng), open from the worker's first frame (see worker_trace.ts). */
  trace?: string;
}

export interface WorkerSetOptions {
  workers: WorkerSpec[];
  /** The pipeline module (file URL or path); it exports createPipeline(ctx). */
  pipeline: string | URL;
  config?: unknown;
  /** Slots in each worker's BufferPool. */
  poolSlots?: number;
  /** The pipeline's counters; the loop's own (LOOP_METRICS) come first. */
  metrics?: readonly string[];
  /** Latency histogram geometry, or absent for none. */
  histogram?: HdrParams;
  /** Histograms of that geometry per worker (default 1). */
  histogramSlots?: number;
  loop?: Partial<LoopOptions>;
  /** EAL arguments for a dpdk port management opens (the words after `--`). */
  eal?: string[];
  /** Records per IPC ring. */
  ipcCapacity?: number;
  startTimeoutMs?: number;
  /** Where the workers' own output lines go (what their code prints); absent: this process's stdout. */
  output?: (line: string) => void;
}

/** How one worker ended: its loop stats, or the error that stopped it. */
export interface WorkerResult {
  workerIdx: number;
  stats: LoopStats | null;
  error: string | null;
  /** Frames written to the worker's capture file, when it had one. */
  pcapFrames?: number;
}

/** One worker's answer to a live change: its ack rc (0: applied), or null when it did not ack in time. */
export interface WorkerAck {
  worker: number;
  rc: number | null;
}

/** How long a live change waits for the workers' acks (the architecture's bound). */
export const LIVE_ACK_MS = 100;

/** Acks received but not yet claimed by a wait are kept per worker up to this many. */
const UNCLAIMED_MAX = 1024;

interface Handle {
  thread: Worker;
  mgmt: MgmtEnd;
  pinnedCpu: number;
  /** The clocks of the pipeline's wire times (null: none timed so). */
  clocks: { tcp: WireClock | null; http: WireClock | null };
  result: WorkerResult | null;
  exited: Promise<void>;
  acks: Map<number, Ack>;
  /** The pipeline's last report (ctx.post), or undefined. */
  report: unknown;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export class WorkerSet {
  private readonly reader: MetricsReader;
  private stopped = false;

  private constructor(
    private readonly handles: Handle[],
    metrics: MetricsShared,
    private readonly histograms: HistogramShared | null,
    /** Native ports management opened; closed after every worker has exited. */
    private readonly ports: Port[],
  ) {
    this.reader = new MetricsReader(metrics);
  }

  /** Starts every worker and resolves once all are polling; if any fails, the others are stopped and it rejects. */
  static async start(opts: WorkerSetOptions): Promise<WorkerSet> {
    const n = opts.workers.length;
    if (n < 1) throw new RangeError('a worker set needs at least one worker');
    const layout = new MetricsLayout([...LOOP_METRICS, ...(opts.metrics ?? [])]);
    const metrics: MetricsShared = { sab: layout.allocate(n), names: layout.names };
    const histograms = opts.histogram === undefined ? null : createSharedHistograms(opts.histogram, n, opts.histogramSlots ?? 1);
    const p = opts.pipeline;
    const pipeline = p instanceof URL ? p.href : p.startsWith('file:') ? p : pathToFileURL(resolve(p)).href;
    const ports = WorkerSet.openNativePorts(opts.workers, opts.eal ?? []);
    const peers = opts.workers.map((_, i) => createIpc(i, opts.ipcCapacity ?? 64));
    const handles = opts.workers.map((w, i) => {
      const ipc = peers[i];
      const init: WorkerInit = {
        kind: WORKER_KIND,
        workerIdx: i,
        port: w.port,
        portHandle: ports.get(w.port)?.handle ?? -1,
        shm: w.shm ?? null,
        queueId: w.queueId ?? 0,
        pcap: w.pcap ?? null,
        trace: w.trace ?? null,
        poolSlots: opts.poolSlots ?? 4096,
        cpu: w.cpu ?? -1,
        pipeline,
        config: w.config ?? opts.config ?? null,
        ipc,
        peers,
        metrics,
        histograms,
        loop: opts.loop ?? {},
      };
      const out = opts.output;
      const thread = new Worker(new URL('./worker.js', import.meta.url), { workerData: init, stdout: out !== undefined });
      if (out !== undefined) createInterface({ input: thread.stdout }).on('line', out);
      const h: Handle = {
        thread,
        mgmt: new MgmtEnd(ipc),
        pinnedCpu: -1,
        clocks: { tcp: null, http: null },
        result: null,
        exited: new Promise((r) => thread.once('exit', () => r())),
        acks: new Map(),
        report: undefined,
      };
      return h;
    });
    const set = new WorkerSet(handles, metrics, histograms, [...ports.values()]);
    const timeout = opts.startTimeoutMs ?? 10_000;
    const started = await Promise.allSettled(handles.map((h, i) => WorkerSet.whenReady(h, i, timeout)));
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed !== undefined) {
      await set.stop();
      throw failed.reason;
    }
    return set;
  }

  /**
   * Opens each distinct native port spec once, here, so that its errors (no
   * such interface, no permission, driver not built) fail start before any
   * thread runs, and so that the workers of one interface attach to one port
   * and each open its own queue. `null` and `ring` ports are opened by each
   * worker for itself; `shm` links come with the spec.
   */
  private static openNativePorts(workers: readonly WorkerSpec[], eal: string[]): Map<string, NativePort> {
    const ports = new Map<string, NativePort>();
    try {
      for (const w of workers) {
        if (w.shm !== undefined || ports.has(w.port)) continue;
        if (w.port.split(':', 1)[0] === 'shm') throw new Error('the shm driver needs a link created by management (createShmLink)');
        const { driver } = parsePortSpec(w.port);
        if (driver === 'null' || driver === 'ring') continue;
        const port = openPort(w.port, eal);
        if (!(port instanceof NativePort)) {
          port.close();
          throw new Error(`port ${w.port} cannot be shared with worker threads`);
        }
        ports.set(w.port, port);
      }
    } catch (e) {
      for (const port of ports.values()) port.close();
      throw e;
    }
    return ports;
  }

  /** Waits for a worker's 'ready'; keeps listening for its final message afterwards. */
  private static whenReady(h: Handle, i: number, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`worker ${i} did not start within ${timeoutMs} ms`)), timeoutMs);
      const done = (e?: Error): void => {
        clearTimeout(timer);
        if (e) reject(e);
        else resolve();
      };
      h.thread.on('message', (m: WorkerMessage) => {
        if (m.type === 'ready') {
          h.pinnedCpu = m.pinnedCpu;
          h.clocks = m.clocks;
          done();
        } else if (m.type === 'stopped') {
          h.result = { workerIdx: i, stats: m.stats, error: null, ...(m.pcapFrames >= 0 ? { pcapFrames: m.pcapFrames } : {}) };
        } else if (m.type === 'report') {
          h.report = m.report;
        } else {
          h.result = { workerIdx: i, stats: null, error: m.message };
          done(new Error(`worker ${i}: ${m.message}`));
        }
      });
      h.thread.once('error', (e) => {
        h.result ??= { workerIdx: i, stats: null, error: e.message };
        done(new Error(`worker ${i}: ${e.message}`));
      });
      h.thread.once('exit', (code) => done(new Error(`worker ${i} exited with code ${code} before it was ready`)));
    });
  }

  get size(): number {
    return this.handles.length;
  }

  /**
   * The clock of each phase timed on the wire: the TCP layer's (connect,
   * wire_rtt) is its queue's; a client's responses (ttfb,
   * response, server) use it only when they are timed on the wire at all.
   */
  wireClocks(): { tcp: WireClock; http: WireClock } {
    const kernel = (cs: (WireClock | null)[]): WireClock =>
      cs.length === 0 || cs.some((c) => c === 'stack') ? 'stack' : cs.every((c) => c === 'kernel') ? 'kernel' : 'kernel-rx';
    const of = (k: 'tcp' | 'http'): (WireClock | null)[] => this.handles.map((h) => h.clocks[k]).filter((c) => c !== null);
    return { tcp: kernel(of('tcp')), http: kernel(of('http')) };
  }

  /** The CPU each worker pinned itself to (-1: not pinned). */
  get pinnedCpus(): number[] {
    return this.handles.map((h) => h.pinnedCpu);
  }

  /** The worker's IPC end, for commands of the pipeline's own (CMD_USER_BASE and up). */
  ipc(w: number): MgmtEnd {
    return this.handle(w).mgmt;
  }

  /** Sends one command to every worker; returns each worker's seq (-1 where the ring stayed full). */
  broadcast(cmd: number, payload?: Uint8Array): number[] {
    return this.handles.map((h) => h.mgmt.send(cmd, payload));
  }

  /**
   * Sends a JSON config update to every worker and waits for their acks.
   * Resolves with one ack per worker (rc 0 = applied); rejects when a ring
   * overflowed or an ack did not come within `timeoutMs`.
   */
  async update(config: unknown, timeoutMs = 1000): Promise<Ack[]> {
    const seqs = this.broadcast(CMD_CONFIG, encodeJson(config));
    const lost = seqs.findIndex((s) => s < 0);
    if (lost >= 0) throw new Error(`config update to worker ${lost} dropped: its ring stayed full (mgmt_ring_overflow)`);
    return this.waitAcks(seqs, timeoutMs);
  }

  /**
   * Sends worker w its own JSON config update `updates[w]` (null: none) and
   * collects what came back within `timeoutMs`: each worker's ack rc, or null
   * for a worker that did not ack in time (or whose ring stayed full). Never
   * rejects for a silent worker: the caller names it.
   */
  async updateEach(updates: readonly unknown[], timeoutMs = LIVE_ACK_MS): Promise<WorkerAck[]> {
    const given = (w: number): boolean => updates[w] !== null && updates[w] !== undefined;
    const seqs = this.handles.map((h, w) => (given(w) ? h.mgmt.send(CMD_CONFIG, encodeJson(updates[w])) : -1));
    const acks = await this.collectAcks(seqs, timeoutMs);
    return acks.flatMap((a, w) => (given(w) ? [{ worker: w, rc: a?.rc ?? null }] : []));
  }

  /**
   * Starts each worker capturing its queue to `paths[w]` (pcapng), or stops
   * it (null); resolves with each worker's ack rc (on stop, the frames it
   * wrote; RC_TRACE_BUSY: it captures with --pcap).
   */
  async trace(paths: readonly (string | null)[], timeoutMs = 1000): Promise<number[]> {
    const seqs = this.handles.map((h, w) => h.mgmt.send(CMD_TRACE, encodeJson({ path: paths[w] ?? null })));
    return (await this.waitAcks(seqs, timeoutMs)).map((a) => a.rc);
  }

  /** Waits for the ack of seqs[w] from each worker w (a seq < 0 is skipped and yields no ack). */
  async waitAcks(seqs: readonly number[], timeoutMs = 1000): Promise<Ack[]> {
    const acks = await this.collectAcks(seqs, timeoutMs);
    const missing = seqs.filter((seq, w) => seq >= 0 && acks[w] === null).length;
    if (missing > 0) throw new Error(`no ack within ${timeoutMs} ms from ${missing} worker(s)`);
    return acks.filter((a): a is Ack => a !== null);
  }

  /** The ack of seqs[w] from each worker w as it came within `timeoutMs`, null where none came (or seq < 0). */
  private async collectAcks(seqs: readonly number[], timeoutMs: number): Promise<(Ack | null)[]> {
    const deadline = performance.now() + timeoutMs;
    const out: (Ack | null)[] = seqs.map(() => null);
    for (;;) {
      let missing = 0;
      seqs.forEach((seq, w) => {
        if (seq < 0 || out[w] !== null) return;
        const h = this.handle(w);
        this.drainAcks(h);
        const a = h.acks.get(seq);
        if (a === undefined) {
          missing++;
          return;
        }
        h.acks.delete(seq);
        out[w] = a;
      });
      if (missing === 0 || performance.now() > deadline) return out;
      await sleep(1);
    }
  }

  private drainAcks(h: Handle): void {
    for (;;) {
      const a: Ack = { seq: 0, rc: 0, workerIdx: 0 };
      if (!h.mgmt.pollAck(a)) return;
      if (h.acks.size >= UNCLAIMED_MAX) h.acks.delete(h.acks.keys().next().value as number);
      h.acks.set(a.seq, a);
    }
  }

  /** Every counter summed over the workers. */
  metrics(): MetricsSnapshot {
    return this.reader.sum();
  }

  metricsOf(w: number): MetricsSnapshot {
    return this.reader.worker(w);
  }

  /** The workers' latency histograms (of `slot`) merged, or null when none was asked for. */
  histogram(slot = 0): Histogram | null {
    return this.histograms === null ? null : Histogram.merged(this.histograms, slot);
  }

  /** The shared histograms (to merge several slots), or null when none was asked for. */
  get sharedHistograms(): HistogramShared | null {
    return this.histograms;
  }

  /** Each worker's last report (what its pipeline posted; undefined for none). */
  reports(): unknown[] {
    return this.handles.map((h) => h.report);
  }

  /** Workers that already ended with an error (a failing pipeline), for management to notice before stop(). */
  failed(): WorkerResult[] {
    return this.handles.flatMap((h) => (h.result !== null && h.result.error !== null ? [h.result] : []));
  }

  /** Config records dropped per worker because its ring stayed full. */
  get overflows(): number[] {
    return this.handles.map((h) => h.mgmt.overflows);
  }

  /**
   * Stops every worker and waits until each thread has closed its pipeline
   * and queue and exited; a worker that does not exit in time is terminated.
   */
  async stop(timeoutMs = 5000): Promise<WorkerResult[]> {
    if (!this.stopped) {
      this.stopped = true;
      for (const h of this.handles) h.mgmt.stop();
    }
    const results = await Promise.all(
      this.handles.map(async (h, i) => {
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<boolean>((r) => (timer = setTimeout(() => r(true), timeoutMs)));
        const timedOut = await Promise.race([h.exited.then(() => false), late]);
        clearTimeout(timer);
        if (timedOut) {
          await h.thread.terminate();
          h.result = { workerIdx: i, stats: null, error: `did not stop within ${timeoutMs} ms; terminated` };
        }
        return h.result ?? { workerIdx: i, stats: null, error: 'exited without a result' };
      }),
    );
    for (const port of this.ports.splice(0)) port.close();
    return results;
  }

  private handle(w: number): Handle {
    const h = this.handles[w];
    if (h === undefined) throw new RangeError(`no worker ${w}`);
    return h;
  }
}
