/**
 * HTTP/1.1 server mode over any StreamTransport: parses pipelined requests and
 * answers each in order (RFC 9112 §9.3.2) with a configured status, headers
 * and a body of a fixed size or the size named by `/bytes/<n>`. Answers are
 * assembled in one scratch buffer shared by all connections (a connection
 * keeps its own copy only of what the transport did not take), so answering
 * allocates nothing: a small body goes in one write with its head, and the
 * answers to requests pipelined in one delivery go in one write together, so
 * a small answer costs one segment, not two. Large bodies stream from one shared
 * pattern buffer, as the transport takes them.
 *
 * Timeouts (checked on `tick`, against one deadline per connection: no timer
 * objects): a request head must arrive whole within `headerTimeoutUs`
 * (slowloris), and a connection with no request in progress is closed after
 * `idleTimeoutUs` without a byte. Every request ends as a response, a request
 * still being answered, or a drop counted by reason; every connection as
 * open or closed by reason (ServerStats). A closed connection's state returns
 * to a free list that gives back what went unused between two ticks.
 */
import { monotonicClock, type Clock } from '../../common/clock.js';
import { ascii } from './chars.js';
import { errStatus, HTTP_ERR_COUNT } from './errors.js';
import { METHOD_HEAD, type MessageHead } from './head.js';
import { DEFAULT_PARSER_OPTIONS, Http1Parser, KIND_REQUEST, type ParserOptions, type ParserSink } from './parser.js';
import { CloseReason, type StreamHandler, type StreamTransport } from '../../net/tcp/stream.js';
import { TargetCounts } from './target_counts.js';

export interface ServerOptions {
  transport: StreamTransport;
  ip: number;
  port: number;
  status: number;
  /** Extra response header fields, written as given. */
  headers: Record<string, string>;
  /** Body size when the target does not name one. */
  bodySize: number;
  /** Answer `/bytes/<n>` with an n-byte body. */
  bytesRoute: boolean;
  /** Largest body `/bytes/<n>` may ask for. */
  maxBodySize: number;
  /** Persistent connections allowed (else every response closes). */
  keepAlive: boolean;
  /** Body bytes repeat this pattern from offset 0 (the client can verify it). */
  pattern: Uint8Array;
  /** Answers queued per connection before the server stops reading it (pipelining depth). */
  maxPipeline: number;
  parser: ParserOptions;
  /** A request head must arrive whole within this, in µs (0: no limit). */
  headerTimeoutUs: number;
  /** A connection with no request in progress is closed after this long without a byte, in µs (0: no limit). */
  idleTimeoutUs: number;
  /** Time of the deadlines; `tick` moves the server's own reading of it. */
  clock: Clock;
  /** Count requests by request-target (TargetCounts). */
  countTargets: boolean;
}

export const DEFAULT_PATTERN = ascii('vaigAI-0123456789abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJKLMNOPQRSTUVWXYZ\n');

export const DEFAULT_SERVER_OPTIONS = {
  ip: 0,
  status: 200,
  headers: {},
  bodySize: 0,
  bytesRoute: true,
  maxBodySize: 1 << 30,
  keepAlive: true,
  pattern: DEFAULT_PATTERN,
  maxPipeline: 256,
  parser: DEFAULT_PARSER_OPTIONS,
  // nginx's client_header_timeout is 60 s, Apache's RequestReadTimeout 20-40 s, keepalive_timeout 75 s / 5 s.
  headerTimeoutUs: 30_000_000,
  idleTimeoutUs: 60_000_000,
  clock: monotonicClock,
  countTargets: false,
};

/**
 * The server's counters, numbers only (reporters copy them by key). They reconcile:
 *   requests = responses + inProgress + droppedShed + droppedClosed
 *   accepted = open + closedPeer + closedServer + closedReset + closedLost
 *              + closedAborted + closedHeaderTimeout + closedIdleTimeout + closedShed
 */
export class ServerStats {
  accepted = 0;
  /** Connections the server still holds state for (gauge). */
  open = 0;
  /** Requests received whole, and malformed ones (each answered with an error status). */
  requests = 0;
  /** Answers handed whole to the transport. */
  responses = 0;
  /** Requests whose answer is queued or being written (gauge). */
  inProgress = 0;
  /** Malformed requests (their codes: Http1Server.errorCodes). */
  errors = 0;
  /** Requests dropped with their connection: pipelined beyond maxPipeline while the peer did not read. */
  droppedShed = 0;
  /** Requests whose connection was reset or lost before their answer went out. */
  droppedClosed = 0;
  /** Closed after the peer's FIN, once owed answers were sent. */
  closedPeer = 0;
  /** Closed by the server after an answer that ends the connection (Connection: close, an error). */
  closedServer = 0;
  /** Reset by the peer. */
  closedReset = 0;
  /** Lost: retransmissions ran out, or the peer became unreachable. */
  closedLost = 0;
  /** Aborted by the local stack, not by the server: the run stopping. */
  closedAborted = 0;
  closedHeaderTimeout = 0;
  closedIdleTimeout = 0;
  /** Reset by the server: more pipelined requests than it queues. */
  closedShed = 0;
  bodyBytesOut = 0;
  bodyBytesIn = 0;
  /** Connection states kept for reuse (gauge). */
  pooled = 0;
}

/** The names of ServerStats' counters, in a fixed order. */
export const SERVER_STAT_KEYS: readonly string[] = Object.keys(new ServerStats());

const REASONS: Record<number, string> = {
  200: 'OK', 201: 'Created', 204: 'No Content', 301: 'Moved Permanently', 302: 'Found', 304: 'Not Modified',
  400: 'Bad Request', 403: 'Forbidden', 404: 'Not Found', 413: 'Content Too Large', 431: 'Request Header Fields Too Large',
  500: 'Internal Server Error', 503: 'Service Unavailable', 505: 'HTTP Version Not Supported',
};

/** Connection header variants appended after Content-Length. */
const CONN_NONE = 0;
const CONN_CLOSE = 1;
const CONN_KEEP = 2;
const CONN_LINES = [ascii('\r\n\r\n'), ascii('\r\nConnection: close\r\n\r\n'), ascii('\r\nConnection: keep-alive\r\n\r\n')];
const BYTES_PREFIX = ascii('/bytes/');
/** Body bytes handed to one write. */
const BODY_WRITE = 64 * 1024;
/** Room for one response head: prefix, length digits, Connection line. */
const HEAD_MAX = 1024;
/** Bodies up to this size are copied into the scratch behind their head. */
const INLINE_BODY = 1024;
/** The scratch: at least one head and one inline body. */
const SCRATCH = HEAD_MAX + INLINE_BODY;
/** Answers a new connection's queue holds; it doubles up to maxPipeline as pipelining asks. */
const QUEUE_START = 8;
/** Connection states the free list keeps at most. */
const FREE_MAX = 1024;

/** What a connection's deadline is for. */
const T_NONE = 0;
const T_HEADER = 1;
const T_IDLE = 2;
/** Deadlines are checked this often: a sixteenth of the shortest timeout, within these bounds. */
const SWEEP_MIN_US = 10_000;
const SWEEP_MAX_US = 1_000_000;

function headPrefix(status: number, headers: Record<string, string>): Uint8Array {
  let s = `HTTP/1.1 ${status} ${REASONS[status] ?? 'Status'}\r\n`;
  for (const [k, v] of Object.entries(headers)) s += `${k}: ${v}\r\n`;
  return ascii(`${s}Content-Length: `);
}

class ServerConn implements ParserSink {
  id = -1;
  readonly parser: Http1Parser;
  /** Queued answers: body size (-status = error answer), HEAD flag, connection variant. */
  qBody: Float64Array;
  qHead: Uint8Array;
  qConn: Uint8Array;
  qFirst = 0;
  qCount = 0;
  /**
   * Current batch: `batch` queued answers assembled in `out[headOff..headLen)`
   * (`inlineBytes` of it body bytes); the last one may have `bodyLeft` body
   * bytes still to stream after them. `out` is the server's scratch while the
   * batch is being written, `held` once the transport took only part of it.
   */
  out: Uint8Array | null = null;
  /** The connection's own copy of a partly written batch; made on first need, kept with the state. */
  held: Uint8Array | null = null;
  headOff = 0;
  headLen = 0;
  batch = 0;
  inlineBytes = 0;
  bodyLeft = 0;
  bodyOff = 0;
  active = false;
  /** Inside onData: answers wait for the end of the delivery, to go out together. */
  feeding = false;
  /** Close after the queued answers (peer half-closed, or an error). */
  closing = false;
  /** The peer's FIN arrived. */
  peerFin = false;
  /** A request's body is being read (its head is complete). */
  inBody = false;
  /** T_NONE, T_HEADER or T_IDLE, and when it expires (µs). */
  timer = T_NONE;
  deadline = 0;
  /** Index in the server's list of open connections. */
  liveIdx = -1;
  private readonly server: Http1Server;

  constructor(server: Http1Server, opt: ServerOptions) {
    this.server = server;
    this.parser = new Http1Parser(KIND_REQUEST, this, opt.parser);
    const n = Math.min(QUEUE_START, opt.maxPipeline);
    this.qBody = new Float64Array(n);
    this.qHead = new Uint8Array(n);
    this.qConn = new Uint8Array(n);
  }

  reset(id: number): void {
    this.id = id;
    this.parser.reset();
    this.qFirst = 0;
    this.qCount = 0;
    this.active = false;
    this.feeding = false;
    this.closing = false;
    this.peerFin = false;
    this.inBody = false;
    this.timer = T_NONE;
  }

  /** Doubles the answer queue, oldest answer first. */
  grow(): void {
    const cap = this.qBody.length;
    const body = new Float64Array(cap * 2);
    const head = new Uint8Array(cap * 2);
    const conn = new Uint8Array(cap * 2);
    for (let k = 0; k < this.qCount; k++) {
      const slot = (this.qFirst + k) % cap;
      body[k] = this.qBody[slot];
      head[k] = this.qHead[slot];
      conn[k] = this.qConn[slot];
    }
    this.qBody = body;
    this.qHead = head;
    this.qConn = conn;
    this.qFirst = 0;
  }

  onHead(): boolean {
    this.inBody = true;
    return false;
  }

  onHeader(): void {}

  onBody(_b: Uint8Array, _o: number, len: number): void {
    this.server.stats.bodyBytesIn += len;
  }

  onComplete(h: MessageHead): void {
    this.inBody = false;
    this.server.request(this, h);
  }

  onError(code: number): void {
    this.server.requestError(this, code);
  }
}

export class Http1Server implements StreamHandler {
  /** Requests by target, with countTargets; else null. */
  readonly targets: TargetCounts | null;
  readonly stats = new ServerStats();
  /** Malformed requests by HttpErr code. */
  readonly errorCodes = new Float64Array(HTTP_ERR_COUNT);
  private readonly opt: ServerOptions;
  private readonly t: StreamTransport;
  private readonly prefix: Uint8Array;
  private readonly errPrefix: Map<number, Uint8Array> = new Map();
  /** Pattern repeated to BODY_WRITE + one period, so any offset has a contiguous run. */
  private readonly bodySrc: Uint8Array;
  /** Where every connection's answers are assembled (write does not call back, so one at a time). */
  private readonly scratch = new Uint8Array(SCRATCH);
  private readonly conns: (ServerConn | null)[] = [];
  /** Open connections, densely (their deadlines are checked by walking it). */
  private readonly live: ServerConn[] = [];
  private readonly pool: ServerConn[] = [];
  /** The free list's smallest size since the last sweep: what went unused. */
  private poolLow = 0;
  /** The clock's reading at the last tick: deadlines cost no clock read per event. */
  private now: number;
  private nextSweep = 0;
  private readonly sweepUs: number;

  constructor(opt: Partial<ServerOptions> & Pick<ServerOptions, 'transport' | 'port'>) {
    this.opt = { ...DEFAULT_SERVER_OPTIONS, ...opt };
    const o = this.opt;
    if (o.pattern.length === 0) throw new RangeError('body pattern is empty');
    if (!(o.maxPipeline >= 1)) throw new RangeError('maxPipeline must be >= 1');
    this.t = o.transport;
    this.targets = o.countTargets ? new TargetCounts() : null;
    this.prefix = headPrefix(o.status, o.headers);
    if (this.prefix.length > HEAD_MAX - 64) throw new RangeError('configured response headers are too long');
    const p = o.pattern.length;
    this.bodySrc = new Uint8Array(BODY_WRITE + p);
    for (let i = 0; i < this.bodySrc.length; i++) this.bodySrc[i] = o.pattern[i % p];
    for (const k of ['headerTimeoutUs', 'idleTimeoutUs'] as const) {
      if (!(o[k] >= 0)) throw new RangeError(`${k} must be >= 0, got ${o[k]}`);
    }
    const shortest = Math.min(o.headerTimeoutUs || Infinity, o.idleTimeoutUs || Infinity);
    this.sweepUs = Math.min(SWEEP_MAX_US, Math.max(SWEEP_MIN_US, shortest / 16));
    this.now = o.clock.nowUs();
  }

  /**
   * Takes the time, and every sweep period closes the connections whose
   * deadline passed and frees the connection states the free list did not
   * use since the last sweep. The poll loop calls it about every millisecond.
   */
  tick(nowUs: number): void {
    this.now = nowUs;
    if (nowUs < this.nextSweep) return;
    this.nextSweep = nowUs + this.sweepUs;
    const live = this.live;
    // Backwards: closing one moves the last into its place, already seen.
    for (let i = live.length - 1; i >= 0; i--) {
      const c = live[i];
      if (c.timer !== T_NONE && nowUs >= c.deadline) this.expire(c);
    }
    this.pool.length -= this.poolLow;
    this.poolLow = this.pool.length;
    this.stats.pooled = this.pool.length;
  }

  listen(): number {
    return this.t.listen(this.opt.ip, this.opt.port, this);
  }

  onConnected(conn: number): void {
    const pool = this.pool;
    const c = pool.pop() ?? new ServerConn(this, this.opt);
    if (pool.length < this.poolLow) this.poolLow = pool.length;
    this.stats.pooled = pool.length;
    c.reset(conn);
    this.conns[conn] = c;
    c.liveIdx = this.live.length;
    this.live.push(c);
    this.stats.accepted++;
    this.stats.open++;
    this.arm(c);
  }

  onData(conn: number, u8: Uint8Array, off: number, len: number): void {
    const c = this.conns[conn];
    if (!c || c.closing) return;
    c.feeding = true;
    c.parser.feed(u8, off, len);
    c.feeding = false;
    // (The connection may have been closed or shed while parsing.)
    if (this.conns[conn] !== c) return;
    if (!c.active && c.qCount > 0) this.pump(c);
    else this.arm(c);
  }

  onWritable(conn: number): void {
    const c = this.conns[conn];
    if (c) this.pump(c);
  }

  onPeerClosed(conn: number): void {
    const c = this.conns[conn];
    if (!c) return;
    c.peerFin = true;
    // A request cut short by the FIN is an error (counted, answered if the peer still reads).
    if (!c.closing) c.parser.finish();
    if (this.conns[conn] !== c) return;
    c.closing = true;
    c.timer = T_NONE;
    if (c.qCount === 0) this.end(c);
  }

  /** The transport ended a connection the server still held: reset by the peer, lost, or aborted by the run's stop. */
  onClosed(conn: number, reason: number): void {
    const c = this.conns[conn];
    if (!c) return;
    const st = this.stats;
    if (reason === CloseReason.NORMAL) st.closedPeer++;
    else if (reason === CloseReason.RESET) st.closedReset++;
    else if (reason === CloseReason.ABORTED) st.closedAborted++;
    else st.closedLost++;
    st.droppedClosed += c.qCount;
    this.detach(c);
  }

  /**
   * The connection's deadline after an event (RFC 9112 §9.5: a server may
   * close an inactive connection at any time): none while answers are owed;
   * the header timeout from the first byte of a head; the idle timeout
   * otherwise (between requests, or between the reads of a body).
   */
  private arm(c: ServerConn): void {
    const o = this.opt;
    if (c.qCount > 0 || c.closing) {
      c.timer = T_NONE;
    } else if (!c.inBody && !c.parser.idle()) {
      // A head keeps the deadline of its first byte however slowly the rest trickles in.
      if (c.timer !== T_HEADER && o.headerTimeoutUs > 0) {
        c.timer = T_HEADER;
        c.deadline = this.now + o.headerTimeoutUs;
      }
    } else if (o.idleTimeoutUs > 0) {
      c.timer = T_IDLE;
      c.deadline = this.now + o.idleTimeoutUs;
    } else {
      c.timer = T_NONE;
    }
  }

  /** A deadline passed: the connection is closed (FIN; what is owed is nothing). */
  private expire(c: ServerConn): void {
    if (c.timer === T_HEADER) this.stats.closedHeaderTimeout++;
    else this.stats.closedIdleTimeout++;
    const id = c.id;
    this.detach(c);
    this.t.close(id);
  }

  /** Closes after the last owed answer: the peer's FIN asked for it, or the server's answer did. */
  private end(c: ServerConn): void {
    if (c.peerFin) this.stats.closedPeer++;
    else this.stats.closedServer++;
    const id = c.id;
    this.detach(c);
    this.t.close(id);
  }

  /**
   * Forgets a connection before it is closed or aborted (the transport then
   * tells only onClosed, which finds nothing) and returns its state to the
   * free list.
   */
  private detach(c: ServerConn): void {
    const st = this.stats;
    this.conns[c.id] = null;
    const live = this.live;
    const last = live.pop() as ServerConn;
    if (last !== c) {
      live[c.liveIdx] = last;
      last.liveIdx = c.liveIdx;
    }
    st.open--;
    st.inProgress -= c.qCount;
    // Stops a parse under way: the rest of this delivery is not read.
    c.parser.stop();
    c.qCount = 0;
    c.id = -1;
    c.timer = T_NONE;
    if (this.pool.length < FREE_MAX) this.pool.push(c);
    st.pooled = this.pool.length;
  }

  request(c: ServerConn, h: MessageHead): void {
    this.stats.requests++;
    this.targets?.record(h.target, h.targetLen);
    const o = this.opt;
    let size = o.bodySize;
    if (o.bytesRoute) {
      const n = bytesTarget(h.target, h.targetLen);
      if (n >= 0) size = Math.min(n, o.maxBodySize);
    }
    const keep = o.keepAlive && c.parser.keepAlive;
    const variant = !keep ? CONN_CLOSE : h.version === 10 ? CONN_KEEP : CONN_NONE;
    this.enqueue(c, size, h.method === METHOD_HEAD, variant);
    if (!keep) c.closing = true; // the parser also stops reading after "Connection: close"
  }

  requestError(c: ServerConn, code: number): void {
    this.stats.requests++;
    this.stats.errors++;
    this.errorCodes[code]++;
    c.closing = true;
    // The answer goes out after the answers already owed, then the connection closes.
    this.enqueue(c, -errStatus(code), false, CONN_CLOSE);
  }

  private enqueue(c: ServerConn, body: number, head: boolean, variant: number): void {
    if (c.qCount === c.qBody.length && c.qCount < this.opt.maxPipeline) c.grow();
    // Answers held for the end of a delivery fill the queue: send them now to make room.
    if (c.qCount === c.qBody.length && c.feeding && !c.active) this.pump(c);
    if (c.id < 0) return;
    const cap = c.qBody.length;
    if (c.qCount === cap) {
      // More pipelined requests than we queue: shed the connection rather than buffer without bound.
      const id = c.id;
      this.stats.closedShed++;
      this.stats.droppedShed += c.qCount + 1;
      this.detach(c);
      this.t.abort(id);
      return;
    }
    const slot = (c.qFirst + c.qCount) % cap;
    c.qBody[slot] = body;
    c.qHead[slot] = head ? 1 : 0;
    c.qConn[slot] = variant;
    c.qCount++;
    this.stats.inProgress++;
    c.timer = T_NONE;
    if (!c.active && !c.feeding) this.pump(c);
  }

  /** Writes queued answers in order until done or the transport pushes back. */
  private pump(c: ServerConn): void {
    while (true) {
      if (!c.active) {
        if (c.qCount === 0) {
          if (c.closing) this.end(c);
          else if (!c.feeding) this.arm(c);
          return;
        }
        this.prepare(c);
      }
      if (c.headOff < c.headLen) {
        const n = this.t.write(c.id, c.out as Uint8Array, c.headOff, c.headLen - c.headOff);
        if (n > 0) c.headOff += n;
        if (c.headOff < c.headLen) {
          this.hold(c);
          return;
        }
        this.stats.bodyBytesOut += c.inlineBytes;
        c.inlineBytes = 0;
      }
      while (c.bodyLeft > 0) {
        const p = this.opt.pattern.length;
        const off = c.bodyOff % p;
        const n = this.t.write(c.id, this.bodySrc, off, Math.min(c.bodyLeft, BODY_WRITE));
        if (n <= 0) return;
        c.bodyLeft -= n;
        c.bodyOff += n;
        this.stats.bodyBytesOut += n;
      }
      // A close answer is always the last of its batch.
      const last = c.qConn[(c.qFirst + c.batch - 1) % c.qBody.length] === CONN_CLOSE;
      c.qFirst = (c.qFirst + c.batch) % c.qBody.length;
      c.qCount -= c.batch;
      this.stats.responses += c.batch;
      this.stats.inProgress -= c.batch;
      c.active = false;
      if (last) {
        this.end(c);
        return;
      }
    }
  }

  /** Moves what the transport has not taken yet out of the shared scratch, into the connection's own buffer. */
  private hold(c: ServerConn): void {
    if (c.out !== this.scratch) return;
    const len = c.headLen - c.headOff;
    c.held ??= new Uint8Array(SCRATCH);
    c.held.set(this.scratch.subarray(c.headOff, c.headLen));
    c.out = c.held;
    c.headOff = 0;
    c.headLen = len;
  }

  /**
   * Assembles the next queued answers in the shared scratch buffer: heads
   * with their bodies inline while they fit, up to one whose body must stream
   * (too large) or that closes the connection.
   */
  private prepare(c: ServerConn): void {
    const s = this.scratch;
    const cap = c.qBody.length;
    let i = 0;
    let k = 0;
    c.inlineBytes = 0;
    c.bodyLeft = 0;
    c.bodyOff = 0;
    while (k < c.qCount) {
      const slot = (c.qFirst + k) % cap;
      const body = c.qBody[slot];
      const size = body < 0 ? 0 : body;
      const send = c.qHead[slot] === 1 ? 0 : size;
      const prefix = body < 0 ? this.errorPrefix(-body) : this.prefix;
      const tail = CONN_LINES[c.qConn[slot]];
      const inline = send <= INLINE_BODY;
      // The first answer always fits (HEAD_MAX covers a head, INLINE_BODY its inline body).
      if (k > 0 && i + prefix.length + 16 + tail.length + (inline ? send : 0) > SCRATCH) break;
      s.set(prefix, i);
      i = writeDecimal(s, i + prefix.length, size);
      s.set(tail, i);
      i += tail.length;
      k++;
      if (!inline) {
        c.bodyLeft = send;
        break;
      }
      // Body bytes repeat the pattern from offset 0; bodySrc holds at least INLINE_BODY of it.
      const src = this.bodySrc;
      for (let j = 0; j < send; j++) s[i + j] = src[j];
      i += send;
      c.inlineBytes += send;
      if (c.qConn[slot] === CONN_CLOSE) break;
    }
    c.out = s;
    c.headOff = 0;
    c.headLen = i;
    c.batch = k;
    c.active = true;
  }

  private errorPrefix(status: number): Uint8Array {
    let p = this.errPrefix.get(status);
    if (p === undefined) {
      p = headPrefix(status, {});
      this.errPrefix.set(status, p);
    }
    return p;
  }
}

/** n from a target "/bytes/<n>" (digits only, at most 12), else -1. */
function bytesTarget(t: Uint8Array, len: number): number {
  const pl = BYTES_PREFIX.length;
  if (len <= pl || len - pl > 12) return -1;
  for (let i = 0; i < pl; i++) if (t[i] !== BYTES_PREFIX[i]) return -1;
  let v = 0;
  for (let i = pl; i < len; i++) {
    const d = t[i] - 0x30;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

/** Writes a non-negative integer in decimal at s[i..]; returns the end offset. */
function writeDecimal(s: Uint8Array, i: number, v: number): number {
  if (v === 0) {
    s[i] = 0x30;
    return i + 1;
  }
  let digits = 0;
  for (let x = v; x >= 1; x = Math.floor(x / 10)) digits++;
  let k = i + digits;
  for (let x = v; x >= 1; x = Math.floor(x / 10)) s[--k] = 0x30 + (x % 10);
  return i + digits;
}
