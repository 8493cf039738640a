/**
 * Plain TCP server modes for bulk tests: a sink that reads and discards (and
 * optionally hashes what each connection sent), and a source that writes a
 * fixed number of pattern bytes to each connection and then closes it.
 */
import { createHash, type Hash } from 'node:crypto';
import type { StreamHandler, StreamTransport } from '../net/tcp/stream.js';
import { DEFAULT_PATTERN } from '../app/http11/server.js';

export class BulkStats {
  accepted = 0;
  closed = 0;
  bytesIn = 0;
  bytesOut = 0;
}

/** Reads everything; closes when the peer does. With `onDigest`, hashes each connection's bytes. */
export class TcpSink implements StreamHandler {
  readonly stats = new BulkStats();
  private readonly hashes: (Hash | null)[] = [];
  private readonly counts: number[] = [];

  constructor(
    private readonly t: StreamTransport,
    private readonly onDigest: ((bytes: number, sha256: string) => void) | null,
  ) {}

  onConnected(conn: number): void {
    this.stats.accepted++;
    this.counts[conn] = 0;
    this.hashes[conn] = this.onDigest !== null ? createHash('sha256') : null;
  }

  onData(conn: number, u8: Uint8Array, off: number, len: number): void {
    this.stats.bytesIn += len;
    this.counts[conn] += len;
    this.hashes[conn]?.update(u8.subarray(off, off + len));
  }

  onWritable(): void {}

  onPeerClosed(conn: number): void {
    const h = this.hashes[conn];
    if (h !== null && h !== undefined && this.onDigest !== null) this.onDigest(this.counts[conn], h.digest('hex'));
    this.hashes[conn] = null;
    this.t.close(conn);
  }

  onClosed(conn: number): void {
    this.hashes[conn] = null;
    this.stats.closed++;
  }
}

/** Bytes handed to one write. */
const CHUNK = 64 * 1024;

/** Sends `bytes` of the HTTP server's body pattern on each connection, then closes it. */
export class TcpSource implements StreamHandler {
  readonly stats = new BulkStats();
  private readonly left: number[] = [];
  private readonly sent: number[] = [];
  /** The pattern repeated past CHUNK by one period, so any offset has a contiguous run. */
  private readonly src: Uint8Array;

  constructor(
    private readonly t: StreamTransport,
    private readonly bytes: number,
  ) {
    const p = DEFAULT_PATTERN;
    this.src = new Uint8Array(CHUNK + p.length);
    for (let i = 0; i < this.src.length; i++) this.src[i] = p[i % p.length];
  }

  onConnected(conn: number): void {
    this.stats.accepted++;
    this.left[conn] = this.bytes;
    this.sent[conn] = 0;
    this.pump(conn);
  }

  onData(_conn: number, _u8: Uint8Array, _off: number, len: number): void {
    this.stats.bytesIn += len;
  }

  onWritable(conn: number): void {
    this.pump(conn);
  }

  /** The peer's half-close does not stop our sending. */
  onPeerClosed(): void {}

  onClosed(conn: number): void {
    this.left[conn] = 0;
    this.stats.closed++;
  }

  private pump(conn: number): void {
    const plen = DEFAULT_PATTERN.length;
    while (this.left[conn] > 0) {
      const n = this.t.write(conn, this.src, this.sent[conn] % plen, Math.min(this.left[conn], CHUNK));
      if (n <= 0) return;
      this.left[conn] -= n;
      this.sent[conn] += n;
      this.stats.bytesOut += n;
    }
    this.t.close(conn);
  }
}
