/**
 * What runs on the stack's TCP for each mode of the `vaigai` command: the
 * HTTP/1.1 responder (optionally over TLS), the TCP sink and source, and the
 * HTTP client load. Each mode is ticked by the poll loop, says when it is
 * finished, and reports a live line, a summary and JSON.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Clock } from '../common/clock.js';
import { Http1Server, SERVER_STAT_KEYS } from '../app/http11/server.js';
import { type StreamTransport } from '../net/tcp/stream.js';
import { ipToString } from '../wire/ipv4_addr.js';
import { CertManager } from '../tls/cert_manager.js';
import type { KeyLog } from '../tls/keylog.js';
import type { PhaseRecorder } from '../telemetry/phases.js';
import { createTlsStream, type TlsEngine, type TlsTransport } from '../tls/engine.js';
import { TcpLayer } from '../net/tcp/tcp_layer.js';
import { HOP_PENDING } from '../net/l4.js';
import { Prng } from '../common/prng.js';
import { LoadRun, stackClock, type LoadFlow, type LoadSnapshot, type OpenLoad } from './load.js';
import { flowSummaries, liveLine, summarize, summaryText, fmtBytes, type LoadSummary } from './report.js';
import { RateWatch, type RateTargets } from './rate_watch.js';
import type { StageSpan } from './schedule.js';
import { TcpSink, TcpSource } from './tcp_bulk.js';

export interface Mode {
  tick(nowUs: number): void;
  /** True once a bounded mode (the client) has nothing left to do. */
  finished(): boolean;
  liveLine(elapsedS: number): string;
  summary(): string;
  json(): unknown;
}

export class ModeError extends Error {}

/** A TLS version to pin (both the minimum and the maximum). */
export type TlsVersion = 'TLSv1.2' | 'TLSv1.3';

export interface HttpServerModeConfig {
  transport: StreamTransport;
  port: number;
  status: number;
  bodySize: number;
  tls: { cert: string; key: string; version: TlsVersion | null; engine: TlsEngine } | null;
  /** Where the TLS secrets of every session go (--sslkeylog), or null. */
  keylog?: KeyLog | null;
  /** Header-read and idle timeouts in µs (0: none); the server's defaults when absent. */
  timeouts?: ServerTimeouts;
  /** The clock of the deadlines (the stack's). */
  clock?: Clock;
  /** Count requests by request-target (--count-targets). */
  countTargets?: boolean;
}

/** --header-timeout and --idle-timeout, in µs. */
export interface ServerTimeouts {
  headerUs: number;
  idleUs: number;
}

export class HttpServerMode implements Mode {
  readonly server: Http1Server;
  readonly tls: TlsTransport | null;

  constructor(cfg: HttpServerModeConfig) {
    let t = cfg.transport;
    this.tls = null;
    if (cfg.tls !== null) {
      const v = cfg.tls.version;
      const certs = new CertManager({ cert: cfg.tls.cert, key: cfg.tls.key }, v === null ? {} : { minVersion: v, maxVersion: v });
      this.tls = createTlsStream(cfg.tls.engine, t, { server: { certs, requestCert: false, verifyClient: false, sessionCache: 4096 }, keylog: cfg.keylog ?? null });
      t = this.tls;
    }
    const to = cfg.timeouts;
    this.server = new Http1Server({
      transport: t,
      port: cfg.port,
      status: cfg.status,
      bodySize: cfg.bodySize,
      ...(to !== undefined ? { headerTimeoutUs: to.headerUs, idleTimeoutUs: to.idleUs } : {}),
      ...(cfg.clock !== undefined ? { clock: cfg.clock } : {}),
      countTargets: cfg.countTargets === true,
    });
    const r = this.server.listen();
    if (r < 0) throw new ModeError(`cannot listen on port ${cfg.port} (error ${r})`);
  }

  tick(nowUs: number): void {
    this.server.tick(nowUs);
  }

  finished(): boolean {
    return false;
  }

  liveLine(s: number): string {
    const st = this.server.stats;
    const tls = this.tls === null ? '' : ` | tls ${this.tls.stats.handshakes} (${this.tls.stats.resumed} resumed) fail ${this.tls.stats.failures}`;
    return `[${s.toFixed(0).padStart(4)}s] http accepted ${st.accepted} open ${st.open} req ${st.requests} resp ${st.responses} body ${fmtBytes(st.bodyBytesOut)}${tls}`;
  }

  summary(): string {
    return `http server: ${JSON.stringify(this.json())}`;
  }

  /** Every ServerStats counter: they reconcile (see ServerStats). */
  json(): unknown {
    const st = this.server.stats as unknown as Record<string, number>;
    const out: Record<string, unknown> = {};
    for (const k of SERVER_STAT_KEYS) out[k] = st[k];
    if (this.server.targets !== null) out.targets = this.server.targets.toObject();
    if (this.tls !== null) {
      const t = this.tls.stats;
      out.tls = { handshakes: t.handshakes, full: t.full, resumed: t.resumed, failures: t.failures, abandoned: t.abandoned };
    }
    return out;
  }
}

export class BulkMode implements Mode {
  readonly handler: TcpSink | TcpSource;

  constructor(t: StreamTransport, kind: 'sink' | 'source', port: number, bytes: number, sha256: boolean) {
    this.handler =
      kind === 'sink'
        ? new TcpSink(t, sha256 ? (n, sha) => console.log(`tcp-sink: connection closed after ${n} bytes, sha256 ${sha}`) : null)
        : new TcpSource(t, bytes);
    const r = t.listen(0, port, this.handler);
    if (r < 0) throw new ModeError(`cannot listen on port ${port} (error ${r})`);
  }

  tick(): void {}

  finished(): boolean {
    return false;
  }

  liveLine(s: number): string {
    const st = this.handler.stats;
    return `[${s.toFixed(0).padStart(4)}s] tcp accepted ${st.accepted} closed ${st.closed} in ${fmtBytes(st.bytesIn)} out ${fmtBytes(st.bytesOut)}`;
  }

  summary(): string {
    return `tcp ${this.handler instanceof TcpSink ? 'sink' : 'source'}: ${JSON.stringify(this.json())}`;
  }

  json(): unknown {
    return { ...this.handler.stats };
  }
}

/** What the client load asks for, as the command line gives it. */
export interface ClientPlan {
  dstIp: number;
  dstPort: number;
  /** Host header: the URL's authority. */
  host: string;
  path: string;
  method: string;
  /** Request body file, or null. */
  bodyFile: string | null;
  connections: number;
  /** 0 = as the duration allows. */
  requests: number;
  /** Requests per connection; 0 = keep-alive. */
  perConn: number;
  pipeline: number;
  rate: number;
  saveBody: string | null;
  sha256: boolean;
  expectSha256: string | null;
  /** TLS client settings for https URLs, else null; `timeoutS` bounds the handshake. */
  /** resume: offer stored sessions (tickets, IDs) on new connections. */
  tls: { sni: string | null; verify: boolean; ca: string | null; version: TlsVersion | null; engine: TlsEngine; resume: boolean; timeoutS: number } | null;
  /** Seconds a connection may take to open (TCP; the TLS handshake has its own bound); 0 = no bound. */
  connectTimeoutS: number;
  /** Seconds a request may wait with nothing received (a silent or stalled server); 0 = no bound. */
  responseTimeoutS: number;
  /** Seconds a request may take to be answered in whole; 0 = no bound. */
  maxResponseTimeS: number;
  /** Share of failed work the run tolerates before it exits 3 (--allow-errors). */
  allowErrors: number;
  /** The open model's arrivals (`rate` is then its request rate), or null: the closed model. */
  open: OpenLoad | null;
  /** Stages scaling the targets (the open model's rates, the closed model's connections and rate); absent: none. */
  stages?: StageSpan[];
  /** The profile's flows (the fields above are the first one's); absent: one flow from those fields. */
  flows?: FlowPlan[];
  /** Seeds the picks of flows and requests, the arrivals and the generated bodies (default 1). */
  seed?: number;
}

/** A flow as a plan carries it: its request bodies by file or size, loaded or generated where it runs. */
export interface FlowPlan extends Omit<LoadFlow, 'requests'> {
  requests: { method: string; path: string; headers: Record<string, string>; bodyFile: string | null; bodySize: number }[];
}

/** The rates a client plan aims at, for the live warning. */
export function rateTargets(p: ClientPlan): RateTargets {
  return { cps: p.open?.cps ?? 0, rps: p.rate, stages: p.stages ?? [] };
}

/** A flow's requests with their bodies: a file's bytes, or `bodySize` bytes from the seeded PRNG (the same seed, the same payloads). */
function loadFlow(f: FlowPlan, seed: number): LoadFlow {
  const rng = new Prng(seed);
  return {
    ...f,
    requests: f.requests.map((r) => {
      let body: Uint8Array | undefined;
      if (r.bodyFile !== null) body = readFileSync(r.bodyFile);
      else if (r.bodySize > 0) {
        body = new Uint8Array(r.bodySize);
        for (let i = 0; i < body.length; i++) body[i] = 0x61 + rng.int(26);
      }
      return { method: r.method, path: r.path, headers: r.headers, ...(body !== undefined ? { body } : {}) };
    }),
  };
}

export interface ClientModeConfig extends ClientPlan {
  transport: StreamTransport;
  clock: Clock;
  srcIp: number;
  durationUs: number;
  /** How long open requests may take to finish after the time bound (--drain). */
  drainUs: number;
  maxConns: number;
  /** Where the TLS secrets of every session go (--sslkeylog), or null. */
  keylog?: KeyLog | null;
  /** Where each flow's phase times go (the worker's shared histograms); absent: nowhere. */
  phases?: PhaseRecorder;
}

export class ClientMode implements Mode {
  readonly load: LoadRun;
  readonly tls: TlsTransport | null;
  private prev: LoadSnapshot;
  private readonly expect: boolean;
  private readonly clock: Clock;
  private hardStopUs = Infinity;
  /** The TCP under the load while its first SYN waits for ARP to resolve the next hop; null once started. */
  private waitHop: TcpLayer | null;
  private readonly durationUs: number;
  private readonly drainUs: number;
  private readonly dstIp: number;
  private readonly watch: RateWatch;

  constructor(cfg: ClientModeConfig) {
    let t = cfg.transport;
    this.tls = null;
    if (cfg.tls !== null) {
      const c = cfg.tls;
      this.tls = createTlsStream(c.engine, t, {
        client: {
          verify: c.verify,
          resume: c.resume,
          ...(c.version !== null ? { minVersion: c.version, maxVersion: c.version } : {}),
          ...(c.sni !== null ? { servername: c.sni } : {}),
          ...(c.ca !== null ? { ca: readFileSync(c.ca) } : {}),
        },
        keylog: cfg.keylog ?? null,
        handshakeTimeoutMs: c.timeoutS * 1000,
      });
      t = this.tls;
    }
    this.clock = cfg.clock;
    this.expect = cfg.expectSha256 !== null;
    const save = cfg.saveBody;
    this.load = new LoadRun({
      transport: t,
      clock: cfg.clock,
      // TLS writes reach TCP later, from Node's stream machinery: stamp those with the clock.
      ...(t instanceof TcpLayer ? { latencyClock: stackClock(t) } : {}),
      srcIp: cfg.srcIp,
      dstIp: cfg.dstIp,
      dstPort: cfg.dstPort,
      host: cfg.host,
      request: { method: cfg.method, path: cfg.path, ...(cfg.bodyFile !== null ? { body: readFileSync(cfg.bodyFile) } : {}) },
      connections: cfg.connections,
      pipeline: cfg.pipeline,
      requestsPerConnection: cfg.perConn,
      totalRequests: cfg.requests,
      durationUs: cfg.durationUs,
      rate: cfg.rate,
      maxConns: cfg.maxConns,
      sha256: cfg.sha256,
      expectSha256: cfg.expectSha256,
      keepBodies: save !== null,
      onBody: save === null ? null : (_status, body) => writeFileSync(save, body),
      // The client sees a connection open once TLS is up: its bound covers the handshake's too.
      connectTimeoutUs: cfg.connectTimeoutS > 0 ? (cfg.connectTimeoutS + (cfg.tls?.timeoutS ?? 0)) * 1e6 : 0,
      readTimeoutUs: cfg.responseTimeoutS * 1e6,
      responseTimeoutUs: cfg.maxResponseTimeS * 1e6,
      ...(cfg.open !== null ? { open: cfg.open } : {}),
      ...(cfg.flows !== undefined ? { flows: cfg.flows.map((f) => loadFlow(f, cfg.seed ?? 1)) } : {}),
      ...(cfg.seed !== undefined ? { seed: cfg.seed } : {}),
      ...(cfg.stages !== undefined ? { stages: cfg.stages } : {}),
      ...(cfg.phases !== undefined ? { phases: cfg.phases } : {}),
    });
    console.log(
      `client: ${cfg.tls !== null ? 'https' : 'http'}://${ipToString(cfg.dstIp)}:${cfg.dstPort}${cfg.path}${(cfg.flows?.length ?? 1) > 1 ? ` and ${(cfg.flows?.length ?? 1) - 1} more flows` : ''} from ${cfg.srcIp === 0 ? 'every owned address' : ipToString(cfg.srcIp)},` +
        ` ${cfg.open !== null ? `open model ${cfg.open.cps > 0 ? `${cfg.open.cps} connections/s` : `${cfg.rate} requests/s`}, at most ${cfg.open.maxConcurrent} connections` : `${cfg.connections} connections`}, ${cfg.perConn === 0 ? 'keep-alive' : `${cfg.perConn} requests/connection`}, pipeline ${cfg.pipeline}` +
        `${cfg.requests > 0 ? `, ${cfg.requests} requests` : ''}${cfg.durationUs > 0 ? `, ${cfg.durationUs / 1e6} s` : ''}${cfg.rate > 0 && cfg.open === null ? `, ${cfg.rate}/s` : ''}`,
    );
    this.prev = this.load.snapshot();
    this.watch = new RateWatch(rateTargets(cfg));
    this.durationUs = cfg.durationUs;
    this.drainUs = cfg.drainUs;
    this.dstIp = cfg.dstIp;
    this.waitHop = cfg.transport instanceof TcpLayer ? cfg.transport : null;
    this.startWhenRouted();
  }

  /** Starts the load once the destination's next hop resolved or failed (ARP's retries bound the wait; a failed hop fails the connects). */
  private startWhenRouted(): void {
    if (this.waitHop !== null && this.waitHop.nextHop(this.dstIp) === HOP_PENDING) return;
    this.waitHop = null;
    this.load.start();
    this.prev = this.load.snapshot();
    this.hardStopUs = this.durationUs > 0 ? this.load.startUs + this.durationUs + this.drainUs : Infinity;
  }

  tick(nowUs: number): void {
    if (this.waitHop !== null) this.startWhenRouted();
    else this.load.tick(nowUs);
  }

  /** Done when every connection closed, or the drain time past the time bound ran out (the run then closes the rest). */
  finished(): boolean {
    return this.load.done || this.clock.nowUs() >= this.hardStopUs;
  }

  liveLine(s: number): string {
    const cur = this.load.snapshot();
    const line = liveLine(s, this.prev, cur, this.load.takeInterval());
    const warning = this.watch.check(s, this.prev, cur);
    this.prev = cur;
    return warning === null ? line : `${line}\n${warning}`;
  }

  summary(): string {
    return summaryText('client', this.result());
  }

  /** The run is over: what is in flight stays so when the connections are torn down. */
  end(): void {
    this.load.end();
  }

  json(): unknown {
    const r: Record<string, unknown> = { ...this.result() };
    if (this.tls !== null) {
      const t = this.tls.stats;
      r.tls = { handshakes: t.handshakes, full: t.full, resumed: t.resumed, failures: t.failures, abandoned: t.abandoned, lastError: t.lastError };
    }
    return r;
  }

  result(): LoadSummary {
    const l = this.load;
    return summarize(l.elapsedUs(), l.snapshot(), l.latency, this.expect, l.lastSha256, l.lastFailure(), flowSummaries(l.flowSnapshots(), l.flowLatency, l.entryLatency, l.flows));
  }
}
