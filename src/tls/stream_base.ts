/**
 * What both TLS engines (TlsStream, NativeTlsStream) do the same way around
 * their engine: the configuration, the per-connection bookkeeping indexed by
 * the lower connection id (upper handler, session key, address, blocked and
 * handshake flags), connect/listen over the lower transport, the handshake
 * and failure counters, client session storage, and the release of an id
 * when the lower connection closes. Each engine supplies what happens on the
 * lower transport's events and on the upper side's writes.
 */
import { TlsCloseReason, type ConnectOptions, type StreamHandler, type StreamTransport, type WireTimes } from '../net/tcp/stream.js';
import type { KeyLog } from './keylog.js';
import { TlsStats } from './session_store.js';
import type { TlsClientConfig, TlsServerConfig } from './tls_stream.js';

/** Bytes queued in the TLS layer (plaintext or ciphertext) before write() pushes back. */
export const TLS_SEND_BUFFER = 256 * 1024;

/** A handshake not done by then is aborted and counted as a failure (a peer that connects and stays silent). */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 30_000;

/**
 * Which TlsCloseReason a fatal TLS error is: a certificate that did not
 * verify (the native engine says "certificate verify failed: ...", Node's tls
 * gives the X.509 code, e.g. DEPTH_ZERO_SELF_SIGNED_CERT or
 * ERR_TLS_CERT_ALTNAME_INVALID), else any other error (an alert, a bad record).
 * An alert about a certificate (ERR_SSL_..._ALERT_BAD_CERTIFICATE) is the peer's
 * verdict on ours: an error, not our verification.
 */
export function tlsFailKind(message: string): number {
  return /^certificate verify failed|^ERR_TLS_CERT_|^(?!ERR_)[A-Z_]*(CERT|UNABLE_TO_)/.test(message) ? TlsCloseReason.TLS_VERIFY : TlsCloseReason.TLS_ERROR;
}

export interface TlsStreamOptions {
  client?: TlsClientConfig;
  server?: TlsServerConfig;
  keylog?: KeyLog | null;
  /** Default DEFAULT_HANDSHAKE_TIMEOUT_MS. */
  handshakeTimeoutMs?: number;
}

export abstract class TlsStreamBase implements StreamTransport {
  readonly stats = new TlsStats();
  protected readonly lower: StreamTransport;
  protected readonly client: TlsClientConfig | null;
  protected readonly server: TlsServerConfig | null;
  protected readonly keylog: KeyLog | null;
  protected readonly upper: (StreamHandler | null)[] = [];
  /** Client: the key its sessions are kept under (the server's address, port and SNI name; captured at connect). */
  protected readonly sessionKey: string[] = [];
  protected readonly dstIp: number[] = [];
  /** 1 when write() pushed back: onWritable is owed. */
  protected readonly blocked: number[] = [];
  /** 1 once the handshake completed. */
  protected readonly secure: number[] = [];
  /** The TlsCloseReason of a connection a TLS error ended (0: none), and its message: what its onClosed reports. */
  private readonly failKind: number[] = [];
  private readonly failText: string[] = [];
  /** 1 when this side verifies the peer's certificate on that connection. */
  private readonly verifies: number[] = [];
  /** When each connection's handshake started (performance.now() ms), or -1 once it ended either way. */
  private readonly handshakeStart: number[] = [];
  /** Each connection's handshake time in µs once it completed (-1 before). */
  private readonly handshakeTook: number[] = [];
  /** Handshakes under way, and the sweep that times them out while there are any. */
  private handshaking = 0;
  private sweep: NodeJS.Timeout | null = null;
  private readonly handshakeTimeoutMs: number;
  private listenHandler: StreamHandler | null = null;
  private readonly lowerClient: StreamHandler;
  private readonly lowerServer: StreamHandler;

  constructor(lower: StreamTransport, opts: TlsStreamOptions) {
    this.lower = lower;
    this.client = opts.client ?? null;
    this.server = opts.server ?? null;
    this.keylog = opts.keylog ?? null;
    this.handshakeTimeoutMs = opts.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
    this.lowerClient = this.lowerHandler(false);
    this.lowerServer = this.lowerHandler(true);
  }

  connect(srcIp: number, dstIp: number, dstPort: number, handler: StreamHandler, srcPort = 0, opts?: Readonly<ConnectOptions>): number {
    if (this.client === null) throw new Error(`${this.constructor.name} has no client configuration`);
    const id = this.lower.connect(srcIp, dstIp, dstPort, this.lowerClient, srcPort, opts);
    if (id < 0) return id;
    this.failKind[id] = 0;
    this.verifies[id] = this.client.verify ? 1 : 0;
    this.upper[id] = handler;
    this.dstIp[id] = dstIp;
    this.sessionKey[id] = `${dstIp}:${dstPort}:${this.client.servername ?? ''}`;
    return id;
  }

  listen(ip: number, port: number, handler: StreamHandler, backlog?: number): number {
    if (this.server === null) throw new Error(`${this.constructor.name} has no server configuration`);
    this.listenHandler = handler;
    return this.lower.listen(ip, port, this.lowerServer, backlog);
  }

  abstract write(conn: number, u8: Uint8Array, off: number, len: number): number;
  abstract sendSpace(conn: number): number;
  abstract shutdown(conn: number): void;
  abstract close(conn: number): void;
  abstract abort(conn: number): void;

  /** The lower connection is up (flags reset, a server connection has its handler): start the handshake. */
  protected abstract start(conn: number, isServer: boolean): void;
  protected abstract lowerData(conn: number, u8: Uint8Array, off: number, len: number): void;
  protected abstract lowerWritable(conn: number): void;
  /** The peer's FIN after the handshake completed. */
  protected abstract lowerPeerClosed(conn: number): void;
  /** Drops the engine's state of a connection whose id the lower transport released (it may be reused at once). */
  protected abstract release(conn: number): void;

  /** The handshake completed: counted, and the upper side told. */
  protected handshakeDone(conn: number, reused: boolean): void {
    const st = this.stats;
    st.handshakes++;
    this.secure[conn] = 1;
    this.handshakeTook[conn] = Math.round((performance.now() - (this.handshakeStart[conn] ?? 0)) * 1000);
    this.handshakeEnded(conn);
    if (reused) st.resumed++;
    else st.full++;
    this.upper[conn]?.onConnected(conn);
  }

  /**
   * A fatal TLS error: a failure when the handshake had not completed; the
   * reason kept for the report, and as the connection's close reason.
   */
  protected countError(conn: number, reason: string, kind = tlsFailKind(reason)): void {
    if (this.secure[conn] === 0) {
      this.stats.failures++;
      this.handshakeEnded(conn);
    }
    this.stats.lastError = reason;
    // Verification is of the handshake, and only when asked for: the native engine names a
    // verify result it was told to ignore, in front of the error that ended the connection.
    this.failKind[conn] = kind === TlsCloseReason.TLS_VERIFY && (this.secure[conn] === 1 || this.verifies[conn] !== 1) ? TlsCloseReason.TLS_ERROR : kind;
    this.failText[conn] = reason;
  }

  connectUs(conn: number): number {
    return this.lower.connectUs?.(conn) ?? -1;
  }

  /** The lower connection's wire times: a request's records leave, and an answer's arrive, in its segments. */
  get wire(): WireTimes | undefined {
    return this.lower.wire;
  }

  handshakeUs(conn: number): number {
    return this.secure[conn] === 1 ? (this.handshakeTook[conn] ?? -1) : -1;
  }

  closeDetail(conn: number): string {
    return (this.failKind[conn] ?? 0) !== 0 ? this.failText[conn] : '';
  }

  /** The connection ended before its handshake completed, with no TLS error counted: abandoned. */
  protected countAbandoned(conn: number): void {
    if (this.secure[conn] === 0 && (this.handshakeStart[conn] ?? -1) >= 0) this.stats.abandoned++;
    this.handshakeEnded(conn);
  }

  private handshakeStarted(conn: number): void {
    this.handshakeStart[conn] = performance.now();
    if (this.handshaking++ === 0 && this.sweep === null) {
      const every = Math.max(10, Math.min(1000, this.handshakeTimeoutMs / 4));
      this.sweep = setInterval(() => this.timeOutHandshakes(), every);
      this.sweep.unref();
    }
  }

  private handshakeEnded(conn: number): void {
    if ((this.handshakeStart[conn] ?? -1) < 0) return;
    this.handshakeStart[conn] = -1;
    if (--this.handshaking === 0 && this.sweep !== null) {
      clearInterval(this.sweep);
      this.sweep = null;
    }
  }

  private timeOutHandshakes(): void {
    const deadline = performance.now() - this.handshakeTimeoutMs;
    const starts = this.handshakeStart;
    for (let c = 0; c < starts.length; c++) {
      const t = starts[c];
      if (t === undefined || t < 0 || t > deadline) continue;
      this.handshakeEnded(c);
      this.countError(c, `handshake timed out after ${this.handshakeTimeoutMs} ms`, TlsCloseReason.TLS_TIMEOUT);
      this.abort(c);
    }
  }

  private lowerHandler(isServer: boolean): StreamHandler {
    return {
      onConnected: (conn) => {
        this.blocked[conn] = 0;
        this.secure[conn] = 0;
        if (isServer) {
          this.upper[conn] = this.listenHandler;
          this.failKind[conn] = 0;
          this.verifies[conn] = this.server?.verifyClient === true ? 1 : 0;
        }
        this.handshakeStarted(conn);
        this.start(conn, isServer);
      },
      onData: (conn, u8, off, len) => this.lowerData(conn, u8, off, len),
      // The network's round trips, the handshake's segments' as well: the upper side times the network.
      onWireRtt: (conn, us) => this.upper[conn]?.onWireRtt?.(conn, us),
      onWritable: (conn) => this.lowerWritable(conn),
      onPeerClosed: (conn) => {
        // No handshake completes once the peer stopped sending (and Node's ClientHello
        // parser, holding a partial record, would not notice the end): abandoned.
        if (this.secure[conn] === 0) {
          this.countAbandoned(conn);
          this.abort(conn);
        } else {
          this.lowerPeerClosed(conn);
        }
      },
      onClosed: (conn, reason) => {
        const h = this.upper[conn];
        this.upper[conn] = null;
        this.countAbandoned(conn);
        this.release(conn);
        // A TLS error aborted the lower connection: its kind is the reason, not ABORTED.
        const kind = this.failKind[conn] ?? 0;
        if (h) h.onClosed(conn, kind !== 0 ? kind : reason);
        this.failKind[conn] = 0;
      },
    };
  }
}
