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
import { FAIL_KEYS } from '../app/http11/failures.js';
import { BulkMode, ClientMode, HttpServerMode, type ClientPlan, type HttpServerModeConfig, type Mode } from '../engine/modes.js';
import { KeyLog } from '../tls/keylog.js';
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
  | ({ kind: 'http'; /** --sslkeylog file, opened for appending by every worker. */ keylog: string | null } & Omit<HttpServerModeConfig, 'transport' | 'keylog'>)
  | { kind: 'sink' | 'source'; port: number; bytes: number; sha256: boolean }
  | {
      kind: 'client';
      /** This worker's share of the load, or null when it has none (it still passes replies on). */
      share: ClientPlan | null;
      durationUs: number;
      /** --sslkeylog file, opened for appending by every worker. */
      keylog: string | null;
      steer: SteerConfig;
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

const NET_KEYS: readonly string[] = Object.keys(new NetCounters());
const TCP_KEYS: readonly string[] = Object.keys(new TcpCounters());
const HTTP_KEYS = ['accepted', 'requests', 'responses', 'body_bytes_out', 'body_bytes_in', 'errors', 'tls_handshakes', 'tls_resumed', 'tls_failures', 'tls_abandoned'];
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
  'tls_handshakes', 'tls_full', 'tls_resumed', 'tls_failures', 'tls_abandoned', 'elapsed_us', 'finished', 'steered_out', 'steered_in', 'steer_drops',
];
const FINISHED_IDX = CLIENT_KEYS.indexOf('finished');
/** Receive bursts of frames other workers passed on. */
const STEER_BURST = 64;

function snake(camel: string): string {
  return camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function appKeys(kind: StackAppKind): readonly string[] {
  return kind === 'http' ? HTTP_KEYS : kind === 'client' ? CLIENT_KEYS : kind === 'none' ? [] : BULK_KEYS;
}

/** The slab counters of a stack worker running `app`, after the loop's own. */
export function stackMetricNames(app: StackAppKind): string[] {
  return [
    MAC_METRIC,
    ...NET_KEYS.map((k) => `net_${snake(k)}`),
    ...(app === 'none' ? [] : TCP_KEYS.map((k) => `tcp_${snake(k)}`)),
    ...appKeys(app).map((k) => `app_${k}`),
  ];
}

/** A (summed or per-worker) slab snapshot as the single-threaded command reports it. */
export interface StackMetricGroups {
  /** NetCounters names. */
  net: Record<string, number>;
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
  for (const [k, v] of Object.entries(m)) if (k.startsWith('loop_')) loop[k] = v;
  return {
    net: pick('net_', NET_KEYS, snake),
    tcp: app === 'none' ? null : pick('tcp_', TCP_KEYS, snake),
    app: app === 'none' ? null : pick('app_', appKeys(app), (k) => k),
    loop,
  };
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
    if (!Array.isArray(rings) || rings.length < 1 || !rings.every((r) => r?.sab instanceof SharedArrayBuffer) || typeof steer?.srcIp !== 'number') {
      throw new StackPipelineError('stack pipeline: a client app needs steer.rings (one SharedArrayBuffer ring per worker) and steer.srcIp');
    }
  }
  return c as StackPipelineConfig;
}

function startApp(app: StackAppConfig, tcp: TcpLayer, ctx: PipelineContext, maxConns: number, keylog: KeyLog | null): Mode | null {
  switch (app.kind) {
    case 'http':
      return new HttpServerMode({ ...app, transport: tcp, keylog });
    case 'sink':
    case 'source':
      return new BulkMode(tcp, app.kind, app.port, app.bytes, app.sha256);
    case 'client': {
      if (app.share === null) return null;
      const mode = new ClientMode({
        ...app.share,
        transport: tcp,
        clock: ctx.clock,
        srcIp: app.steer.srcIp,
        durationUs: app.durationUs,
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
}

class StackPipeline implements Pipeline {
  private readonly c: Float64Array;
  private readonly netIds: Int32Array;
  private readonly tcpIds: Int32Array;
  private readonly appIds: Int32Array;
  private readonly net: Record<string, number>;
  private readonly tcpCounters: Record<string, number> | null;

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
  ) {
    const m = ctx.metrics;
    this.c = m.c;
    const ids = (names: string[]): Int32Array => Int32Array.from(names, (n) => m.id(n));
    this.netIds = ids(NET_KEYS.map((k) => `net_${snake(k)}`));
    this.tcpIds = ids(tcp === null ? [] : TCP_KEYS.map((k) => `tcp_${snake(k)}`));
    this.appIds = ids(appKeys(app).map((k) => `app_${k}`));
    this.net = stack.counters as unknown as Record<string, number>;
    this.tcpCounters = tcp === null ? null : (tcp.counters as unknown as Record<string, number>);
    this.c[m.id(MAC_METRIC)] = stack.mac;
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
    return this.stack.busy() || (steer !== null && steer.pending);
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
    if (this.mode instanceof ClientMode || this.keylog !== null) {
      const client = this.mode instanceof ClientMode ? this.mode : null;
      const r: StackWorkerReport = {
        sha256: client?.load.lastSha256 ?? null,
        tlsLastError: client?.tls?.stats.lastError ?? null,
        lastFailure: client?.load.client.stats.lastFailure ?? [],
        keylogLines: this.keylog?.lines ?? 0,
      };
      this.ctx.post(r);
    }
    this.keylog?.close();
  }

  /** Copies the stack's counters into the slab (one writer: this worker). */
  private publish(): void {
    const c = this.c;
    copy(c, this.netIds, this.net, NET_KEYS);
    if (this.tcpCounters !== null) copy(c, this.tcpIds, this.tcpCounters, TCP_KEYS);
    const ids = this.appIds;
    const mode = this.mode;
    if (mode instanceof HttpServerMode) {
      const st = mode.server.stats;
      let errors = 0;
      // errors[0] is "no error".
      for (let i = 1; i < st.errors.length; i++) errors += st.errors[i];
      c[ids[0]] = st.accepted;
      c[ids[1]] = st.requests;
      c[ids[2]] = st.responses;
      c[ids[3]] = st.bodyBytesOut;
      c[ids[4]] = st.bodyBytesIn;
      c[ids[5]] = errors;
      if (mode.tls !== null) {
        c[ids[6]] = mode.tls.stats.handshakes;
        c[ids[7]] = mode.tls.stats.resumed;
        c[ids[8]] = mode.tls.stats.failures;
        c[ids[9]] = mode.tls.stats.abandoned;
      }
    } else if (this.steer !== null) {
      publishClient(c, ids, mode instanceof ClientMode ? mode : null, this.steer, this.verify);
    } else if (mode instanceof BulkMode) {
      const st = mode.handler.stats;
      c[ids[0]] = st.accepted;
      c[ids[1]] = st.closed;
      c[ids[2]] = st.bytesIn;
      c[ids[3]] = st.bytesOut;
    }
  }
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
      t?.resumed ?? 0, t?.failures ?? 0, t?.abandoned ?? 0, mode.load.elapsedUs(), mode.finished() ? 1 : 0,
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

function copy(c: Float64Array, ids: Int32Array, from: Record<string, number>, keys: readonly string[]): void {
  for (let i = 0; i < ids.length; i++) c[ids[i]] = from[keys[i]];
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
  return new StackPipeline(ctx, stack, tcp, mode, app.kind, steer, keylog, verify);
}
