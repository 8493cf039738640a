/**
 * The native TLS engine of the addon (native/tls_engine.cc): OpenSSL contexts
 * and per-connection SSL objects over memory BIOs, from Node's own OpenSSL.
 * Data-path calls take a Uint8Array range and return one number, a byte
 * count or one of the codes below; the by-products of a handshake (key log
 * lines, sessions, negotiated parameters) come through separate calls.
 */
import tls from 'node:tls';
import { loadNative, nativeLoadError } from '../port/native.js';

/** Fatal TLS error: the reason is `conn.lastError()`. */
export const TLS_ERROR = -1;
/** The peer sent close_notify. */
export const TLS_PEER_CLOSED = -2;
/** The handshake has just completed (reported once). */
export const TLS_HANDSHAKE_DONE = -3;
/** Key log lines or sessions wait in `conn.events()`. */
export const TLS_EVENTS = -4;
/** A buffer range outside its array, or not a Uint8Array. */
export const TLS_BAD_ARGS = -5;
/** The connection was closed (its SSL freed). */
export const TLS_CLOSED = -6;

export interface NativeTlsContextOptions {
  server: boolean;
  /** TLS1_2_VERSION (0x0303) or TLS1_3_VERSION (0x0304)... */
  minVersion?: number;
  maxVersion?: number;
  /** OpenSSL cipher string; TLS 1.3 suite names (TLS_*) in it set the 1.3 suites. */
  ciphers?: string;
  groups?: string;
  /** PEM: own certificate (and chain), key, CA bundle for the peer. */
  cert?: string;
  key?: string;
  passphrase?: string;
  ca?: string;
  /** Client: verify the server. Server: ask for a client certificate. */
  verify?: boolean;
  /** Server: reject a handshake without a valid client certificate. */
  verifyRequired?: boolean;
  /** ALPN names in wire format (length-prefixed). */
  alpn?: Uint8Array;
  /** Server: session-ID cache entries (0: tickets only). */
  sessionCache?: number;
  /** Client: keep the sessions received, by server key (`sessionKey`), to resume; off, the client keeps none. */
  resume?: boolean;
  /** Server: ticket keys, 80 bytes (name, HMAC and AES keys). */
  ticketKeys?: Uint8Array;
  /** Collect key log lines (NSS format) into `conn.events()`. */
  keylog?: boolean;
  /** Server: an earlier context (before a certificate reload) whose session-ID cache this one shares. */
  sessionsFrom?: NativeTlsContext;
}

export interface NativeTlsContext {
  /** Server: the context for an SNI host name; only before the first connection. */
  addSni(name: string, ctx: NativeTlsContext): void;
}

export interface NativeTlsConnOptions {
  /** Client: SNI host name. */
  servername?: string;
  /** Client: the name (or IP) the server's certificate must carry when verifying. */
  verifyHost?: string;
  verifyIp?: string;
  /**
   * Client, with a context that resumes: the server's key in the context's
   * session store; its newest session is offered, and those this connection
   * receives are stored under it.
   */
  sessionKey?: string;
}

export interface NativeTlsEvents {
  keylog?: string;
  /** Client: sessions received (and stored, with a context that resumes). */
  sessionsNew: number;
  /** Server: sessions put in the session cache. */
  sessionsAdded: number;
}

export interface NativeTlsInfo {
  handshakeDone?: boolean;
  version?: string;
  cipher?: string;
  alpn?: string;
  servername?: string;
  reused?: boolean;
  peerSubject?: string;
}

export interface NativeTlsConn {
  feed(u8: Uint8Array, off: number, len: number): number;
  read(u8: Uint8Array, off: number, len: number): number;
  write(u8: Uint8Array, off: number, len: number): number;
  pull(u8: Uint8Array, off: number, len: number): number;
  pending(): number;
  shutdown(): number;
  close(): void;
  events(): NativeTlsEvents;
  info(): NativeTlsInfo;
  /** The handshake resumed a session (cheaper than info()). */
  reused(): boolean;
  lastError(): string;
}

interface TlsAddon {
  TlsContext: new (o: NativeTlsContextOptions) => NativeTlsContext;
  TlsConn: new (ctx: NativeTlsContext, o: NativeTlsConnOptions) => NativeTlsConn;
  opensslVersion: string;
}

/** The engine, or null when the addon is missing or was built without it (see nativeTlsError()). */
export function loadNativeTls(): TlsAddon | null {
  const a = loadNative() as unknown as Partial<TlsAddon> | null;
  return a !== null && typeof a.TlsContext === 'function' ? (a as TlsAddon) : null;
}

export function nativeTlsError(): string {
  if (loadNativeTls() !== null) return '';
  return nativeLoadError() || 'the native addon was built without the TLS engine (native/tls_engine.cc)';
}

function requireTls(): TlsAddon {
  const a = loadNativeTls();
  if (a === null) throw new Error(nativeTlsError());
  return a;
}

export function newTlsContext(o: NativeTlsContextOptions): NativeTlsContext {
  return new (requireTls().TlsContext)(o);
}

export function newTlsConn(ctx: NativeTlsContext, o: NativeTlsConnOptions): NativeTlsConn {
  return new (requireTls().TlsConn)(ctx, o);
}

const VERSIONS: Record<tls.SecureVersion, number> = { TLSv1: 0x0301, 'TLSv1.1': 0x0302, 'TLSv1.2': 0x0303, 'TLSv1.3': 0x0304 };

/** OpenSSL's protocol version number for Node's name. */
export function versionNumber(v: tls.SecureVersion): number {
  const n = VERSIONS[v];
  if (n === undefined) throw new TypeError(`unknown TLS version ${String(v)}`);
  return n;
}

/** RFC 7301 §3.1 protocol name list: each name with its length byte. */
export function alpnWire(names: string[]): Uint8Array {
  const parts = names.map((n) => Buffer.from(n, 'latin1'));
  for (const p of parts) if (p.length === 0 || p.length > 255) throw new TypeError('ALPN names are 1 to 255 bytes');
  const out = new Uint8Array(parts.reduce((s, p) => s + 1 + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out[o++] = p.length;
    out.set(p, o);
    o += p.length;
  }
  return out;
}
