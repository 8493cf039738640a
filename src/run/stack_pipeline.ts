/**
 * The worker pipeline that runs the network stack on one port queue: a module
 * exporting `createPipeline(ctx)` for src/run/worker.ts. From a plain config
 * (JSON plus one SharedArrayBuffer) it builds a NetStack on the worker's queue
 * and TxBatch, attached to the port's shared ARP table, a TcpLayer when an
 * application is asked for, and the application itself (HTTP/1.1 server,
 * optionally over TLS, the TCP sink or source, or the listeners of --listen),
 * listening on every owned address, or this worker's share of a client load
 * (HTTP, TCP connect rate, UDP or ICMP), whose replies other workers pass
 * here by FlowSteer (src/net/flow_steer.ts). UDP is registered beside TCP.
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
import type { WireClock } from '../port/wire_stamps.js';
import { IPV4_PROTO_TCP, IPV4_PROTO_UDP } from '../wire/ipv4.js';
import { macFromBytes } from '../wire/mac.js';
import { ArpCache } from '../net/arp_cache.js';
import { NetCounters } from '../net/counters.js';
import { echoIdent, FlowSteer, portShare, type SteerConfig } from '../net/flow_steer.js';
import { UdpCounters, UdpLayer } from '../net/udp.js';
import { IcmpProbe } from '../engine/icmp_probe.js';
import { listenKeys, ListenMode, type ListenPlan } from '../engine/listen.js';
import { PROBE_KEYS, type ProbePlan } from '../engine/probe.js';
import { TCP_CONNECT_KEYS, TcpConnectLoad, type TcpConnectPlan } from '../engine/tcp_connect.js';
import { UdpProbe } from '../engine/udp_probe.js';
import { LIVE_NOT_APPLICABLE, stackClock, type LiveTargets } from '../engine/load.js';
import type { RateBudget } from '../engine/rate_budget.js';
import { RC_BAD_PAYLOAD } from '../core/ipc.js';
import { HdrRecorder } from '../telemetry/histogram.js';
import { PH_CONNECT, PH_RESPONSE, PhaseRecorder } from '../telemetry/phases.js';
import { HOP_READY } from '../net/l4.js';
import { NetStack, type AddrRange, type RouteConfig } from '../net/stack.js';
import { TcpCounters } from '../net/tcp/counters.js';
import { CLOSED, F_NOTIFIED, TIME_WAIT } from '../net/tcp/tcb.js';
import { TcpLayer } from '../net/tcp/tcp_layer.js';
import { runTcpOptions } from '../net/tcp/config.js';
import type { EncodedTcpStats } from './tcp_senders.js';
import type { EcnMode } from '../net/tcp/ecn.js';
import type { CcName } from '../net/tcp/reno.js';

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
    }
  | {
      kind: 'tcp_connect';
      share: TcpConnectPlan | null;
      durationUs: number;
      drainUs: number;
      steer: SteerConfig;
    }
  | {
      kind: 'udp_client' | 'icmp_client';
      share: ProbePlan | null;
      durationUs: number;
      drainUs: number;
      steer: SteerConfig;
      /** Per run: tags the datagrams, picks the UDP source port and the ICMP identifiers. */
      tag: number;
    }
  | ({ kind: 'listen'; /** --sslkeylog file, opened for appending by every worker. */ keylog: string | null } & ListenPlan);

/** The client loads that run on a worker's share and steer replies home. */
export type ClientAppKind = 'client' | 'tcp_connect' | 'udp_client' | 'icmp_client';

export function isClientKind(kind: string): kind is ClientAppKind {
  return kind === 'client' || kind === 'tcp_connect' || kind === 'udp_client' || kind === 'icmp_client';
}

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
  /** TCP congestion control; absent = the TCP default. */
  cc?: CcName;
  /** ECN (RFC 3168); absent = the TCP default (passive). */
  ecn?: EcnMode;
  app: StackAppConfig;
}

/** The MAC the stack uses (the same in every worker's slab; not a sum). */
export const MAC_METRIC = 'stack_mac';
/** Connections still open (not closed, not in TIME_WAIT) once the run closes them; -1 before. */
export const OPEN_CONNS_METRIC = 'run_open_conns';

/** Connections open now (TIME_WAIT aside), published every tick: the series' concurrency. */
export const CONNS_METRIC = 'run_conns';

/** The run's stop, in the order management sends it (CMD_CONFIG `{ op }`). */
export type StopOp = 'stop' | 'close';

/** The fields of a live change (CMD_CONFIG `{ op: 'set', ... }`). */
const LIVE_KEYS = ['cps', 'rps', 'connections', 'maxConcurrent'] as const;
/** A live change's ack from a worker with no share of the load (it started with none). */
export const LIVE_NO_SHARE = -17;

const NET_KEYS: readonly string[] = Object.keys(new NetCounters());
const TCP_KEYS: readonly string[] = Object.keys(new TcpCounters());
const UDP_KEYS: readonly string[] = Object.keys(new UdpCounters());
/** The worker's queue counters (the driver's, through the capture tap when there is one). */
const PORT_KEYS: readonly string[] = Object.keys(emptyQueueStats());
/** The server's TLS figures (TlsTransport stats fields), published as `tls_<field>`. */
const TLS_SERVER_STATS = ['handshakes', 'resumed', 'failures', 'abandoned'];
const HTTP_KEYS = [...SERVER_STAT_KEYS.map(snake), ...TLS_SERVER_STATS.map((k) => `tls_${k}`)];
/** The TCP sink's and source's stats fields. */
const BULK_STATS = ['accepted', 'closed', 'bytesIn', 'bytesOut'];
const BULK_KEYS = BULK_STATS.map(snake);
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
/** Frames passed between workers, after a client load's own counters. */
const STEER_KEYS = ['steered_out', 'steered_in', 'steer_drops'];
/** Receive bursts of frames other workers passed on. */
const STEER_BURST = 64;

/** A counter's metric name part (`rtoFires` -> `rto_fires`): slabs and exports use these, JSON the camelCase. */
export function snake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

export function camel(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

/** The application's counter names: by kind, and for --listen by listener. */
function appKeys(app: StackAppKind | StackAppConfig): readonly string[] {
  const kind = typeof app === 'string' ? app : app.kind;
  switch (kind) {
    case 'http':
      return HTTP_KEYS;
    case 'client':
      return CLIENT_KEYS;
    case 'tcp_connect':
      return [...TCP_CONNECT_KEYS, ...STEER_KEYS];
    case 'udp_client':
    case 'icmp_client':
      return [...PROBE_KEYS, ...STEER_KEYS];
    case 'listen':
      return typeof app === 'string' || app.kind !== 'listen' ? [] : listenKeys(app.listeners);
    case 'none':
      return [];
    default:
      return BULK_KEYS;
  }
}

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

/** A client app's flow shape (each flow's request entries), else none. */
function flowShapeOf(app: StackAppKind | StackAppConfig): readonly number[] {
  return typeof app !== 'string' && app.kind === 'client' ? app.flowShape : [];
}

/** The slab counters of a stack worker running `app` (a client: with its flows'), after the loop's own. */
export function stackMetricNames(app: StackAppKind | StackAppConfig): string[] {
  const none = (typeof app === 'string' ? app : app.kind) === 'none';
  return [
    MAC_METRIC,
    OPEN_CONNS_METRIC,
    CONNS_METRIC,
    ...NET_KEYS.map((k) => `net_${snake(k)}`),
    ...PORT_KEYS.map((k) => `port_${snake(k)}`),
    ...(none ? [] : TCP_KEYS.map((k) => `tcp_${snake(k)}`)),
    ...(none ? [] : UDP_KEYS.map((k) => `udp_${snake(k)}`)),
    ...appKeys(app).map((k) => `app_${k}`),
    ...flowMetricNames(flowShapeOf(app)),
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
  /** UdpCounters names, or null without UDP (no application). */
  udp: Record<string, number> | null;
  /** The application's counters (snake_case), or null without one. */
  app: Record<string, number> | null;
  /** The poll loop's counters (LOOP_METRICS). */
  loop: Record<string, number>;
}

export function groupStackMetrics(m: Record<string, number>, app: StackAppKind | StackAppConfig): StackMetricGroups {
  const none = (typeof app === 'string' ? app : app.kind) === 'none';
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
    tcp: none ? null : pick('tcp_', TCP_KEYS, snake),
    udp: none ? null : pick('udp_', UDP_KEYS, snake),
    app: none ? null : camelKeys(pick('app_', appKeys(app), (k) => k)),
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
  if (kind !== 'none' && kind !== 'http' && kind !== 'sink' && kind !== 'source' && kind !== 'listen' && !isClientKind(kind ?? '')) {
    throw new StackPipelineError(`stack pipeline: unknown app kind ${JSON.stringify(kind)}`);
  }
  if (c.app !== undefined && isClientKind(c.app.kind)) {
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
        // Phase times go to the worker's region of the shared histograms, which management merges.
        ...(ctx.histograms !== null ? { phases: new PhaseRecorder(ctx.histograms, ctx.workerIdx, app.flowShape.length) } : {}),
      });
      return mode;
    }
    default:
      return null;
  }
}

/** The client loads beside the HTTP one (TCP connect rate, UDP and ICMP probes): ticked, stopped, published by name. */
interface CountedLoad {
  /** Its pacing: connections (tcp://) or datagrams (udp://, icmp://) per second. */
  readonly budget: RateBudget;
  tick(nowUs: number): void;
  stop(): void;
  finished(): boolean;
  publish(c: Float64Array, ids: Int32Array, at: number): number;
}

/** A worker's share of a TCP connect-rate, UDP or ICMP load, or null when it has none. */
function startLoad(app: StackAppConfig, stack: NetStack, tcp: TcpLayer, udp: UdpLayer, ctx: PipelineContext, maxConns: number): CountedLoad | null {
  if (app.kind !== 'tcp_connect' && app.kind !== 'udp_client' && app.kind !== 'icmp_client') return null;
  if (app.share === null) return null;
  const workers = app.steer.rings.length;
  if (app.kind === 'tcp_connect') {
    // Every owned address: the TCP layer's source pool picks the address and port.
    const connectTime = ctx.histograms === null ? null : new HdrRecorder(ctx.histograms, ctx.workerIdx, PH_CONNECT);
    return new TcpConnectLoad({ ...app.share, transport: tcp, clock: ctx.clock, stamp: stackClock(tcp), srcIp: 0, durationUs: app.durationUs, maxConns, connectTime });
  }
  // Datagrams leave from the first owned address: their answers come back to one port of this worker's share.
  const srcIp = app.steer.addrs[0].lo;
  const dstIp = app.share.dstIp;
  const nextHopReady = (): boolean => stack.nextHop(dstIp) === HOP_READY;
  // Each worker tags its own datagrams: an answer another worker's port got by mistake is not counted as this one's.
  // A datagram's round trip is its response time.
  const rtt = ctx.histograms === null ? null : new HdrRecorder(ctx.histograms, ctx.workerIdx, PH_RESPONSE);
  const cfg = { ...app.share, clock: ctx.clock, srcIp, durationUs: app.durationUs, drainUs: app.drainUs, rtt, tag: (app.tag + ctx.workerIdx) >>> 0, nextHopReady };
  if (app.kind === 'icmp_client') return new IcmpProbe(cfg, stack, echoIdent(app.tag & 0xffff, ctx.workerIdx, workers));
  // One source port of this worker's share, so that fanout/RSS steering brings the answers here.
  const { lo, hi } = portShare(ctx.workerIdx, workers);
  return new UdpProbe(cfg, udp, lo + (app.tag % (hi - lo)));
}

/** What a client worker, or a worker with a key log, posts when it closes: what the slab cannot carry. */
export interface StackWorkerReport {
  sha256: string | null;
  tlsLastError: string | null;
  /** Each failure reason's last message (by Fail code; '' when none). */
  lastFailure: string[];
  /** Secrets this worker appended to the --sslkeylog file. */
  keylogLines: number;
  /** Response times per request entry of flows of several (encoded HDR histograms), for management to merge (a flow's are its response phase). */
  entryLatency: string[][];
  /** A server's requests by target (--count-targets), else null. */
  targets: Record<string, number> | null;
  /** The TCP layer's cwnd and SRTT samples, else null. */
  tcpStats: EncodedTcpStats | null;
}

class StackPipeline implements Pipeline {
  private readonly c: Float64Array;
  private readonly netIds: Int32Array;
  private readonly portIds: Int32Array;
  private readonly flowIds: Int32Array;
  private readonly tcpIds: Int32Array;
  private readonly udpIds: Int32Array;
  private readonly appIds: Int32Array;
  private readonly net: Record<string, number>;
  private readonly tcpCounters: Record<string, number> | null;
  private readonly openId: number;
  private readonly connsId: number;
  /** The run asked every connection to close: count what is still open each tick. */
  private closing = false;
  private readonly kind: StackAppKind;

  constructor(
    private readonly ctx: PipelineContext,
    private readonly stack: NetStack,
    private readonly tcp: TcpLayer | null,
    private readonly mode: Mode | null,
    private readonly udp: UdpLayer | null,
    /** A TCP connect-rate, UDP or ICMP load, or the --listen services. */
    private readonly load: CountedLoad | null,
    private readonly listen: ListenMode | null,
    app: StackAppConfig,
    private readonly steer: FlowSteer | null,
    private readonly keylog: KeyLog | null,
    /** The client checks bodies against --expect-sha256 (without it, Http1Client's verify counts mean nothing). */
    private readonly verify: boolean,
  ) {
    this.kind = app.kind;
    const m = ctx.metrics;
    this.c = m.c;
    const ids = (names: string[]): Int32Array => Int32Array.from(names, (n) => m.id(n));
    this.netIds = ids(NET_KEYS.map((k) => `net_${snake(k)}`));
    this.portIds = ids(PORT_KEYS.map((k) => `port_${snake(k)}`));
    this.tcpIds = ids(tcp === null ? [] : TCP_KEYS.map((k) => `tcp_${snake(k)}`));
    this.udpIds = ids(udp === null ? [] : UDP_KEYS.map((k) => `udp_${snake(k)}`));
    this.appIds = ids(appKeys(app).map((k) => `app_${k}`));
    this.flowIds = ids(flowMetricNames(flowShapeOf(app)));
    this.net = stack.counters as unknown as Record<string, number>;
    this.tcpCounters = tcp === null ? null : (tcp.counters as unknown as Record<string, number>);
    this.c[m.id(MAC_METRIC)] = stack.mac;
    this.openId = m.id(OPEN_CONNS_METRIC);
    this.connsId = m.id(CONNS_METRIC);
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
      this.load?.stop();
      return 0;
    }
    if (op === 'set') return this.retarget(u as LiveTargets & { op: 'set' });
    if (op === 'close') {
      this.closing = true;
      // What is still in flight now stays counted as in flight at the stop, not as failed by the closes below.
      if (this.mode instanceof ClientMode) this.mode.end();
      const tcp = this.tcp;
      if (tcp !== null) eachConn(tcp, (c, st, notified) => st !== TIME_WAIT && !notified && tcp.close(c));
      this.publish();
      return 0;
    }
    return -1;
  }

  /**
   * A live change of the load's targets, this worker's share of them
   * (`{ op: 'set', cps?, rps?, connections?, maxConcurrent? }`). A worker with
   * no share of the load takes a share of nothing and refuses the rest.
   */
  private retarget(u: LiveTargets): number {
    const t: LiveTargets = {};
    for (const k of LIVE_KEYS) {
      const v = u[k];
      if (v === undefined) continue;
      if (typeof v !== 'number' || !(v >= 0 && v <= 1e9)) return RC_BAD_PAYLOAD;
      t[k] = v;
    }
    if (this.mode instanceof ClientMode) return this.mode.load.retarget(t);
    const load = this.load;
    if (load !== null) {
      // tcp:// paces connections (cps), udp:// and icmp:// datagrams (rps): one rate, nothing else.
      const rate = this.kind === 'tcp_connect' ? t.cps : t.rps;
      if (rate === undefined || !(rate > 0) || LIVE_KEYS.filter((k) => t[k] !== undefined).length !== 1) return LIVE_NOT_APPLICABLE;
      load.budget.setRate(rate);
      return 0;
    }
    return LIVE_KEYS.every((k) => (t[k] ?? 0) === 0) ? 0 : LIVE_NO_SHARE;
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
    this.load?.tick(nowUs);
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

  /**
   * Work in flight keeps the loop polling rather than parking: a generator
   * owns its core, as a DPDK lcore does, so that an answer is taken when it
   * arrives and not up to a park later. A client's load runs until it is
   * finished; a server has work while a connection is open (TIME_WAIT aside).
   */
  inFlight(): boolean {
    const mode = this.mode;
    if (mode instanceof ClientMode) return !mode.finished();
    if (this.load !== null) return !this.load.finished();
    const tcp = this.tcp;
    return tcp !== null && tcp.t.active > tcp.tw.size;
  }

  /**
   * The TCP layer's wire clock, and a client load's responses' (every flow
   * shares the transport). Frames other workers pass here carry no kernel
   * stamp (takeSteered): with steering, both are the stack's.
   */
  wireClocks(): { tcp: WireClock | null; http: WireClock | null } {
    const tcp = this.tcp === null ? null : this.steer !== null && this.steer.n > 1 ? 'stack' : this.tcp.wire.clock;
    const http = this.mode instanceof ClientMode ? this.mode.load.client.wireClock : null;
    return { tcp, http: http === null || tcp === null ? http : tcp };
  }

  private takeSteered(nowUs: number): void {
    const steer = this.steer;
    if (steer === null) return;
    // A passed frame's slot holds no receive stamp of its own (the kernel's is in the other worker's clock): the poll's time stands in.
    const stamps = this.ctx.queue.wire?.rxUs;
    for (let k = steer.take(); k > 0; k = steer.take()) {
      if (stamps !== undefined) for (let i = 0; i < k; i++) stamps[steer.slots[i]] = nowUs;
      this.stack.input(steer.slots, k, nowUs);
    }
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
    if (tcp !== null) eachConn(tcp, (c, st, notified) => (st === TIME_WAIT || notified ? tcp.release(c) : tcp.abort(c)));
    this.stack.close();
    this.publish();
    const targets = this.mode instanceof HttpServerMode ? (this.mode.server.targets?.toObject() ?? null) : null;
    if (this.mode instanceof ClientMode || this.keylog !== null || targets !== null || tcp !== null) {
      const client = this.mode instanceof ClientMode ? this.mode : null;
      const r: StackWorkerReport = {
        sha256: client?.load.lastSha256 ?? null,
        tlsLastError: client?.tls?.stats.lastError ?? null,
        lastFailure: client?.load.lastFailure() ?? [],
        keylogLines: this.keylog?.lines ?? 0,
        entryLatency: client?.load.entryLatency.map((hs) => (hs.length > 1 ? hs.map((h) => h.encode()) : [])) ?? [],
        targets,
        tcpStats: tcp === null ? null : { cwnd: tcp.stats.cwnd.encode(), srttUs: tcp.stats.srttUs.encode() },
      };
      this.ctx.post(r);
    }
    this.keylog?.close();
  }

  /** Copies the stack's counters into the slab (one writer: this worker). */
  private publish(): void {
    const c = this.c;
    if (this.closing) c[this.openId] = countOpen(this.tcp);
    // A client knows its connections; a TCP's TIME_WAIT list may still hold recycled entries, hence the floor.
    const tcp = this.tcp;
    c[this.connsId] = this.mode instanceof ClientMode ? this.mode.load.openConns : tcp === null ? 0 : Math.max(0, tcp.t.active - tcp.tw.size);
    copy(c, this.netIds, this.net, NET_KEYS);
    copy(c, this.portIds, this.ctx.queue.stats() as unknown as Record<string, number>, PORT_KEYS);
    if (this.tcpCounters !== null) copy(c, this.tcpIds, this.tcpCounters, TCP_KEYS);
    if (this.udp !== null) copy(c, this.udpIds, this.udp.counters as unknown as Record<string, number>, UDP_KEYS);
    const ids = this.appIds;
    const mode = this.mode;
    if (this.listen !== null) {
      this.listen.publish(c, ids, 0);
    } else if (this.kind !== 'client' && this.steer !== null) {
      publishLoad(c, ids, this.load, this.steer);
    } else if (mode instanceof HttpServerMode) {
      copy(c, ids, mode.server.stats as unknown as Record<string, number>, SERVER_STAT_KEYS);
      if (mode.tls !== null) copy(c, ids.subarray(SERVER_STAT_KEYS.length), mode.tls.stats as unknown as Record<string, number>, TLS_SERVER_STATS);
    } else if (this.steer !== null) {
      publishClient(c, ids, mode instanceof ClientMode ? mode : null, this.steer, this.verify);
      if (mode instanceof ClientMode) publishFlows(c, this.flowIds, mode);
    } else if (mode instanceof BulkMode) {
      copy(c, ids, mode.handler.stats as unknown as Record<string, number>, BULK_STATS);
    }
  }
}

/** Calls `fn` for every connection not CLOSED, with its state and whether the application was told it closed. */
function eachConn(tcp: TcpLayer, fn: (c: number, state: number, notified: boolean) => void): void {
  const t = tcp.t;
  for (let c = 0; c < t.max; c++) {
    const st = t.state[c];
    if (st !== CLOSED) fn(c, st, (t.flags[c] & F_NOTIFIED) !== 0);
  }
}

/** Connections neither closed nor in TIME_WAIT. */
function countOpen(tcp: TcpLayer | null): number {
  let n = 0;
  if (tcp !== null) eachConn(tcp, (_c, st) => st !== TIME_WAIT && n++);
  return n;
}

/** A TCP connect-rate, UDP or ICMP load's counters, then the steering ones; a worker without a share reports itself finished. */
function publishLoad(c: Float64Array, ids: Int32Array, load: CountedLoad | null, steer: FlowSteer): void {
  const n = ids.length - STEER_KEYS.length;
  if (load !== null) load.publish(c, ids, 0);
  // 'finished' is the last of the load's own counters.
  else c[ids[n - 1]] = 1;
  c[ids[n]] = steer.out;
  c[ids[n + 1]] = steer.in;
  c[ids[n + 2]] = steer.drops;
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
  let udp: UdpLayer | null = null;
  let mode: Mode | null = null;
  let load: CountedLoad | null = null;
  let listen: ListenMode | null = null;
  let keylog: KeyLog | null = null;
  let steer: FlowSteer | null = null;
  try {
    const steerCfg = 'steer' in app ? app.steer : null;
    if (steerCfg !== null) steer = new FlowSteer(steerCfg, ctx.workerIdx, ctx.pool, STEER_BURST, (w) => ctx.wakeWorker(w));
    // Every worker appends to the one file through its own O_APPEND descriptor: one write(2) per line, never interleaved.
    if ((app.kind === 'http' || app.kind === 'listen' || (app.kind === 'client' && app.share !== null)) && app.keylog !== null) keylog = new KeyLog(app.keylog);
    if (app.kind !== 'none') {
      const opts = runTcpOptions(cfg.maxConns, cfg.tcpWindow, cfg.cc, cfg.ecn);
      // A client's worker opens connections from its own share of the ports: replies to the others' are steered to them.
      if (steerCfg !== null) opts.ephemeralPorts = portShare(ctx.workerIdx, steerCfg.rings.length);
      // A seed fixes where the source ports start (else random per run, so back-to-back runs do not collide).
      const seed = app.kind === 'client' ? app.share?.seed : undefined;
      if (seed !== undefined) opts.portKey = Uint32Array.of(seed, Math.imul(seed, 0x9e3779b1) ^ 0x5bd1e995);
      tcp = new TcpLayer(stack, opts);
      stack.registerL4(IPV4_PROTO_TCP, tcp);
      udp = new UdpLayer(stack);
      stack.registerL4(IPV4_PROTO_UDP, udp);
      mode = startApp(app, tcp, ctx, cfg.maxConns, keylog);
      load = startLoad(app, stack, tcp, udp, ctx, cfg.maxConns);
      if (app.kind === 'listen') listen = new ListenMode(app, tcp, udp, keylog);
    }
  } catch (e) {
    keylog?.close();
    stack.close();
    throw e;
  }
  const verify = app.kind === 'client' && app.share !== null && app.share.expectSha256 !== null;
  return new StackPipeline(ctx, stack, tcp, mode, udp, load, listen, app, steer, keylog, verify);
}
