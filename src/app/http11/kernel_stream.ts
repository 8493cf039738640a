/**
 * StreamTransport over Node's `net` sockets (the kernel's TCP): a real
 * transport for testing HTTP and TLS against real peers until the user-space
 * TCP runs, and a baseline to compare it with. Not a data-plane path: it
 * copies each write, as the kernel socket API needs its own buffer.
 */
import net from 'node:net';
import { CloseReason, type StreamHandler, type StreamTransport } from '../../net/tcp/stream.js';
import { ipToString } from '../../wire/ipv4_addr.js';

/** Bytes a connection may queue in user space before write() pushes back. */
const SEND_BUFFER = 256 * 1024;

export class KernelStream implements StreamTransport {
  private readonly socks: (net.Socket | null)[] = [];
  private readonly freeIds: number[] = [];
  private readonly servers: net.Server[] = [];
  /** 1 while a connection owes its handler an onWritable. */
  private readonly blocked: number[] = [];
  private readonly handlers: (StreamHandler | null)[] = [];

  connect(srcIp: number, dstIp: number, dstPort: number, handler: StreamHandler, srcPort = 0): number {
    const opts: net.NetConnectOpts = { host: ipToString(dstIp), port: dstPort, allowHalfOpen: true, noDelay: true };
    if (srcIp !== 0) opts.localAddress = ipToString(srcIp);
    if (srcPort !== 0) opts.localPort = srcPort;
    const sock = net.connect(opts);
    const id = this.adopt(sock, handler);
    sock.once('connect', () => handler.onConnected(id));
    return id;
  }

  listen(ip: number, port: number, handler: StreamHandler, backlog = 511): number {
    const srv = net.createServer({ allowHalfOpen: true, noDelay: true }, (sock) => {
      const id = this.adopt(sock, handler);
      handler.onConnected(id);
    });
    srv.listen({ host: ip === 0 ? '0.0.0.0' : ipToString(ip), port, backlog });
    this.servers.push(srv);
    return 0;
  }

  /** Resolves when every listener is bound (listen() is asynchronous on kernel sockets). */
  async ready(): Promise<void> {
    await Promise.all(
      this.servers.map((s) => (s.listening ? undefined : new Promise((res, rej) => s.once('listening', res).once('error', rej)))),
    );
  }

  /** The kernel-assigned port of the n-th listener (for port 0). */
  boundPort(n = 0): number {
    return (this.servers[n].address() as net.AddressInfo).port;
  }

  write(conn: number, u8: Uint8Array, off: number, len: number): number {
    const s = this.socks[conn];
    if (!s || !s.writable) return -1;
    const n = Math.min(len, this.sendSpace(conn));
    if (n <= 0) return 0;
    // The caller reuses its buffer after we return, so the socket gets a copy.
    const below = s.write(Buffer.copyBytesFrom(u8, off, n));
    if (below && n === len) return n;
    this.blocked[conn] = 1;
    // Cut short below the socket's high-water mark: no 'drain' will come, so
    // the handler hears from us once the socket has had a turn.
    if (below) setImmediate(() => this.unblock(conn, s));
    return n;
  }

  sendSpace(conn: number): number {
    const s = this.socks[conn];
    if (!s || !s.writable) return 0;
    return Math.max(0, SEND_BUFFER - s.writableLength);
  }

  shutdown(conn: number): void {
    this.socks[conn]?.end();
  }

  close(conn: number): void {
    this.socks[conn]?.end();
  }

  abort(conn: number): void {
    const s = this.socks[conn];
    if (!s) return;
    // After end() Node cannot send RST (EINVAL, and no 'close' follows): destroy plainly.
    if (s.writableEnded) s.destroy();
    else s.resetAndDestroy();
  }

  /** Closes every listener and connection. */
  async stop(): Promise<void> {
    for (const s of this.socks) s?.destroy();
    await Promise.all(this.servers.map((s) => new Promise((res) => s.close(res))));
    this.servers.length = 0;
  }

  /** The onWritable a blocked connection is owed (unless it closed and its id moved on). */
  private unblock(id: number, sock: net.Socket): void {
    if (this.socks[id] !== sock || this.blocked[id] !== 1) return;
    this.blocked[id] = 0;
    this.handlers[id]?.onWritable(id);
  }

  private adopt(sock: net.Socket, h: StreamHandler): number {
    const id = this.freeIds.length > 0 ? (this.freeIds.pop() as number) : this.socks.length;
    this.socks[id] = sock;
    this.blocked[id] = 0;
    this.handlers[id] = h;
    let reason: number = CloseReason.NORMAL;
    sock.on('data', (b: Buffer) => h.onData(id, b, 0, b.length));
    sock.on('end', () => h.onPeerClosed(id));
    sock.on('drain', () => this.unblock(id, sock));
    sock.on('error', (e: NodeJS.ErrnoException) => {
      reason = e.code === 'ECONNREFUSED' ? CloseReason.REFUSED
        : e.code === 'ECONNRESET' || e.code === 'EPIPE' ? CloseReason.RESET
        : e.code === 'ETIMEDOUT' ? CloseReason.TIMEOUT
        : e.code === 'EHOSTUNREACH' || e.code === 'ENETUNREACH' ? CloseReason.UNREACHABLE
        : CloseReason.ABORTED;
    });
    sock.on('close', () => {
      this.socks[id] = null;
      this.handlers[id] = null;
      this.freeIds.push(id);
      h.onClosed(id, reason);
    });
    return id;
  }
}
