/**
 * A StreamTransport decorator that gives connections ids of its own, handed
 * out round-robin so an id is not reused soon after its connection closed.
 * TlsStream releases the lower connection from the TLS socket's 'close'
 * event, which Node emits a tick after the connection is gone; by then the
 * TCP layer may have given the same id to a new connection, and that close
 * would end it. Between TLS and TCP, this layer turns such late calls into
 * no-ops on a dead id.
 */
import type { StreamHandler, StreamTransport } from '../app/http11/stream.js';

export class FreshIdTransport implements StreamTransport {
  /** Upper id -> lower id (-1 free), and back. */
  private readonly down: Int32Array;
  private readonly up: Int32Array;
  private readonly handlers: (StreamHandler | null)[];
  private next = 0;
  private readonly lowerHandler: StreamHandler;
  private listenHandler: StreamHandler | null = null;

  constructor(
    private readonly lower: StreamTransport,
    /** Lower ids are below this (the TCP layer's TCB count). */
    maxConns: number,
  ) {
    this.down = new Int32Array(2 * maxConns).fill(-1);
    this.up = new Int32Array(maxConns).fill(-1);
    this.handlers = new Array<StreamHandler | null>(2 * maxConns).fill(null);
    this.lowerHandler = {
      onConnected: (l) => {
        let u = this.up[l];
        if (u < 0) {
          // A passive open: the listener's handler takes it.
          u = this.bind(l, this.listenHandler);
          if (u < 0) {
            this.lower.abort(l);
            return;
          }
        }
        this.handlers[u]?.onConnected(u);
      },
      onData: (l, b, off, len) => {
        const u = this.up[l];
        if (u >= 0) this.handlers[u]?.onData(u, b, off, len);
      },
      onWritable: (l) => {
        const u = this.up[l];
        if (u >= 0) this.handlers[u]?.onWritable(u);
      },
      onPeerClosed: (l) => {
        const u = this.up[l];
        if (u >= 0) this.handlers[u]?.onPeerClosed(u);
      },
      onClosed: (l, reason) => {
        const u = this.up[l];
        if (u < 0) return;
        const h = this.handlers[u];
        this.up[l] = -1;
        this.down[u] = -1;
        this.handlers[u] = null;
        h?.onClosed(u, reason);
      },
    };
  }

  private lowerOf(conn: number): number {
    return conn >= 0 && conn < this.down.length ? this.down[conn] : -1;
  }

  /** A free upper id for lower id `l`, from where the last search ended; -1 if none. */
  private bind(l: number, h: StreamHandler | null): number {
    const n = this.down.length;
    for (let i = 0; i < n; i++) {
      const u = this.next;
      this.next = (u + 1) % n;
      if (this.down[u] < 0) {
        this.down[u] = l;
        this.up[l] = u;
        this.handlers[u] = h;
        return u;
      }
    }
    return -1;
  }

  connect(srcIp: number, dstIp: number, dstPort: number, handler: StreamHandler, srcPort?: number): number {
    const l = this.lower.connect(srcIp, dstIp, dstPort, this.lowerHandler, srcPort);
    if (l < 0) return l;
    const u = this.bind(l, handler);
    if (u < 0) this.lower.abort(l);
    return u;
  }

  listen(ip: number, port: number, handler: StreamHandler, backlog?: number): number {
    this.listenHandler = handler;
    return this.lower.listen(ip, port, this.lowerHandler, backlog);
  }

  write(conn: number, u8: Uint8Array, off: number, len: number): number {
    const l = this.lowerOf(conn);
    return l < 0 ? -1 : this.lower.write(l, u8, off, len);
  }

  sendSpace(conn: number): number {
    const l = this.lowerOf(conn);
    return l < 0 ? 0 : this.lower.sendSpace(l);
  }

  shutdown(conn: number): void {
    const l = this.lowerOf(conn);
    if (l >= 0) this.lower.shutdown(l);
  }

  close(conn: number): void {
    const l = this.lowerOf(conn);
    if (l >= 0) this.lower.close(l);
  }

  abort(conn: number): void {
    const l = this.lowerOf(conn);
    if (l >= 0) this.lower.abort(l);
  }
}
