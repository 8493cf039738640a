/**
 * The small TCP services of `--listen tcp:PORT:HANDLER` beside the sink
 * (discard, RFC 863, is TcpSink): echo (RFC 862) sends back what arrives,
 * chargen (RFC 864) sends the rotating 72-character lines until the peer
 * closes and throws away what it receives.
 */
import type { StreamHandler, StreamTransport } from '../net/tcp/stream.js';
import { BulkStats } from './tcp_bulk.js';

/** Echo: every byte back, in order. Bytes the send buffer refused wait for onWritable (a copy, only under back-pressure). */
export class TcpEcho implements StreamHandler {
  readonly stats = new BulkStats();
  private readonly backlog: (Uint8Array[] | undefined)[] = [];

  constructor(private readonly t: StreamTransport) {}

  onConnected(): void {
    this.stats.accepted++;
  }

  onData(conn: number, u8: Uint8Array, off: number, len: number): void {
    this.stats.bytesIn += len;
    const q = this.backlog[conn];
    if (q !== undefined && q.length > 0) {
      q.push(u8.slice(off, off + len));
      return;
    }
    const n = this.write(conn, u8, off, len);
    if (n < len) (this.backlog[conn] ??= []).push(u8.slice(off + n, off + len));
  }

  onWritable(conn: number): void {
    const q = this.backlog[conn];
    while (q !== undefined && q.length > 0) {
      const b = q[0];
      const n = this.write(conn, b, 0, b.length);
      if (n < b.length) {
        q[0] = b.subarray(n);
        return;
      }
      q.shift();
    }
  }

  /** RFC 862: the connection ends when the user closes it; we close once what came is echoed. */
  onPeerClosed(conn: number): void {
    this.t.close(conn);
  }

  onClosed(conn: number): void {
    this.backlog[conn] = undefined;
    this.stats.closed++;
  }

  private write(conn: number, u8: Uint8Array, off: number, len: number): number {
    const n = this.t.write(conn, u8, off, len);
    if (n > 0) this.stats.bytesOut += n;
    return n < 0 ? len : n;
  }
}

/**
 * RFC 864: the 95 printing characters (32..126) in a ring, 72 per line, each
 * line starting one character further, then CR LF; the first line starts at
 * "!" as in the RFC's example.
 */
const LINE = 72;
const PRINTABLE = 95;
const PERIOD = PRINTABLE * (LINE + 2);
const CHUNK = 64 * 1024;

/** The chargen stream's first PERIOD + CHUNK bytes: any offset has a contiguous run of CHUNK. */
export function chargenPattern(bytes = PERIOD + CHUNK): Uint8Array {
  const out = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) {
    const line = Math.floor((i % PERIOD) / (LINE + 2));
    const col = (i % PERIOD) % (LINE + 2);
    out[i] = col === LINE ? 13 : col === LINE + 1 ? 10 : 32 + ((line + col + 1) % PRINTABLE);
  }
  return out;
}

export class TcpChargen implements StreamHandler {
  readonly stats = new BulkStats();
  private readonly sent: number[] = [];
  private readonly src = chargenPattern();

  constructor(private readonly t: StreamTransport) {}

  onConnected(conn: number): void {
    this.stats.accepted++;
    this.sent[conn] = 0;
    this.pump(conn);
  }

  /** RFC 864: data received is thrown away. */
  onData(_conn: number, _u8: Uint8Array, _off: number, len: number): void {
    this.stats.bytesIn += len;
  }

  onWritable(conn: number): void {
    this.pump(conn);
  }

  /** RFC 864: the service sends until the calling user closes. */
  onPeerClosed(conn: number): void {
    this.t.close(conn);
  }

  onClosed(conn: number): void {
    this.sent[conn] = -1;
    this.stats.closed++;
  }

  private pump(conn: number): void {
    while (this.sent[conn] >= 0) {
      const n = this.t.write(conn, this.src, this.sent[conn] % PERIOD, CHUNK);
      if (n <= 0) return;
      this.sent[conn] += n;
      this.stats.bytesOut += n;
    }
  }
}
