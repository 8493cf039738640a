/**
 * The application-facing connection API. Connections are TCB ids (numbers);
 * applications keep their own per-connection state in arrays indexed by id.
 * Callbacks run synchronously on the worker's packet path and must not block.
 */
export interface TcpHandler {
  /** ESTABLISHED: the client's handshake completed, or the server accepted a connection. */
  onConnected(conn: number): void;
  /** In-order bytes; `u8[off, off+len)` is valid only during the call. */
  onData(conn: number, u8: Uint8Array, off: number, len: number): void;
  /** Send space became available after write() accepted less than asked. */
  onWritable(conn: number): void;
  /** The peer's FIN arrived; we may still write. */
  onPeerClosed(conn: number): void;
  /** The connection is gone; `reason` is a CloseReason. The id may be reused afterwards. */
  onClosed(conn: number, reason: number): void;
  /** A wire-level round trip of `conn` in µs (wire_rtt.ts): its SYN's, or a data segment's to the ACK covering it. */
  onWireRtt?(conn: number, us: number): void;
}

export const CloseReason = {
  NORMAL: 0,
  RESET: 1,
  TIMEOUT: 2,
  REFUSED: 3,
  ABORTED: 4,
  UNREACHABLE: 5,
} as const;

import type { EcnMode } from './ecn.js';
/** What an active open may set per connection beside its addresses. */
export interface ConnectOptions {
  /** The IPv4 TOS byte of every segment (DSCP << 2; RFC 2474). */
  tos: number;
  /** Congestion controller (CC_* of reno.ts), or -1 for the layer's default (TcpOptions.cc). */
  cc: number;
}

/** No marking, the layer's controller. */
export const DEFAULT_CONNECT: Readonly<ConnectOptions> = { tos: 0, cc: -1 };

/** Negative results of connect()/listen(). */
export const TcpError = {
  NO_TCB: -1,
  NO_PORT: -2,
  ADDR_IN_USE: -3,
  NOT_LOCAL: -4,
  INVALID: -5,
  /** No route to the destination. */
  NO_ROUTE: -6,
  /** The destination's next hop did not answer ARP (RFC 1122 §2.3.2.2). */
  UNREACHABLE: -7,
} as const;

export interface TcpOptions {
  /** TCBs per worker (connections in any state, TIME_WAIT included). */
  maxConns: number;
  /** Shared buffer space for send queues and out-of-order data, in bytes: taken from the packet pool's slots as needed. */
  bufferBytes?: number;
  /** MSS we advertise and the ceiling of the one we use. */
  mss?: number;
  /** Receive window a connection first advertises (bytes, default 256 KB). */
  rcvBuf?: number;
  /** ECN (RFC 3168): off, passive (agree when asked; the default, as Linux) or on (ask too). */
  ecn?: EcnMode;
  /** Autotuning's ceiling (default 4 MB with window scaling; rcvBuf: no autotuning); the scale is derived from it. */
  rcvBufMax?: number;
  /** Send bytes queued per connection before write() pushes back. */
  sndBuf?: number;
  timestamps?: boolean;
  sack?: boolean;
  windowScale?: boolean;
  /** RFC 6298 bounds in µs (RFC says min 1 s; Linux uses 200 ms). */
  rtoMinUs?: number;
  rtoMaxUs?: number;
  rtoInitialUs?: number;
  /** RTO expiries before an established connection is aborted (Linux tcp_retries2 = 15). */
  retries?: number;
  /** SYN / SYN-ACK retransmissions before giving up (Linux tcp_syn_retries = 6). */
  synRetries?: number;
  delayedAckUs?: number;
  /** 2*MSL in µs (Linux: 60 s). */
  timeWaitUs?: number;
  /** Idle time before keepalive probes, 0 = off. */
  keepaliveUs?: number;
  keepaliveIntervalUs?: number;
  keepaliveProbes?: number;
  /** How long an orphaned FIN_WAIT_2 waits for the peer's FIN (Linux tcp_fin_timeout). */
  finWait2Us?: number;
  /** SYN_RECEIVED connections a listener holds by default. */
  backlog?: number;
  /** Fixed ISN key (tests); random by default. */
  isnKey?: Uint32Array;
  /** Fixed key of the per-connection timestamp offsets (tests); random per run by default. */
  tsKey?: Uint32Array;
  /** Fixed key of the source pool's start ports (tests); random per run by default. */
  portKey?: Uint32Array;
  /** Ephemeral source ports [lo, hi) of every owned address (default [10000, 60000)): a worker's share in a client load. */
  ephemeralPorts?: { lo: number; hi: number };
  /** Congestion controller of new connections (default cubic, as Linux); ConnectOptions.cc sets one connection's. */
  cc?: 'newreno' | 'cubic';
  /** Pace sending at ratio * cwnd / SRTT, as Linux's internal pacing (default on). */
  pacing?: boolean;
}
