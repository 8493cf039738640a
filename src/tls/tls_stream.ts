/**
 * TLS as a StreamTransport layered on another StreamTransport (the user-space
 * TCP, or kernel sockets in tests): Node's `tls` runs over a ConnDuplex per
 * connection. Upper connections have the ids of the lower ones. Clients
 * resume sessions from a per-worker store; servers resume by ticket (keys
 * from the CertManager) or by session ID (per-worker cache, kept across
 * certificate reloads). With that cache on, Node parses the ClientHello
 * itself before OpenSSL sees it, and holds a first record until all of its
 * declared length arrived (the native engine rejects a bad header at once);
 * the handshake timeout of stream_base.ts ends a record that never completes.
 * The bookkeeping both engines share is in stream_base.ts.
 */
import tls from 'node:tls';
import type { StreamTransport } from '../net/tcp/stream.js';
import type { CertManager, TlsPolicy } from './cert_manager.js';
import { policyOptions } from './cert_manager.js';
import { ConnDuplex } from './conn_duplex.js';
import { BoundedCache } from './session_store.js';
import { TLS_SEND_BUFFER, TlsStreamBase, type TlsStreamOptions } from './stream_base.js';

export interface TlsClientConfig extends TlsPolicy {
  /** SNI host name; also the name verified against the certificate. */
  servername?: string;
  alpn?: string[];
  /** Verify the server's certificate chain and name. */
  verify: boolean;
  /** PEM CA bundle for verification (default: Node's bundled roots). */
  ca?: string | Buffer;
  /** Client certificate and key (PEM). */
  cert?: string | Buffer;
  key?: string | Buffer;
  /** Offer the last session of the same server again. */
  resume: boolean;
}

export interface TlsServerConfig {
  certs: CertManager;
  alpn?: string[];
  /** Ask for a client certificate, and reject the handshake without a valid one when verifyClient. */
  requestCert: boolean;
  verifyClient: boolean;
  /** Server-side session-ID cache entries (0 = tickets only). */
  sessionCache: number;
  /** Certificates by SNI host name; `certs` serves names not listed and clients without SNI. */
  sni?: Map<string, CertManager>;
}

/** Client sessions kept per worker, by server key. */
const SESSIONS_PER_WORKER = 4096;

export class TlsStream extends TlsStreamBase {
  /** Client sessions by server key, DER as node:tls gives them (the native engine keeps its own, in its context). */
  private readonly sessions = new BoundedCache(SESSIONS_PER_WORKER);
  private readonly clientCtx: tls.SecureContext | null;
  /** Holds the server's session-ID cache listeners; never listens itself. */
  private readonly sessionServer: tls.Server;
  private readonly duplex: (ConnDuplex | null)[] = [];
  private readonly sock: (tls.TLSSocket | null)[] = [];

  constructor(lower: StreamTransport, opts: TlsStreamOptions) {
    super(lower, opts);
    const c = this.client;
    if (c !== null) {
      const o: tls.SecureContextOptions = policyOptions(c);
      if (c.ca !== undefined) o.ca = c.ca;
      if (c.cert !== undefined) o.cert = c.cert;
      if (c.key !== undefined) o.key = c.key;
      // One context for all connections: building one per handshake would re-parse the CA bundle.
      this.clientCtx = tls.createSecureContext(o);
    } else {
      this.clientCtx = null;
    }
    this.sessionServer = tls.createServer({});
    const cacheSize = this.server?.sessionCache ?? 0;
    if (cacheSize > 0) {
      const cache = new BoundedCache(cacheSize);
      this.sessionServer.on('newSession', (id: Buffer, data: Buffer, done: () => void) => {
        cache.set(id.toString('hex'), data);
        this.stats.sessionsStored++;
        done();
      });
      this.sessionServer.on('resumeSession', (id: Buffer, done: (e: Error | null, data: Buffer | null) => void) => {
        done(null, cache.get(id.toString('hex')) ?? null);
      });
    }
  }

  write(conn: number, u8: Uint8Array, off: number, len: number): number {
    const s = this.sock[conn];
    if (!s || !s.writable) return -1;
    const n = Math.min(len, TLS_SEND_BUFFER - s.writableLength);
    if (n <= 0) {
      this.blocked[conn] = 1;
      return 0;
    }
    // Node's TLS keeps the chunk until encrypted: it gets a copy.
    if (!s.write(Buffer.copyBytesFrom(u8, off, n)) || n < len) this.blocked[conn] = 1;
    return n;
  }

  sendSpace(conn: number): number {
    const s = this.sock[conn];
    return s && s.writable ? Math.max(0, TLS_SEND_BUFFER - s.writableLength) : 0;
  }

  shutdown(conn: number): void {
    this.sock[conn]?.end();
  }

  close(conn: number): void {
    this.sock[conn]?.end();
  }

  abort(conn: number): void {
    this.sock[conn]?.destroy();
    this.lower.abort(conn);
  }

  protected lowerData(conn: number, u8: Uint8Array, off: number, len: number): void {
    this.duplex[conn]?.deliver(u8, off, len);
  }

  protected lowerWritable(conn: number): void {
    this.duplex[conn]?.onTransportWritable();
  }

  protected lowerPeerClosed(conn: number): void {
    this.duplex[conn]?.push(null);
  }

  protected start(conn: number, isServer: boolean): void {
    const d = new ConnDuplex(this.lower, conn);
    this.duplex[conn] = d;
    let s: tls.TLSSocket;
    if (isServer) {
      const sv = this.server as TlsServerConfig;
      const o: tls.TLSSocketOptions = {
        isServer: true,
        server: this.sessionServer,
        secureContext: sv.certs.context,
        requestCert: sv.requestCert,
        rejectUnauthorized: sv.verifyClient,
      };
      if (sv.alpn) o.ALPNProtocols = sv.alpn;
      if (sv.sni) o.SNICallback = this.sniCallback;
      s = new tls.TLSSocket(d, o);
      s.once('secure', () => this.secured(conn, s));
    } else {
      const c = this.client as TlsClientConfig;
      const o: tls.ConnectionOptions = {
        socket: d,
        secureContext: this.clientCtx as tls.SecureContext,
        rejectUnauthorized: c.verify,
      };
      if (c.servername) o.servername = c.servername;
      if (c.alpn) o.ALPNProtocols = c.alpn;
      if (c.resume) {
        const key = this.sessionKey[conn];
        const sess = this.sessions.get(key);
        if (sess) o.session = sess;
        s = tls.connect(o);
        // Captured key: a ticket may arrive after this connection's id went to another one.
        s.on('session', (sess: Buffer) => {
          this.sessions.set(key, sess);
          this.stats.sessionsStored++;
        });
      } else {
        s = tls.connect(o);
      }
      s.once('secureConnect', () => this.secured(conn, s));
    }
    this.sock[conn] = s;
    if (this.keylog !== null) {
      const kl = this.keylog;
      s.on('keylog', (line: Buffer) => kl.write(line));
    }
    // Node emits socket events up to a tick after lowerClosed released the id, which the
    // transport may already have given to a new connection: each handler first checks
    // that the id still belongs to this socket.
    s.on('data', (b: Buffer) => {
      if (this.sock[conn] === s) this.upper[conn]?.onData(conn, b, 0, b.length);
    });
    s.on('end', () => {
      if (this.sock[conn] === s) this.upper[conn]?.onPeerClosed(conn);
    });
    s.on('drain', () => {
      if (this.sock[conn] === s && this.blocked[conn] === 1) {
        this.blocked[conn] = 0;
        this.upper[conn]?.onWritable(conn);
      }
    });
    s.on('error', (e: Error) => {
      if (this.sock[conn] !== s) return; // already released
      const code = (e as NodeJS.ErrnoException).code;
      // The peer closed or reset the connection before the handshake completed.
      if (code === 'ECONNRESET' && this.secure[conn] === 0) this.countAbandoned(conn);
      else this.countError(conn, code ?? e.message);
      this.lower.abort(conn);
    });
    // Closing the TLS socket (close_notify sent, or an error) releases the transport connection.
    s.on('close', () => {
      if (this.sock[conn] === s) this.lower.close(conn);
    });
  }

  /** RFC 6066 §3: the certificate for the name the client asked for. One closure per TlsStream, not per handshake. */
  private readonly sniCallback = (name: string, cb: (err: Error | null, ctx?: tls.SecureContext) => void): void => {
    const sv = this.server as TlsServerConfig;
    cb(null, (sv.sni?.get(name.toLowerCase()) ?? sv.certs).context);
  };

  private secured(conn: number, s: tls.TLSSocket): void {
    if (this.sock[conn] !== s) return; // released before the handshake finished
    this.handshakeDone(conn, s.isSessionReused());
  }

  protected release(conn: number): void {
    const s = this.sock[conn];
    const d = this.duplex[conn];
    this.sock[conn] = null;
    this.duplex[conn] = null;
    // The id may be reused at once: the old duplex must not write to or shut down its successor.
    d?.detach();
    s?.destroy();
  }
}
