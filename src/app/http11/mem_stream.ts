/**
 * An in-memory StreamTransport: both ends of every connection live in this
 * object, bytes move through per-direction buffers, and events are delivered
 * when `run()` is called, never re-entrantly from write(). It stands in for
 * a TCP connection where the thing under test is HTTP or TLS itself
 * (deterministic tests, and the parser/transaction cost in bench/http.ts).
 */
import { CloseReason, type StreamHandler, type StreamTransport } from '../../net/tcp/stream.js';

const BUF = 256 * 1024;

export class MemStream implements StreamTransport {
  private readonly handler: (StreamHandler | null)[] = [];
  /** Inbound bytes of each connection id: buf[id][rd..wr). */
  private readonly buf: Uint8Array[] = [];
  private readonly rd: number[] = [];
  private readonly wr: number[] = [];
  /** 1: peer sent FIN (delivered after the data); 2: onPeerClosed delivered. */
  private readonly fin: number[] = [];
  private readonly blocked: number[] = [];
  private readonly connecting: number[] = [];
  private readonly listeners = new Map<number, StreamHandler>();
  private readonly freePairs: number[] = [];
  private dirty: number[] = [];
  private pairs = 0;

  listen(_ip: number, port: number, handler: StreamHandler): number {
    this.listeners.set(port, handler);
    return 0;
  }

  /** Client ends have even ids, their server ends the next odd id. */
  connect(_srcIp: number, _dstIp: number, dstPort: number, handler: StreamHandler): number {
    const srv = this.listeners.get(dstPort);
    if (srv === undefined) return -1;
    const pair = this.freePairs.length > 0 ? (this.freePairs.pop() as number) : this.pairs++;
    const c = pair * 2;
    for (const [id, h] of [[c, handler], [c + 1, srv]] as const) {
      this.handler[id] = h;
      this.buf[id] ??= new Uint8Array(BUF);
      this.rd[id] = 0;
      this.wr[id] = 0;
      this.fin[id] = 0;
      this.blocked[id] = 0;
      this.connecting.push(id);
    }
    return c;
  }

  write(conn: number, u8: Uint8Array, off: number, len: number): number {
    const peer = conn ^ 1;
    if (this.handler[conn] === null || this.handler[peer] === null || this.fin[peer] !== 0) return -1;
    const b = this.buf[peer];
    let rd = this.rd[peer];
    let wr = this.wr[peer];
    if (rd === wr) {
      rd = wr = 0;
    } else if (wr + len > BUF && rd > 0) {
      b.copyWithin(0, rd, wr);
      wr -= rd;
      rd = 0;
    }
    const n = Math.min(len, BUF - wr);
    b.set(u8.subarray(off, off + n), wr);
    this.rd[peer] = rd;
    this.wr[peer] = wr + n;
    if (n < len) this.blocked[conn] = 1;
    if (n > 0) this.dirty.push(peer);
    return n;
  }

  sendSpace(conn: number): number {
    const peer = conn ^ 1;
    return this.handler[peer] ? BUF - (this.wr[peer] - this.rd[peer]) : 0;
  }

  shutdown(conn: number): void {
    const peer = conn ^ 1;
    if (this.handler[conn] && this.fin[peer] === 0) {
      this.fin[peer] = 1;
      this.dirty.push(peer);
    }
  }

  close(conn: number): void {
    this.shutdown(conn);
  }

  abort(conn: number): void {
    this.release(conn, CloseReason.ABORTED);
    this.release(conn ^ 1, CloseReason.RESET);
  }

  /** Delivers events until nothing is pending; returns how many were delivered. */
  run(maxRounds = 1_000_000): number {
    let events = 0;
    for (let round = 0; round < maxRounds; round++) {
      const conn = this.connecting;
      const d = this.dirty;
      if (conn.length === 0 && d.length === 0) break;
      if (conn.length > 0) {
        const ids = conn.splice(0);
        for (const id of ids) this.handler[id]?.onConnected(id);
        events += ids.length;
      }
      this.dirty = [];
      for (const id of d) {
        events++;
        const h = this.handler[id];
        if (!h) continue;
        const rd = this.rd[id];
        const wr = this.wr[id];
        if (wr > rd) {
          this.rd[id] = wr;
          h.onData(id, this.buf[id], rd, wr - rd);
          const writer = id ^ 1;
          if (this.blocked[writer] === 1 && this.handler[writer]) {
            this.blocked[writer] = 0;
            this.handler[writer]?.onWritable(writer);
          }
        }
        if (this.fin[id] === 1 && this.rd[id] === this.wr[id] && this.handler[id]) {
          this.fin[id] = 2;
          h.onPeerClosed(id);
          // Both directions finished: the connection is gone.
          if (this.fin[id ^ 1] === 2) {
            this.release(id, CloseReason.NORMAL);
            this.release(id ^ 1, CloseReason.NORMAL);
          }
        }
      }
    }
    return events;
  }

  private release(id: number, reason: number): void {
    const h = this.handler[id];
    if (!h) return;
    this.handler[id] = null;
    if (this.handler[id ^ 1] === null) this.freePairs.push(id >> 1);
    h.onClosed(id, reason);
  }
}
