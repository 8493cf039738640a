/**
 * The worker pipeline that runs the network stack on one port queue: a module
 * exporting `createPipeline(ctx)` for src/run/worker.ts. From a plain config
 * (JSON plus one SharedArrayBuffer) it builds a NetStack on the worker's queue
 * and TxBatch, attached to the port's shared ARP table, a TcpLayer when an
 * application is asked for, and the application itself (HTTP/1.1 server,
 * optionally over TLS, or the TCP sink or source), listening on every owned
 * address, or this worker's share of the HTTP client load, whose replies
 * other workers pass here by FlowSteer (src/net/flow_steer.ts).
 *
 * Counters: the stack keeps its own plain-object counters (hot path); once per
 * tick, and at close, the pipeline copies them into the worker's metric slab
 * under the names `stackMetricNames` lists, so management can sum the workers
 * without ever reading a worker's objects. `groupStackMetrics` turns a summed
 * slab back into the shapes the single-threaded command prints.
 */
import type { Pipeline } from '../core/pipeline.js';
import type { PipelineContext } from './worker.js';
import { SERVER_STAT_KEYS } from '../app/http11/server.js';
import { FAIL_KEYS } from '../app/http11/failures.js';
import { BulkMode, ClientMode, HttpServerMode, type ClientPlan, type HttpServerModeConfig, type Mode } from '../engine/modes.js';
import { KeyLog } from '../tls/keylog.js';
import { emptyQueueStats } from '../port/port.js';
import { IPV4_PROTO_TCP } from '../wire/ipv4.js';
import { macFromBytes } from '../wire/mac.js';
import { ArpCache } from '../net/arp_cache.js';
import { NetCounters } from '../net/counters.js';
import { FlowSteer, portShare, type SteerConfig } from '../net/flow_steer.js';
import { NetStack, type AddrRange, type RouteConfig } from '../net/stack.js';
import { TcpCounters } from '../net/tcp/counters.js';
import { CLOSED, F_NOTIFIED, TIME_WAIT } from '../net/tcp/tcb.js';
import { TcpLayer } from '../net/tcp/tcp_layer.js';
import { runTcpOptions } from '../net/tcp/config.js';

/** What runs on the TCP of each worker. */
export type StackAppConfig =
  | { kind: 'none' }
  | ({ kind: 'http'; /** --sslkeylog file, opened for appending by every worker. */ keylog: string | null } & Omit<HttpServerModeConfig, 'transport' | 'keylog' | 'clock'>)
  | { kind: 'sink' | 'source'; port: number; bytes: number; sha256: boolean }
  | {
      kind: 'client';
      /** This worker's share of the load, or null when it has none (it still passes replies on). */
      share: ClientPlan | null;
      durationUs: number;
      /** How long open requests may take to finish after the time bound. */
      drainUs: number;
      /** --sslkeylog file, opened for appending by every worker. */
      keylog: string | null;
      steer: SteerConfig;
      /** Each flow's request entries (every worker publishes every flow's counters, its share's or 0). */
      flowShape: number[];
    };

export type StackAppKind = StackAppConfig['kind'];

export interface StackPipelineConfig {
  /** Our MAC (48-bit number), or -1 for the port's own. */
  mac: number;
  addrs: AddrRange[];
  routes: RouteConfig[];
  /** The port's neighbour table (`ArpCache.words.buffer`), shared by its workers. */
  arpTable: SharedArrayBuffer;
  /** The `maxEntries` the table was created with. */
  arpCacheSize: number;
  /** TCBs per worker. */
  maxConns: number;
  /** Per-connection TCP window and send buffer in bytes; 0 = defaults. */
  tcpWindow: number;
  app: StackAppConfig;
}

/** The MAC the stack uses (the same in every worker's slab; not a sum). */
export const MAC_METRIC = 'stack_mac';
/** Connections still open (not closed, not in TIME_WAIT) once the run closes them; -1 before. */
export const OPEN_CONNS_METRIC = 'run_open_conns';

/** The run's stop, in the order management sends it (CMD_CONFIG `{ op }`). */
export type StopOp = 'stop' | 'close';

const NET_KEYS: readonly string[] = Object.keys(new NetCounters());
const TCP_KEYS: readonly string[] = Object.keys(new TcpCounters());
/** The worker's queue counters (the driver's, through the capture tap when there is one). */
const PORT_KEYS: readonly string[] = Object.keys(emptyQueueStats());
const TLS_SERVER_KEYS = ['tls_handshakes', 'tls_resumed', 'tls_failures', 'tls_abandoned'];
const HTTP_KEYS = [...SERVER_STAT_KEYS.map(snake), ...TLS_SERVER_KEYS];
const BULK_KEYS = ['accepted', 'closed', 'bytes_in', 'bytes_out'];
/** The slab name of each failure reason's count (by Fail code). */
export const CLIENT_FAIL_KEYS: readonly string[] = FAIL_KEYS.map((k) => `fail_${snake(k)}`);
/**
 * The client load's counters (a LoadSnapshot in snake_case, failures by
 * reason), its TLS figures, and the steering counters. `elapsed_us` and
 * `finished` are per worker, not sums.
 */
export const CLIENT_KEYS = [
  'attempts', 'connects', 'connect_failures', 'cancelled', 'opening', 'requests', 'responses', 'failed_requests', 'in_flight',
  ...CLIENT_FAIL_KEYS, 'status_1xx', 'status_2xx', 'status_3xx', 'status_4xx', 'status_5xx', 'body_bytes', 'verify_ok', 'verify_failed',
  'tls_handshakes', 'tls_full', 'tls_resumed', 'tls_failures', 'tls_abandoned', 'arrivals', 'dropped', 'peak_open', 'elapsed_us', 'finished', 'steered_out', 'steered_in', 'steer_drops',
];
const FINISHED_IDX = CLIENT_KEYS.indexOf('finished');
/** A flow's counters, `app_flow<i>_<key>` in the slab, and each of its request entries', `app_flow<i>_entry<j>_<key>`. */
export const FLOW_KEYS = ['arrivals', 'dropped', 'attempts', 'connects', 'connect_failures', 'requests', 'responses', 'failed_requests'] as const;
export const ENTRY_KEYS = ['requests', 'responses'] as const;

/** The slab names of the flows' and entries' counters; `shape[i]`: flow i's request entries. */
export function flowMetricNames(shape: readonly number[]): string[] {
  return shape.flatMap((entries, i) => [
    ...FLOW_KEYS.map((k) => `app_flow${i}_${k}`),
    ...Array.from({ length: entries }, (_, j) => ENTRY_KEYS.map((k) => `app_flow${i}_entry${j}_${k}`)).flat(),
  ]);
}
/** Receive bursts of frames other workers passed on. */
const STEER_BURST = 64;

/** A counter's metric name part (`rtoFires` -> `rto_fires`): slabs and exports use these, JSON the camelCase. */
export function snake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

export function camel(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

function appKeys(kind: StackAppKind): readonly string[] {
  return kind === 'http' ? HTTP_KEYS : kind === 'client' ? CLIENT_KEYS : kind === 'none' ? [] : BULK_KEYS;
}

/** The slab counters of a stack worker running `app` (a client: with its flows' `shape`), after the loop's own. */
export function stackMetricNames(app: StackAppKind, shape: readonly number[] = []): string[] {
  return [
    MAC_METRIC,
    OPEN_CONNS_METRIC,
    ...NET_KEYS.map((k) => `net_${snake(k)}`),
    ...PORT_KEYS.map((k) => `port_${snake(k)}`),
    ...(app === 'none' ? [] : TCP_KEYS.map((k) => `tcp_${snake(k)}`)),
    ...appKeys(app).map((k) => `app_${k}`),
    ...flowMetricNames(shape),
  ];
}

/** A (summed or per-worker) slab snapshot as the single-threaded command reports it. */
export interface StackMetricGroups {
  /** NetCounters names. */
  net: Record<string, number>;
  /** The queues' QueueStats. */
  port: Record<string, number>;
  /** TcpCounters names, or null without TCP. */
  tcp: Record<string, number> | null;
  /** The application's counters (snake_case), or null without one. */
  app: Record<string, number> | null;
  /** The poll loop's counters (LOOP_METRICS). */
  loop: Record<string, number>;
}

export function groupStackMetrics(m: Record<string, number>, app: StackAppKind): StackMetricGroups {
  const pick = (prefix: string, keys: readonly string[], name: (k: string) => string): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const k of keys) out[k] = m[`${prefix}${name(k)}`] ?? 0;
    return out;
  };
  const loop: Record<string, number> = {};
  for (const [k, v] of Object.entries(m)) if (k.startsWith('loop_')) loop[camel(k.slice(5))] = v;
  return {
    net: pick('net_', NET_KEYS, snake),
    port: pick('port_', PORT_KEYS, snake),
    tcp: app === 'none' ? null : pick('tcp_', TCP_KEYS, snake),
    app: app === 'none' ? null : camelKeys(pick('app_', appKeys(app), (k) => k)),
    loop,
  };
}

function camelKeys(r: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(r)) out[camel(k)] = v;
  return out;
}

export class StackPipelineError extends Error {}

/** Checks the parts of the config that structured cloning cannot vouch for. */
function checkConfig(cfg: unknown): StackPipelineConfig {
  const c = cfg as Partial<StackPipelineConfig> | null;
  if (c === null || typeof c !== 'object') throw new StackPipelineError('stack pipeline: no config');
  if (!(c.arpTable instanceof SharedArrayBuffer)) throw new StackPipelineError('stack pipeline: arpTable must be a SharedArrayBuffer');
  if (!Array.isArray(c.addrs) || !Array.isArray(c.routes)) throw new StackPipelineError('stack pipeline: addrs and routes must be arrays');
  if (typeof c.mac !== 'number' || typeof c.arpCacheSize !== 'number' || typeof c.maxConns !== 'number' || typeof c.tcpWindow !== 'number') {
    throw new StackPipelineError('stack pipeline: mac, arpCacheSize, maxConns and tcpWindow must be numbers');
  }
  const kind = c.app?.kind;
  if (kind !== 'none' && kind !== 'http' && kind !== 'sink' && kind !== 'source' && kind !== 'client') {
    throw new StackPipelineError(`stack pipeline: unknown app kind ${JSON.stringify(kind)}`);
  }
  if (c.app?.kind === 'client') {
    const steer = (c.app as { steer?: Partial<SteerConfig> }).steer;
    const rings = steer?.rings;
    if (!Array.isArray(rings) || rings.length < 1 || !rings.every((r) => r?.sab instanceof SharedArrayBuffer) || !Array.isArray(steer?.addrs)) {
      throw new StackPipelineError('stack pipeline: a client app needs steer.rings (one SharedArrayBuffer ring per worker) and steer.addrs');
    }
  }
  return c as StackPipelineConfig;
}

function startApp(app: StackAppConfig, tcp: TcpLayer, ctx: PipelineContext, maxConns: number, keylog: KeyLog | null): Mode | null {
  switch (app.kind) {
    case 'http':
      return new HttpServerMode({ ...app, transport: tcp, keylog, clock: ctx.clock });
    case 'sink':
    case 'source':
      return new BulkMode(tcp, app.kind, app.port, app.bytes, app.sha256);
    case 'client': {
      if (app.share === null) return null;
      const mode = new ClientMode({
        ...app.share,
        transport: tcp,
        clock: ctx.clock,
        srcIp: 0, // every owned address: the TCP layer's source pool
        durationUs: app.durationUs,
        drainUs: app.drainUs,
        maxConns,
        keylog,
      });
      // Response times also go to the worker's shared histogram, which management merges.
      if (ctx.latency !== null) mode.load.mirrorLatency(ctx.latency);
      return mode;
    }
    default:
      return null;
  }
}

/** What a client worker, or a worker with a key log, posts when it closes: what the slab cannot carry. */
export interface StackWorkerReport {
  sha256: string | null;
  tlsLastError: string | null;
  /** Each failure reason's last message (by Fail code; '' when none). */
  lastFailure: string[];
  /** Secrets this worker appended to the --sslkeylog file. */
  keylogLines: number;
  /** Response times per flow and per request entry (encoded HDR histograms), for management to merge. */
  flowLatency: string[];
  entryLatency: string[][];
  /** A server's requests by target (--count-targets), else null. */
  targets: Record<string, number> | null;
}

class StackPipeline implements Pipeline {
  private readonly c: Float64Array;
  private readonly netIds: Int32Array;
  private readonly portIds: Int32Array;
  private readonly tcpIds: Int32Array;
  private readonly appIds: Int32Array;
  private readonly flowIds: Int32Array;
  private readonly net: Record<string, number>;
  private readonly tcpCounters: Record<string, number> | null;
  private readonly openId: number;
  /** The run asked every connection to close: count what is still open each tick. */
  private closing = false;

  constructor(
    private readonly ctx: PipelineContext,
    private readonly stack: NetStack,
    private readonly tcp: TcpLayer | null,
    private readonly mode: Mode | null,
    app: StackAppKind,
    private readonly steer: FlowSteer | null,
    private readonly keylog: KeyLog | null,
    /** The client checks bodies against --expect-sha256 (without it, Http1Client's verify counts mean nothing). */
    private readonly verify: boolean,
    flowShape: readonly number[],
  ) {
    const m = ctx.metrics;
    this.c = m.c;
    const ids = (names: string[]): Int32Array => Int32Array.from(names, (n) => m.id(n));
    this.netIds = ids(NET_KEYS.map((k) => `net_${snake(k)}`));
    this.portIds = ids(PORT_KEYS.map((k) => `port_${snake(k)}`));
    this.tcpIds = ids(tcp === null ? [] : TCP_KEYS.map((k) => `tcp_${snake(k)}`));
    this.appIds = ids(appKeys(app).map((k) => `app_${k}`));
    this.flowIds = ids(flowMetricNames(flowShape));
    this.net = stack.counters as unknown as Record<string, number>;
    this.tcpCounters = tcp === null ? null : (tcp.counters as unknown as Record<string, number>);
    this.c[m.id(MAC_METRIC)] = stack.mac;
    this.openId = m.id(OPEN_CONNS_METRIC);
    this.c[this.openId] = -1;
    ctx.ipc.onConfig((u) => this.command(u));
  }

  /**
   * The run's stop, from management: `stop` ends new arrivals (the client
   * issues no request and opens no connection after it; open requests may
   * finish), `close` closes every connection with a FIN (SYN_SENT ones are
   * deleted, RFC 9293 §3.10.4). What is still open at the end is reset by close().
   */
  private command(u: unknown): number {
    const op = (u as { op?: unknown } | null)?.op;
    if (op === 'stop') {
      if (this.mode instanceof ClientMode) this.mode.load.stop();
      return 0;
    }
    if (op === 'close') {
      this.closing = true;
      // What is still in flight now stays counted as in flight at the stop, not as failed by the closes below.
      if (this.mode instanceof ClientMode) this.mode.end();
      const tcp = this.tcp;
      if (tcp !== null) {
        const t = tcp.t;
        for (let c = 0; c < t.max; c++) {
          const st = t.state[c];
          if (st !== CLOSED && st !== TIME_WAIT && (t.flags[c] & F_NOTIFIED) === 0) tcp.close(c);
        }
      }
      this.publish();
      return 0;
    }
    return -1;
  }

  input(slots: Int32Array, n: number, nowUs: number): void {
    const steer = this.steer;
    if (steer === null) {
      this.stack.input(slots, n, nowUs);
      return;
    }
    const k = steer.steer(slots, n);
    if (k > 0) this.stack.input(slots, k, nowUs);
    this.takeSteered(nowUs);
  }

  tick(nowUs: number): void {
    this.takeSteered(nowUs);
    this.stack.tick(nowUs);
    if (this.mode !== null) this.mode.tick(nowUs);
    this.publish();
  }

  /**
   * Also takes in what other workers passed here: the loop asks after every
   * poll, so their frames wait no longer than one poll (the Pipeline
   * interface has no poll hook of its own), or a park (up to 1 ms) when this
   * worker was idle.
   */
  busy(): boolean {
    const steer = this.steer;
    if (steer !== null && steer.pending) this.takeSteered(this.ctx.clock.nowUs());
    return this.stack.busy() || (steer !== null && steer.pending) || this.inFlight();
  }

  /**
   * Work in flight keeps the loop polling rather than parking: a generator
   * owns its core, as a DPDK lcore does, so that an answer is taken when it
   * arrives and not up to a park later. A client's load runs until it is
   * finished; a server has work while a connection is open (TIME_WAIT aside).
   */
  private inFlight(): boolean {
    const mode = this.mode;
    if (mode instanceof ClientMode) return !mode.finished();
    const tcp = this.tcp;
    return tcp !== null && tcp.t.active > tcp.tw.size;
  }

  private takeSteered(nowUs: number): void {
    const steer = this.steer;
    if (steer === null) return;
    for (let k = steer.take(); k > 0; k = steer.take()) this.stack.input(steer.slots, k, nowUs);
  }

  /**
   * Resets the connections still open (RFC 9293 §3.10.7.1 ABORT, so peers do
   * not wait on a stack that is gone), releases the rest, frees what ARP holds
   * and publishes the final counters. The loop flushes the RSTs afterwards.
   */
  close(): void {
    // What is in flight now stays counted so: the aborts below are the run's end, not failures.
    if (this.mode instanceof ClientMode) this.mode.end();
    const tcp = this.tcp;
    if (tcp !== null) {
      const t = tcp.t;
      for (let c = 0; c < t.max; c++) {
        const st = t.state[c];
        if (st === CLOSED) continue;
        if (st === TIME_WAIT || (t.flags[c] & F_NOTIFIED) !== 0) tcp.release(c);
        else tcp.abort(c);
      }
    }
    this.stack.close();
    this.publish();
    const targets = this.mode instanceof HttpServerMode ? (this.mode.server.targets?.toObject() ?? null) : null;
    if (this.mode instanceof ClientMode || this.keylog !== null || targets !== null) {
      const client = this.mode instanceof ClientMode ? this.mode : null;
      const r: StackWorkerReport = {
        sha256: client?.load.lastSha256 ?? null,
        tlsLastError: client?.tls?.stats.lastError ?? null,
        lastFailure: client?.load.lastFailure() ?? [],
        keylogLines: this.keylog?.lines ?? 0,
        flowLatency: client?.load.flowLatency.map((h) => h.encode()) ?? [],
        entryLatency: client?.load.entryLatency.map((hs) => hs.map((h) => h.encode())) ?? [],
        targets,
      };
      this.ctx.post(r);
    }
    this.keylog?.close();
  }

  /** Copies the stack's counters into the slab (one writer: this worker). */
  private publish(): void {
    const c = this.c;
    if (this.closing) c[this.openId] = countOpen(this.tcp);
    copy(c, this.netIds, this.net, NET_KEYS);
    copy(c, this.portIds, this.ctx.queue.stats() as unknown as Record<string, number>, PORT_KEYS);
    if (this.tcpCounters !== null) copy(c, this.tcpIds, this.tcpCounters, TCP_KEYS);
    const ids = this.appIds;
    const mode = this.mode;
    if (mode instanceof HttpServerMode) {
      copy(c, ids, mode.server.stats as unknown as Record<string, number>, SERVER_STAT_KEYS);
      if (mode.tls !== null) {
        const n = SERVER_STAT_KEYS.length;
        c[ids[n]] = mode.tls.stats.handshakes;
        c[ids[n + 1]] = mode.tls.stats.resumed;
        c[ids[n + 2]] = mode.tls.stats.failures;
        c[ids[n + 3]] = mode.tls.stats.abandoned;
      }
    } else if (this.steer !== null) {
      publishClient(c, ids, mode instanceof ClientMode ? mode : null, this.steer, this.verify);
      if (mode instanceof ClientMode) publishFlows(c, this.flowIds, mode);
    } else if (mode instanceof BulkMode) {
      const st = mode.handler.stats;
      c[ids[0]] = st.accepted;
      c[ids[1]] = st.closed;
      c[ids[2]] = st.bytesIn;
      c[ids[3]] = st.bytesOut;
    }
  }
}

/** Connections neither closed nor in TIME_WAIT. */
function countOpen(tcp: TcpLayer | null): number {
  if (tcp === null) return 0;
  const t = tcp.t;
  let n = 0;
  for (let c = 0; c < t.max; c++) {
    const st = t.state[c];
    if (st !== CLOSED && st !== TIME_WAIT) n++;
  }
  return n;
}

/** The client's counters in CLIENT_KEYS order; a worker without a share of the load reports itself finished. */
function publishClient(c: Float64Array, ids: Int32Array, mode: ClientMode | null, steer: FlowSteer, verify: boolean): void {
  let i = 0;
  if (mode !== null) {
    const s = mode.load.snapshot();
    const t = mode.tls?.stats;
    const values = [
      s.attempts, s.connects, s.connectFailures, s.cancelled, s.opening, s.requests, s.responses, s.failedRequests, s.inFlight,
      ...s.failures, s.status[1], s.status[2], s.status[3], s.status[4], s.status[5], s.bodyBytes,
      verify ? s.verifyOk : 0, verify ? s.verifyFailed : 0, t?.handshakes ?? 0, t?.full ?? 0,
      t?.resumed ?? 0, t?.failures ?? 0, t?.abandoned ?? 0, s.arrivals, s.dropped, s.peakOpen, mode.load.elapsedUs(), mode.finished() ? 1 : 0,
    ];
    for (; i < values.length; i++) c[ids[i]] = values[i];
  } else {
    i = FINISHED_IDX;
    c[ids[i++]] = 1;
  }
  c[ids[i++]] = steer.out;
  c[ids[i++]] = steer.in;
  c[ids[i]] = steer.drops;
}

/** Each flow's counters and its entries' in flowMetricNames order. */
function publishFlows(c: Float64Array, ids: Int32Array, mode: ClientMode): void {
  let i = 0;
  for (const cl of mode.load.clients) {
    const s = cl.stats;
    c[ids[i++]] = s.arrivals;
    c[ids[i++]] = s.dropped;
    c[ids[i++]] = s.attempts;
    c[ids[i++]] = s.connects;
    c[ids[i++]] = s.connectFailures;
    c[ids[i++]] = s.requests;
    c[ids[i++]] = s.responses;
    c[ids[i++]] = s.failedRequests;
    for (let j = 0; j < s.entryRequests.length; j++) {
      c[ids[i++]] = s.entryRequests[j];
      c[ids[i++]] = s.entryResponses[j];
    }
  }
}

/** Copies `from[keys[i]]` to slab id `ids[i]` for each key (`ids` may name more after them). */
function copy(c: Float64Array, ids: Int32Array, from: Record<string, number>, keys: readonly string[]): void {
  for (let i = 0; i < keys.length; i++) c[ids[i]] = from[keys[i]];
}

/**
 * Builds the stack of one worker. Worker 0 announces the owned addresses
 * (gratuitous ARP) and ages the shared table; the others would only repeat it.
 */
export function createPipeline(ctx: PipelineContext): Pipeline {
  const cfg = checkConfig(ctx.config);
  const first = ctx.workerIdx === 0;
  const stack = new NetStack({
    queue: ctx.queue,
    clock: ctx.clock,
    mac: cfg.mac >= 0 ? cfg.mac : macFromBytes(ctx.port.caps.mac),
    addrs: cfg.addrs,
    routes: cfg.routes,
    arpCache: new ArpCache(cfg.arpCacheSize, cfg.arpTable),
    arp: { ager: first, gratuitous: first },
    tx: ctx.tx,
  });
  const app = cfg.app;
  let tcp: TcpLayer | null = null;
  let mode: Mode | null = null;
  let keylog: KeyLog | null = null;
  let steer: FlowSteer | null = null;
  try {
    if (app.kind === 'client') steer = new FlowSteer(app.steer, ctx.workerIdx, ctx.pool, STEER_BURST, (w) => ctx.wakeWorker(w));
    // Every worker appends to the one file through its own O_APPEND descriptor: one write(2) per line, never interleaved.
    if ((app.kind === 'http' || (app.kind === 'client' && app.share !== null)) && app.keylog !== null) keylog = new KeyLog(app.keylog);
    if (app.kind !== 'none') {
      const opts = runTcpOptions(cfg.maxConns, cfg.tcpWindow);
      // A client's worker opens connections from its own share of the ports: replies to the others' are steered to them.
      if (app.kind === 'client') opts.ephemeralPorts = portShare(ctx.workerIdx, app.steer.rings.length);
      // A seed fixes where the source ports start (else random per run, so back-to-back runs do not collide).
      const seed = app.kind === 'client' ? app.share?.seed : undefined;
      if (seed !== undefined) opts.portKey = Uint32Array.of(seed, Math.imul(seed, 0x9e3779b1) ^ 0x5bd1e995);
      tcp = new TcpLayer(stack, opts);
      stack.registerL4(IPV4_PROTO_TCP, tcp);
      mode = startApp(app, tcp, ctx, cfg.maxConns, keylog);
    }
  } catch (e) {
    keylog?.close();
    stack.close();
    throw e;
  }
  const verify = app.kind === 'client' && app.share !== null && app.share.expectSha256 !== null;
  return new StackPipeline(ctx, stack, tcp, mode, app.kind, steer, keylog, verify, app.kind === 'client' ? app.flowShape : []);
}
