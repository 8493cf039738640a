/**
 * Request-rate pacing as a StreamTransport decorator: a token bucket refilled
 * by the poll loop's tick. A request starts with a write at offset 0 of its
 * bytes (how Http1Client writes); without a token that write is refused (0
 * bytes, i.e. back-pressure) and the connection is woken with onWritable when
 * a token is due. Continuations of a request that already started pass freely.
 * With one request per connection this paces connections too.
 */
import type { ConnectOptions, StreamHandler, StreamTransport, WireTimes } from '../net/tcp/stream.js';

/** Tokens held at most: bursts of 10 ms at the configured rate (at least one). */
const BURST_S = 0.01;

export class PacedTransport implements StreamTransport {
  private tokens = 1;
  private lastUs = -1;
  private burst: number;
  private readonly handlers: (StreamHandler | null)[] = [];
  /** Connections refused for want of a token, in order (a ring of ids). */
  private readonly waiting: Int32Array;
  private readonly queued: Uint8Array;
  private wHead = 0;
  private wCount = 0;

  constructor(
    private readonly lower: StreamTransport,
    /** Requests per second, > 0 (setRate may lower it to 0). */
    private rate: number,
    maxConns: number,
  ) {
    if (!(rate > 0)) throw new RangeError(`rate must be > 0, got ${rate}`);
    this.burst = Math.max(1, rate * BURST_S);
    this.waiting = new Int32Array(maxConns);
    this.queued = new Uint8Array(maxConns);
  }

  /** A new rate from the next tick on (stages scale it); 0 holds every request. */
  setRate(rate: number): void {
    this.rate = rate;
    this.burst = Math.max(1, rate * BURST_S);
  }

  /** Adds the tokens earned since the last tick and wakes waiting connections. */
  tick(nowUs: number): void {
    if (this.lastUs >= 0) this.tokens = Math.min(this.burst, this.tokens + ((nowUs - this.lastUs) * this.rate) / 1e6);
    this.lastUs = nowUs;
    const cap = this.waiting.length;
    while (this.wCount > 0 && this.tokens >= 1) {
      const c = this.waiting[this.wHead];
      this.wHead = (this.wHead + 1) % cap;
      this.wCount--;
      this.queued[c] = 0;
      // A connection that closed meanwhile takes no token; the next one gets it.
      this.handlers[c]?.onWritable(c);
    }
  }

  connect(srcIp: number, dstIp: number, dstPort: number, handler: StreamHandler, srcPort?: number, opts?: Readonly<ConnectOptions>): number {
    const id = this.lower.connect(srcIp, dstIp, dstPort, handler, srcPort, opts);
    if (id >= 0) {
      if (id >= this.queued.length) {
        this.lower.abort(id);
        return -1;
      }
      this.handlers[id] = handler;
    }
    return id;
  }

  listen(ip: number, port: number, handler: StreamHandler, backlog?: number): number {
    return this.lower.listen(ip, port, handler, backlog);
  }

  write(conn: number, u8: Uint8Array, off: number, len: number): number {
    if (off !== 0) return this.lower.write(conn, u8, off, len);
    if (this.tokens < 1) {
      if (this.queued[conn] === 0 && this.wCount < this.waiting.length) {
        this.queued[conn] = 1;
        this.waiting[(this.wHead + this.wCount) % this.waiting.length] = conn;
        this.wCount++;
      }
      return 0;
    }
    const n = this.lower.write(conn, u8, off, len);
    if (n > 0) this.tokens--;
    return n;
  }

  sendSpace(conn: number): number {
    return this.lower.sendSpace(conn);
  }

  get wire(): WireTimes | undefined {
    return this.lower.wire;
  }

  shutdown(conn: number): void {
    this.lower.shutdown(conn);
  }

  close(conn: number): void {
    this.lower.close(conn);
  }

  abort(conn: number): void {
    this.lower.abort(conn);
  }

  /** The phases the layers below timed (a paced load times them as an unpaced one). */
  connectUs(conn: number): number {
    return this.lower.connectUs?.(conn) ?? -1;
  }

  handshakeUs(conn: number): number {
    return this.lower.handshakeUs?.(conn) ?? -1;
  }

  closeDetail(conn: number): string {
    return this.lower.closeDetail?.(conn) ?? '';
  }
}
