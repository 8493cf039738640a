/**
 * A Node Duplex over one connection of a StreamTransport, so Node's `tls` can
 * run on the user-space TCP: bytes the TLS socket writes go to
 * transport.write (waiting for onWritable when it pushes back), bytes the
 * transport delivers are pushed as copies (onData bytes are valid only during
 * the call).
 */
import { Duplex } from 'node:stream';
import type { StreamTransport } from '../net/tcp/stream.js';

export class ConnDuplex extends Duplex {
  readonly conn: number;
  private readonly lower: StreamTransport;
  /** A write the transport has not fully accepted yet. */
  private pending: Buffer | null = null;
  private pendingOff = 0;
  private pendingCb: ((err?: Error | null) => void) | null = null;
  /** Set once the transport released the connection (its id may belong to another by now). */
  private detached = false;

  constructor(lower: StreamTransport, conn: number) {
    super({ allowHalfOpen: true });
    this.lower = lower;
    this.conn = conn;
  }

  /** From the transport's onData. */
  deliver(u8: Uint8Array, off: number, len: number): void {
    this.push(Buffer.copyBytesFrom(u8, off, len));
  }

  /** The transport connection is gone: later writes fail, and a late end sends nothing. */
  detach(): void {
    this.detached = true;
  }

  /** From the transport's onWritable: continue a write that was pushed back. */
  onTransportWritable(): void {
    if (this.pending !== null) this.flushPending();
  }

  override _read(): void {
    // The transport pushes as segments arrive; it has no pause.
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.pending = chunk;
    this.pendingOff = 0;
    this.pendingCb = cb;
    this.flushPending();
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (!this.detached) this.lower.shutdown(this.conn);
    cb();
  }

  private flushPending(): void {
    const b = this.pending as Buffer;
    const n = this.detached ? -1 : this.lower.write(this.conn, b, this.pendingOff, b.length - this.pendingOff);
    const cb = this.pendingCb as (err?: Error | null) => void;
    if (n < 0) {
      this.pending = null;
      this.pendingCb = null;
      cb(new Error('connection is closed'));
      return;
    }
    this.pendingOff += n;
    if (this.pendingOff < b.length) return;
    this.pending = null;
    this.pendingCb = null;
    cb();
  }
}
