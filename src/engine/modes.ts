/**
 * What runs on the stack's TCP for each mode of the `vaigai` command: the
 * HTTP/1.1 responder (optionally over TLS), the TCP sink and source, and the
 * HTTP client load. Each mode is ticked by the poll loop, says when it is
 * finished, and reports a live line, a summary and JSON.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Clock } from '../common/clock.js';
import { Http1Server } from '../app/http11/server.js';
import { type StreamTransport } from '../net/tcp/stream.js';
import { ipToString } from '../wire/ipv4_addr.js';
import { CertManager } from '../tls/cert_manager.js';
import type { KeyLog } from '../tls/keylog.js';
import { createTlsStream, type TlsEngine, type TlsTransport } from '../tls/engine.js';
import { TcpLayer } from '../net/tcp/tcp_layer.js';
import { LoadRun, stackClock, type LoadSnapshot } from './load.js';
import { liveLine, summarize, summaryText, fmtBytes } from './report.js';
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
    this.server = new Http1Server({ transport: t, port: cfg.port, status: cfg.status, bodySize: cfg.bodySize });
    const r = this.server.listen();
    if (r < 0) throw new ModeError(`cannot listen on port ${cfg.port} (error ${r})`);
  }

  tick(): void {}

  finished(): boolean {
    return false;
  }

  /** Requests that failed, every reason summed (errors[0] is "no error"). */
  errorCount(): number {
    const e = this.server.stats.errors;
    let n = 0;
    for (let i = 1; i < e.length; i++) n += e[i];
    return n;
  }

  liveLine(s: number): string {
    const st = this.server.stats;
    const tls = this.tls === null ? '' : ` | tls ${this.tls.stats.handshakes} (${this.tls.stats.resumed} resumed) fail ${this.tls.stats.failures}`;
    return `[${s.toFixed(0).padStart(4)}s] http accepted ${st.accepted} req ${st.requests} resp ${st.responses} body ${fmtBytes(st.bodyBytesOut)}${tls}`;
  }

  summary(): string {
    return `http server: ${JSON.stringify(this.json())}`;
  }

  json(): unknown {
    const st = this.server.stats;
    const out: Record<string, unknown> = {
      accepted: st.accepted,
      requests: st.requests,
      responses: st.responses,
      bodyBytesOut: st.bodyBytesOut,
      errors: this.errorCount(),
    };
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
  /** TLS client settings for https URLs, else null. */
  tls: { sni: string | null; verify: boolean; ca: string | null; version: TlsVersion | null; engine: TlsEngine } | null;
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
}

export class ClientMode implements Mode {
  readonly load: LoadRun;
  readonly tls: TlsTransport | null;
  private prev: LoadSnapshot;
  private readonly expect: boolean;
  private readonly clock: Clock;
  private readonly hardStopUs: number;

  constructor(cfg: ClientModeConfig) {
    let t = cfg.transport;
    this.tls = null;
    if (cfg.tls !== null) {
      const c = cfg.tls;
      this.tls = createTlsStream(c.engine, t, {
        client: {
          verify: c.verify,
          resume: true,
          ...(c.version !== null ? { minVersion: c.version, maxVersion: c.version } : {}),
          ...(c.sni !== null ? { servername: c.sni } : {}),
          ...(c.ca !== null ? { ca: readFileSync(c.ca) } : {}),
        },
        keylog: cfg.keylog ?? null,
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
    });
    console.log(
      `client: ${cfg.tls !== null ? 'https' : 'http'}://${ipToString(cfg.dstIp)}:${cfg.dstPort}${cfg.path} from ${ipToString(cfg.srcIp)},` +
        ` ${cfg.connections} connections, ${cfg.perConn === 0 ? 'keep-alive' : `${cfg.perConn} requests/connection`}, pipeline ${cfg.pipeline}` +
        `${cfg.requests > 0 ? `, ${cfg.requests} requests` : ''}${cfg.durationUs > 0 ? `, ${cfg.durationUs / 1e6} s` : ''}${cfg.rate > 0 ? `, ${cfg.rate}/s` : ''}`,
    );
    this.load.start();
    this.prev = this.load.snapshot();
    this.hardStopUs = cfg.durationUs > 0 ? this.load.startUs + cfg.durationUs + cfg.drainUs : Infinity;
  }

  tick(nowUs: number): void {
    this.load.tick(nowUs);
  }

  /** Done when every connection closed, or the drain time past the time bound ran out (the run then closes the rest). */
  finished(): boolean {
    return this.load.done || this.clock.nowUs() >= this.hardStopUs;
  }

  liveLine(s: number): string {
    const cur = this.load.snapshot();
    const line = liveLine(s, this.prev, cur, this.load.takeInterval());
    this.prev = cur;
    return line;
  }

  summary(): string {
    return summaryText('client', this.result());
  }

  json(): unknown {
    const r: Record<string, unknown> = { ...this.result() };
    if (this.tls !== null) {
      const t = this.tls.stats;
      r.tls = { handshakes: t.handshakes, full: t.full, resumed: t.resumed, failures: t.failures, abandoned: t.abandoned, lastError: t.lastError };
    }
    return r;
  }

  private result(): ReturnType<typeof summarize> {
    const l = this.load;
    return summarize(l.elapsedUs(), l.snapshot(), l.latency, this.expect, l.lastSha256);
  }
}
