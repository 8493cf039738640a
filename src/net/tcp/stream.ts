/**
 * The byte-stream contract HTTP and TLS are written against: the callback API
 * of the user-space TCP layer (src/net/tcp/api.ts), so the same code runs on
 * TcpLayer, on kernel sockets (kernel_stream.ts) and on TLS (src/tls/).
 * Connections are small integers; callers keep per-connection state in arrays
 * indexed by them. Bytes passed to onData are valid only during the call.
 */
import type { ConnectOptions, TcpHandler } from './api.js';
export type { ConnectOptions } from './api.js';
import type { WireClock } from '../../port/wire_stamps.js';

/** The callbacks of a connection: the TCP API's, so one handler serves every transport. */
export type StreamHandler = TcpHandler;
export { CloseReason } from './api.js';

/**
 * Close reasons a layer above TCP reports in onClosed in place of the TCP
 * one (ABORTED, as it aborted the lower connection): TLS's handshake timeout,
 * a certificate that did not verify, any other TLS error (an alert, a bad record).
 */
export const TlsCloseReason = {
  TLS_TIMEOUT: 16,
  TLS_VERIFY: 17,
  TLS_ERROR: 18,
} as const;

/**
 * Wire times a transport knows of its connections (the user-space TCP, see
 * wire_rtt.ts): µs on the stack clock, -1 when unknown.
 */
export interface WireTimes {
  /** Whether rxUs is the kernel's receive stamp ('kernel', 'kernel-rx') or the poll burst's time ('stack'), and the TX times the device's ('kernel'). */
  readonly clock: WireClock;
  /** When the frame being processed now was received (inside onData: the frame that carried the bytes). */
  rxUs(): number;
  /** When the first data segment `conn` sent since it last received data left. */
  runFirstTxUs(conn: number): number;
  /** When the last data segment `conn` sent since it last received data left. */
  runLastTxUs(conn: number): number;
}

export interface StreamTransport {
  /**
   * Returns a connection id, or a negative error. IPv4 addresses are u32
   * numbers; `opts`: the connection's TOS byte and congestion controller.
   */
  connect(srcIp: number, dstIp: number, dstPort: number, handler: StreamHandler, srcPort?: number, opts?: Readonly<ConnectOptions>): number;
  /** Returns 0, or a negative error. */
  listen(ip: number, port: number, handler: StreamHandler, backlog?: number): number;
  /** Bytes accepted; fewer than `len` means wait for onWritable. */
  write(conn: number, u8: Uint8Array, off: number, len: number): number;
  sendSpace(conn: number): number;
  /** FIN after queued data. */
  shutdown(conn: number): void;
  close(conn: number): void;
  abort(conn: number): void;
  /** An active open's SYN -> SYN-ACK time in µs (-1 when unknown), from onConnected on. */
  connectUs?(conn: number): number;
  /** The TLS handshake's time in µs (-1 when none), from onConnected on. */
  handshakeUs?(conn: number): number;
  /** Its wire times, when it has them (the user-space TCP). */
  readonly wire?: WireTimes;
  /** Why `conn` closed, in words, when this layer knows more than the reason code: valid during its onClosed. */
  closeDetail?(conn: number): string;
}
