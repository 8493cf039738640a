/**
 * TLS as a StreamTransport on another StreamTransport, with the addon's
 * native OpenSSL engine (native_engine.ts) in place of Node's `tls`: one SSL
 * object per connection over memory BIOs, fed the lower connection's bytes
 * and pulled for the bytes to send, through two scratch buffers of this
 * object. Same configuration, ids, counters and close semantics as TlsStream
 * (tls_stream.ts): upper connections have the lower ids; half-close as Node's
 * TLS sockets over a half-open duplex; errors count a failure when the
 * handshake had not completed and abort the lower connection; a certificate
 * reload reaches new handshakes while live sessions keep their context.
 * Sessions resume across certificate reloads, as with TlsStream: ticket keys
 * belong to the certificate manager, and the context a reload builds shares
 * the session-ID cache of the one before it.
 * The bookkeeping both engines share is in stream_base.ts.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import tls from 'node:tls';
import type { StreamTransport } from '../net/tcp/stream.js';
import { ipToString } from '../wire/ipv4_addr.js';
import { policyOptions, type CertManager, type TlsPolicy } from './cert_manager.js';
import {
  alpnWire, newTlsConn, newTlsContext, versionNumber, TLS_EVENTS, TLS_HANDSHAKE_DONE, TLS_PEER_CLOSED,
  type NativeTlsConn, type NativeTlsConnOptions, type NativeTlsContext, type NativeTlsContextOptions,
} from './native_engine.js';
import { TLS_SEND_BUFFER, TlsStreamBase, type TlsStreamOptions } from './stream_base.js';
import type { TlsClientConfig, TlsServerConfig } from './tls_stream.js';

/** Scratch sizes: a full TLS record of plaintext, several of ciphertext. */
const PLAIN_SCRATCH = 16 * 1024;
const CIPHER_SCRATCH = 64 * 1024;
/** OpenSSL's ticket key block: name, HMAC key, AES key. */
const TICKET_KEY_BYTES = 80;

/** fin[] bits. */
const FIN_WANTED = 1; // upper asked for shutdown/close: close_notify queued
const FIN_SENT = 2; // lower.shutdown() called once the ciphertext went out
const FIN_PEER = 4; // onPeerClosed delivered
const FIN_CLOSED = 8; // lower.close() called

/** Ticket keys per certificate manager (per worker): tickets survive reloads, as with TlsStream. */
const ticketKeys = new WeakMap<CertManager, Uint8Array>();

/** The policy as the engine takes it; unset versions and ciphers are Node's defaults, so both engines offer the same. */
function policyOf(p: TlsPolicy): Pick<NativeTlsContextOptions, 'minVersion' | 'maxVersion' | 'ciphers' | 'groups'> {
  const n = policyOptions(p);
  const o: Pick<NativeTlsContextOptions, 'minVersion' | 'maxVersion' | 'ciphers' | 'groups'> = {
    minVersion: versionNumber(n.minVersion ?? tls.DEFAULT_MIN_VERSION),
    maxVersion: versionNumber(n.maxVersion ?? tls.DEFAULT_MAX_VERSION),
    ciphers: n.ciphers ?? tls.DEFAULT_CIPHERS,
  };
  if (n.ecdhCurve !== undefined) o.groups = n.ecdhCurve;
  return o;
}

function pem(v: string | Buffer | undefined): string | undefined {
  return v === undefined ? undefined : v.toString();
}

export class NativeTlsStream extends TlsStreamBase {
  private readonly clientCtx: NativeTlsContext | null;
  /** The server context and the CertManager contexts it was built from (base first, then SNI in map order). */
  private serverCtx: NativeTlsContext | null = null;
  private serverSrc: tls.SecureContext[] = [];
  /** The last context built per CertManager: the next one (after its reload) shares its session-ID cache. */
  private readonly lastContext = new Map<CertManager, NativeTlsContext>();
  private readonly conns: (NativeTlsConn | null)[] = [];
  private readonly fin: number[] = [];
  /** Ciphertext the lower transport did not take (copied only then). */
  private readonly unsent: (Buffer | null)[] = [];
  private readonly plain = new Uint8Array(PLAIN_SCRATCH);
  private readonly cipher = new Uint8Array(CIPHER_SCRATCH);

  /** Throws (as TlsStream does) when the configuration cannot be loaded, or the addon lacks the engine. */
  constructor(lower: StreamTransport, opts: TlsStreamOptions) {
    super(lower, opts);
    const c = this.client;
    if (c !== null) {
      const o: NativeTlsContextOptions = { server: false, ...policyOf(c), verify: c.verify, keylog: this.keylog !== null, resume: c.resume };
      // Without a bundle, Node's roots (what TlsStream verifies against).
      const ca = pem(c.ca) ?? (c.verify ? tls.rootCertificates.join('\n') : undefined);
      if (ca !== undefined) o.ca = ca;
      if (c.cert !== undefined) o.cert = pem(c.cert);
      if (c.key !== undefined) o.key = pem(c.key);
      if (c.alpn) o.alpn = alpnWire(c.alpn);
      this.clientCtx = newTlsContext(o);
    } else {
      this.clientCtx = null;
    }
    if (this.server !== null) this.serverContext();
  }

  write(conn: number, u8: Uint8Array, off: number, len: number): number {
    const c = this.conns[conn];
    if (!c || (this.fin[conn] & FIN_WANTED) !== 0) return -1;
    if (this.secure[conn] === 0) {
      this.blocked[conn] = 1;
      return 0;
    }
    // Encrypt while the queue has room; it fills only when the lower transport
    // refused bytes, so that a shortfall here always gets its onWritable.
    let done = 0;
    while (done < len) {
      const n = Math.min(len - done, TLS_SEND_BUFFER - this.queued(conn, c));
      if (n <= 0) break;
      const r = c.write(u8, off + done, n);
      if (r < 0) {
        this.fail(conn, c);
        return -1;
      }
      done += r;
      this.flush(conn, c, false);
      if (this.conns[conn] !== c) return done;
    }
    if (done < len) this.blocked[conn] = 1;
    return done;
  }

  sendSpace(conn: number): number {
    const c = this.conns[conn];
    if (!c || this.secure[conn] === 0 || (this.fin[conn] & FIN_WANTED) !== 0) return 0;
    return Math.max(0, TLS_SEND_BUFFER - this.queued(conn, c));
  }

  shutdown(conn: number): void {
    this.end(conn);
  }

  close(conn: number): void {
    this.end(conn);
  }

  abort(conn: number): void {
    const c = this.conns[conn];
    if (c) {
      // The SSL goes now; the upper handler still gets onClosed from the lower one.
      this.conns[conn] = null;
      c.close();
    }
    this.lower.abort(conn);
  }

  protected lowerData(conn: number, u8: Uint8Array, off: number, len: number): void {
    const c = this.conns[conn];
    if (!c) return;
    if (c.feed(u8, off, len) === len) this.pump(conn, c);
    else this.fail(conn, c, 'TLS input not taken');
  }

  protected lowerWritable(conn: number): void {
    const c = this.conns[conn];
    if (c) this.flush(conn, c, true);
  }

  protected start(conn: number, isServer: boolean): void {
    this.fin[conn] = 0;
    this.unsent[conn] = null;
    let c: NativeTlsConn;
    try {
      c = isServer ? newTlsConn(this.serverContext(), {}) : newTlsConn(this.clientCtx as NativeTlsContext, this.clientOptions(conn));
    } catch (e) {
      this.countError(conn, (e as Error).message);
      this.lower.abort(conn);
      return;
    }
    this.conns[conn] = c;
    // The client speaks first: the ClientHello goes out now.
    if (!isServer) this.pump(conn, c);
  }

  private clientOptions(conn: number): NativeTlsConnOptions {
    const cl = this.client as TlsClientConfig;
    const o: NativeTlsConnOptions = {};
    if (cl.servername) o.servername = cl.servername;
    // The name checked: the SNI name, else the address connected to.
    if (cl.verify) {
      if (cl.servername) o.verifyHost = cl.servername;
      else o.verifyIp = ipToString(this.dstIp[conn]);
    }
    // The sessions stay in the context as OpenSSL's objects (native/tls_engine.cc).
    if (cl.resume) o.sessionKey = this.sessionKey[conn];
    return o;
  }

  /**
   * The context for new server handshakes: rebuilt when a CertManager
   * reloaded (its context changed) or the SNI map changed. Connections
   * keep the context they started with.
   */
  private serverContext(): NativeTlsContext {
    const sv = this.server as TlsServerConfig;
    let fresh = this.serverCtx !== null && this.serverSrc[0] === sv.certs.context && this.serverSrc.length === 1 + (sv.sni?.size ?? 0);
    if (fresh && sv.sni) {
      let i = 1;
      for (const m of sv.sni.values()) if (this.serverSrc[i++] !== m.context) fresh = false;
    }
    if (fresh) return this.serverCtx as NativeTlsContext;
    const src = [sv.certs.context];
    if (sv.sni) for (const m of sv.sni.values()) src.push(m.context);
    this.serverSrc = src;
    try {
      const base = this.contextFor(sv.certs);
      if (sv.sni) for (const [name, m] of sv.sni) base.addSni(name, this.contextFor(m));
      this.serverCtx = base;
    } catch (e) {
      // As CertManager does: keep serving the last good context (none at start: the error stands).
      if (this.serverCtx === null) throw e;
      this.stats.lastError = `certificate reload: ${(e as Error).message}`;
    }
    return this.serverCtx;
  }

  private contextFor(m: CertManager): NativeTlsContext {
    const sv = this.server as TlsServerConfig;
    const { files, policy } = m;
    let keys = ticketKeys.get(m);
    if (keys === undefined) {
      keys = randomBytes(TICKET_KEY_BYTES);
      ticketKeys.set(m, keys);
    }
    const o: NativeTlsContextOptions = {
      server: true, ...policyOf(policy),
      cert: fs.readFileSync(files.cert, 'latin1'),
      key: fs.readFileSync(files.key, 'latin1'),
      verify: sv.requestCert,
      verifyRequired: sv.verifyClient,
      sessionCache: sv.sessionCache,
      ticketKeys: keys,
      keylog: this.keylog !== null,
    };
    if (files.passphrase !== undefined) o.passphrase = files.passphrase;
    if (files.ca) o.ca = fs.readFileSync(files.ca, 'latin1');
    if (sv.alpn) o.alpn = alpnWire(sv.alpn);
    const prev = this.lastContext.get(m);
    if (prev !== undefined) o.sessionsFrom = prev;
    const ctx = newTlsContext(o);
    this.lastContext.set(m, ctx);
    return ctx;
  }

  /** Runs the SSL over what was fed: handshake steps, plaintext up, then ciphertext out. */
  private pump(conn: number, c: NativeTlsConn): void {
    const buf = this.plain;
    for (;;) {
      const r = c.read(buf, 0, buf.length);
      if (r > 0) {
        this.upper[conn]?.onData(conn, buf, 0, r);
        if (this.conns[conn] !== c) return; // closed or aborted from the handler
      } else if (r === 0) {
        break;
      } else if (r === TLS_EVENTS) {
        this.takeEvents(c);
      } else if (r === TLS_HANDSHAKE_DONE) {
        this.handshakeDone(conn, c.reused());
        if (this.conns[conn] !== c) return;
      } else if (r === TLS_PEER_CLOSED) {
        this.flush(conn, c, false);
        if (this.conns[conn] === c) this.peerClosed(conn);
        return;
      } else {
        this.fail(conn, c);
        return;
      }
    }
    this.flush(conn, c, true);
  }

  private takeEvents(c: NativeTlsConn): void {
    const e = c.events();
    if (e.keylog !== undefined && this.keylog !== null) {
      // One write per line, as Node's 'keylog' event gives them.
      for (const line of e.keylog.split('\n')) if (line !== '') this.keylog.write(Buffer.from(line + '\n', 'latin1'));
    }
    this.stats.sessionsStored += e.sessionsNew + e.sessionsAdded;
  }

  /**
   * Moves ciphertext to the lower transport; what it does not take is kept for its onWritable.
   * `wake`: a blocked writer may be told to go on (never from inside its own write()).
   */
  private flush(conn: number, c: NativeTlsConn, wake: boolean): void {
    const u = this.unsent[conn];
    if (u !== null) {
      const w = this.lower.write(conn, u, 0, u.length);
      if (w < 0) return;
      if (w < u.length) {
        this.unsent[conn] = u.subarray(w);
        return;
      }
      this.unsent[conn] = null;
    }
    const out = this.cipher;
    for (;;) {
      const k = c.pull(out, 0, out.length);
      if (k <= 0) break;
      const w = this.lower.write(conn, out, 0, k);
      if (w < 0) return;
      if (w < k) {
        this.unsent[conn] = Buffer.copyBytesFrom(out, w, k - w);
        return;
      }
    }
    // All sent: a pending close_notify is out, and a blocked writer may go on.
    const f = this.fin[conn];
    if ((f & (FIN_WANTED | FIN_SENT)) === FIN_WANTED) {
      this.fin[conn] = f | FIN_SENT;
      this.lower.shutdown(conn);
      this.maybeClose(conn);
    } else if (wake && this.blocked[conn] === 1 && this.secure[conn] === 1 && (f & FIN_WANTED) === 0) {
      this.blocked[conn] = 0;
      this.upper[conn]?.onWritable(conn);
    }
  }

  private queued(conn: number, c: NativeTlsConn): number {
    const u = this.unsent[conn];
    return c.pending() + (u === null ? 0 : u.length);
  }

  /** shutdown()/close(): close_notify (RFC 8446 §6.1), then FIN once it is out. */
  private end(conn: number): void {
    const c = this.conns[conn];
    if (!c || (this.fin[conn] & FIN_WANTED) !== 0) return;
    this.fin[conn] |= FIN_WANTED;
    c.shutdown();
    this.flush(conn, c, false);
  }

  /** The peer's close_notify, or its FIN after the handshake (Node's TLS takes both as the end). */
  private peerClosed(conn: number): void {
    if ((this.fin[conn] & FIN_PEER) !== 0) return;
    this.fin[conn] |= FIN_PEER;
    this.upper[conn]?.onPeerClosed(conn);
    this.maybeClose(conn);
  }

  /** Both directions ended: the lower connection is released (TlsStream does so on the socket's 'close'). */
  private maybeClose(conn: number): void {
    const f = this.fin[conn];
    if ((f & (FIN_SENT | FIN_PEER)) === (FIN_SENT | FIN_PEER) && (f & FIN_CLOSED) === 0 && this.conns[conn]) {
      this.fin[conn] = f | FIN_CLOSED;
      this.lower.close(conn);
    }
  }

  protected lowerPeerClosed(conn: number): void {
    if (this.conns[conn]) this.peerClosed(conn);
  }

  /** A fatal TLS error: the alert goes out, then the lower connection is aborted. */
  private fail(conn: number, c: NativeTlsConn, reason?: string): void {
    this.countError(conn, reason ?? c.lastError());
    this.flush(conn, c, false);
    if (this.conns[conn] !== c) return;
    this.conns[conn] = null;
    c.close();
    this.lower.abort(conn);
  }

  protected release(conn: number): void {
    const c = this.conns[conn];
    this.conns[conn] = null;
    this.unsent[conn] = null;
    // The id may be reused at once: nothing of this connection may touch its successor.
    c?.close();
  }
}
