/**
 * The byte-stream contract HTTP and TLS are written against: the callback API
 * of the user-space TCP layer (src/net/tcp/api.ts), so the same code runs on
 * TcpLayer, on kernel sockets (kernel_stream.ts) and on TLS (src/tls/).
 * Connections are small integers; callers keep per-connection state in arrays
 * indexed by them. Bytes passed to onData are valid only during the call.
 */
export interface StreamHandler {
  onConnected(conn: number): void;
  onData(conn: number, u8: Uint8Array, off: number, len: number): void;
  onWritable(conn: number): void;
  onPeerClosed(conn: number): void;
  onClosed(conn: number, reason: number): void;
}

/** Close reasons, named as in the TCP API. */
export const CloseReason = {
  NORMAL: 0,
  RESET: 1,
  TIMEOUT: 2,
  REFUSED: 3,
  ABORTED: 4,
  UNREACHABLE: 5,
} as const;

export interface StreamTransport {
  /** Returns a connection id, or a negative error. IPv4 addresses are u32 numbers. */
  connect(srcIp: number, dstIp: number, dstPort: number, handler: StreamHandler, srcPort?: number): number;
  /** Returns 0, or a negative error. */
  listen(ip: number, port: number, handler: StreamHandler, backlog?: number): number;
  /** Bytes accepted; fewer than `len` means wait for onWritable. */
  write(conn: number, u8: Uint8Array, off: number, len: number): number;
  sendSpace(conn: number): number;
  /** FIN after queued data. */
  shutdown(conn: number): void;
  close(conn: number): void;
  abort(conn: number): void;
}

/** "a.b.c.d" to a u32 (config-time helper). */
export function ipv4(s: string): number {
  const p = s.split('.');
  if (p.length !== 4) throw new RangeError(`not an IPv4 address: ${s}`);
  let v = 0;
  for (const x of p) {
    const n = Number(x);
    if (!/^\d{1,3}$/.test(x) || n > 255) throw new RangeError(`not an IPv4 address: ${s}`);
    v = v * 256 + n;
  }
  return v;
}

export function ipv4String(ip: number): string {
  return `${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}`;
}
