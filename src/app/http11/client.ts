/**
 * HTTP/1.1 load client over any StreamTransport: a pool of connections, each
 * with up to `pipeline` requests in flight (RFC 9112 §9.3.2), keep-alive or a
 * fixed number of requests per connection, response time per request (from
 * the moment the transport took the request's first bytes, so time spent
 * waiting for a pacing token is not counted), bodies counted and optionally
 * verified, never buffered unless asked. A connection is opened only for a
 * request that no open connection will take.
 *
 * Every connection attempt and request is accounted for: a connection is
 * established, failed, cancelled by stop() or still opening; a request is
 * answered, failed or in flight. Each failure is counted once, under one
 * reason (failures.ts). Deadlines (connect, response) are per connection and
 * checked by tick(), not timers. A connection that failed to open is
 * replaced at a bounded rate (retryRate), so that a dead server gets no SYN storm.
 *
 * In the open model (`open`), requests start only on arrivals (arriveRequest,
 * arriveConn) and their response time counts from the arrival's intended
 * time, so a stalled server shows in full; an arrival that finds
 * `maxConcurrent` connections open (and, for a request, none idle) is
 * dropped and counted, never delayed.
 */
import { AddrCycle } from '../../common/addr_cycle.js';
import { monotonicClock, type Clock } from '../../common/clock.js';
import type { Prng } from '../../common/prng.js';
import { DueQueue } from '../../common/due_queue.js';
import { WeightedPick } from '../../common/weighted.js';
import { BodyCheck } from './body_check.js';
import { HTTP_ERR_COUNT, HttpErr } from './errors.js';
import { FAIL_COUNT, Fail, PARSE_FAIL_TEXT, failOfClose, failText } from './failures.js';
import type { MessageHead } from './head.js';
import { DEFAULT_PARSER_OPTIONS, Http1Parser, KIND_RESPONSE, type ParserOptions, type ParserSink } from './parser.js';
import { buildRequest, type RequestSpec } from './request.js';
import { DEFAULT_CONNECT, TcpError, type ConnectOptions } from '../../net/tcp/api.js';
import type { StreamHandler, StreamTransport, WireTimes } from '../../net/tcp/stream.js';
import type { WireClock } from '../../port/wire_stamps.js';
import { ipToString } from '../../wire/ipv4_addr.js';
import { PH_CONNECT, PH_RESPONSE, PH_SCHEDULE, PH_SERVER, PH_TLS, PH_TTFB, PH_WIRE_RTT, type PhaseSink } from '../../telemetry/phases.js';

export interface ClientOptions {
  transport: StreamTransport;
  /** The source address (0: any owned one, the transport's pick), or with srcIpHi the first of a range used in turn. */
  srcIp: number;
  srcIpHi: number;
  dstIp: number;
  dstPort: number;
  /** The connections' TOS byte and congestion controller. */
  connect: Readonly<ConnectOptions>;
  /** Host header value. */
  host: string;
  /** Sent round-robin, or picked by `weights` with `rng`. */
  requests: RequestSpec[];
  /** Each request's weight (null: round-robin). */
  weights: number[] | null;
  rng: Prng | null;
  /** Requests to complete in all; the client stops when they are answered. */
  totalRequests: number;
  /** Concurrent connections. */
  connections: number;
  /** Requests in flight per connection (1 = no pipelining). */
  pipeline: number;
  /** Requests per connection before it is closed; 0 = keep-alive until the end. */
  requestsPerConnection: number;
  /** Response bodies must repeat this pattern from their first byte. */
  pattern: Uint8Array | null;
  /** Hand each body to onResponse (buffers it: tests and small bodies only). */
  keepBodies: boolean;
  parser: ParserOptions;
  clock: Clock;
  /** Per response: status, body length, response time (µs), sha256 hex if the spec asked, body if kept, the request's index. */
  onResponse: ((status: number, bodyBytes: number, rttUs: number, sha256: string | null, body: Buffer | null, request: number) => void) | null;
  onDone: ((stats: ClientStats) => void) | null;
  /** Where the phase times go (connect, TLS, first byte, response, schedule), µs; null: nowhere. */
  phases: PhaseSink | null;
  /** Each response header field as strings: only when set (it costs two strings per field). */
  onHeader: ((name: string, value: string) => void) | null;
  /** A connection not usable (TCP and, below us, TLS) this long after connect() fails; 0 = no bound. */
  connectTimeoutUs: number;
  /**
   * A connection awaiting answers that receives nothing this long (the server
   * silent, or stalled mid-response) fails its requests; 0 = no bound.
   */
  readTimeoutUs: number;
  /** The oldest request on a connection not answered this long after it was written fails it; 0 = no bound. */
  responseTimeoutUs: number;
  /** Replacements of connections that failed to open, per second at most (default: `connections`). */
  retryRate: number;
  /**
   * Failed connection attempts in a row (none established between) after
   * which no more are made: -1 (default) = `connections`, 0 = never give up
   * (a time-bound load, which retries until its bound).
   */
  giveUpAfter: number;
  /** The open model: requests start on arrivals only, timed from their intended start. */
  open: boolean;
  /** Open model: the connections open (or opening) at once, shared by the clients of a load, and their cap; an arrival beyond is dropped. */
  budget: ConnBudget | null;
  /** Open model: a connection arrival's requests start this far apart (their intended times); 0: back to back. */
  gapUs: number;
  /** A pause between an answer and the connection's next request (think time); 0: none. */
  thinkUs: number;
}

/** Connections open at once over several clients (the flows of a load), and the most allowed. */
export interface ConnBudget {
  open: number;
  max: number;
}

export const DEFAULT_CLIENT_OPTIONS = {
  srcIp: 0,
  srcIpHi: 0,
  connect: DEFAULT_CONNECT,
  weights: null,
  rng: null,
  totalRequests: 1,
  connections: 1,
  pipeline: 1,
  requestsPerConnection: 0,
  pattern: null,
  keepBodies: false,
  parser: DEFAULT_PARSER_OPTIONS,
  clock: monotonicClock,
  onResponse: null,
  onDone: null,
  phases: null,
  onHeader: null,
  connectTimeoutUs: 0,
  readTimeoutUs: 0,
  responseTimeoutUs: 0,
  retryRate: 0,
  giveUpAfter: -1,
  open: false,
  budget: null,
  gapUs: 0,
  thinkUs: 0,
};

/** How often tick() looks at the deadlines (a sweep over the open connections). */
const SWEEP_US = 50_000;

export class ClientStats {
  /** connect() calls: established + failed + cancelled + still opening. */
  attempts = 0;
  /** Connections established (usable: over TLS, the handshake done). */
  connects = 0;
  connectFailures = 0;
  /** Connections still opening when stop() was called, closed by it (not failures). */
  cancelled = 0;
  /** Requests sent: answered + failed + in flight. */
  requests = 0;
  responses = 0;
  /** Requests lost with their connection (under its failure's reason). */
  failedRequests = 0;
  /** Failures by reason (Fail code): failed connections plus failed requests. */
  readonly failures = new Float64Array(FAIL_COUNT);
  /** The last message of each reason ('' until it happened). */
  readonly lastFailure: string[] = new Array<string>(FAIL_COUNT).fill('');
  /** Final responses by class: index 1..5 for 1xx..5xx. */
  readonly statusClass = new Float64Array(6);
  informational = 0;
  bodyBytes = 0;
  /** Parse errors by HttpErr code (the detail of Fail.HTTP_PARSE); each closed its connection. */
  readonly errors = new Float64Array(HTTP_ERR_COUNT);
  verifyOk = 0;
  verifyFailed = 0;
  /** Open model: arrivals, and those dropped for finding the cap of connections open. */
  arrivals = 0;
  dropped = 0;
  /** Requests sent and answered, by request index. */
  entryRequests = new Float64Array(0);
  entryResponses = new Float64Array(0);
  rttSumUs = 0;
  rttMinUs = Infinity;
  rttMaxUs = 0;
}

/** One connection's state; pooled and reused, indexed by connection id. */
class ClientConn implements ParserSink {
  id = -1;
  readonly parser: Http1Parser;
  readonly check: BodyCheck;
  /** In-flight ring: send time, request index, HEAD flag. */
  readonly sentAt: Float64Array;
  readonly reqIdx: Int32Array;
  qHead = 0;
  qCount = 0;
  /** Requests started on this connection. */
  issued = 0;
  /** Request being written (-1 none) and how far. */
  writing = -1;
  writeOff = 0;
  writeBytes: Uint8Array | null = null;
  connected = false;
  /** When connect() was called (clock µs). */
  openedAt = 0;
  /** The oldest request's answer has begun (its server time is taken). */
  answering = false;
  /** The oldest request's time to its answer's first byte (µs), -1 until that byte came. */
  ttfb = -1;
  /** The failure the client itself found (a Fail code) before aborting, else -1. */
  fail = -1;
  /** What the client's own failure says (null: what the transport or the reason says). */
  failMsg: string | null = null;
  /** onData calls, and what the last sweep saw of it and when it last changed: silence without a clock read per delivery. */
  rx = 0;
  rxSeen = 0;
  quietSince = 0;
  /** Open model: the intended start of the request this connection owes (-1: none), the requests it may carry, its place on the idle stack (-1: not idle). */
  nextAt = -1;
  budget = Infinity;
  idleAt = -1;
  /** Open model: the connection came as an arrival and carries its requests in a row. */
  chain = false;
  /** The intended start of its last request (open model). */
  lastAt = 0;
  /** Waiting in the due queue (think time, or its next request's time); `serial` tells a reused connection's entry from its own. */
  waiting = false;
  /** Its think time is over: the next request may start. */
  thought = false;
  /** Closing: the closed model's stage wants fewer connections. */
  shed = false;
  serial = 0;
  private readonly client: Http1Client;

  constructor(client: Http1Client, depth: number, opt: ClientOptions) {
    this.client = client;
    this.parser = new Http1Parser(KIND_RESPONSE, this, opt.parser);
    this.check = new BodyCheck(opt.pattern, opt.keepBodies);
    this.sentAt = new Float64Array(depth);
    this.reqIdx = new Int32Array(depth);
  }

  reset(id: number): void {
    this.id = id;
    this.parser.reset();
    this.qHead = 0;
    this.qCount = 0;
    this.issued = 0;
    this.writing = -1;
    this.writeOff = 0;
    this.writeBytes = null;
    this.connected = false;
    this.answering = false;
    this.ttfb = -1;
    this.fail = -1;
    this.failMsg = null;
    this.rx = 0;
    this.rxSeen = 0;
    this.nextAt = -1;
    this.budget = Infinity;
    this.idleAt = -1;
    this.chain = false;
    this.waiting = false;
    this.thought = false;
    this.shed = false;
    this.serial++;
  }

  onHead(h: MessageHead): boolean {
    return this.client.responseHead(this, h);
  }

  onHeader(buf: Uint8Array, nameOff: number, nameLen: number, valOff: number, valLen: number): void {
    this.client.header(buf, nameOff, nameLen, valOff, valLen);
  }

  onBody(buf: Uint8Array, off: number, len: number): void {
    this.check.update(buf, off, len);
  }

  onComplete(h: MessageHead): void {
    this.client.responseDone(this, h);
  }

  onError(code: number): void {
    this.client.parseError(this, code);
  }
}

export class Http1Client implements StreamHandler {
  readonly stats = new ClientStats();
  private readonly opt: ClientOptions;
  private readonly t: StreamTransport;
  /**
   * The transport's wire times, when they time a request alone (nothing
   * pipelined): a response is then timed from its request's first byte on
   * the wire to the receive time of its last byte (the kernel's, with
   * af_packet's ring), not by the poll loop's clock.
   */
  private readonly w: WireTimes | null;
  /** The clocks its responses are timed with on the wire, or null (the poll loop's clock, no wire split). */
  readonly wireClock: WireClock | null;
  /** Prebuilt request bytes: [i] keep-alive, [n + i] with Connection: close. */
  private readonly wire: Uint8Array[];
  private readonly isHead: boolean[];
  private readonly conns: (ClientConn | null)[] = [];
  private readonly pool: ClientConn[] = [];
  private open = 0;
  /** Open connections that have not started a request yet: each will take one. */
  private fresh = 0;
  private nextReq = 0;
  /** stop() was called: no new requests or connections. */
  private stopped = false;
  /** giveUpAfter attempts in a row failed: no new connections. */
  private gaveUp = false;
  /** Failed attempts since the last established connection. */
  private failsInRow = 0;
  /** Replacements of connections that failed to open, waiting for a retry token; the tokens. */
  private retries = 0;
  private retryTokens = 1;
  private lastTickUs = -1;
  private nextSweepUs = 0;
  /** Requests sent and not answered, connections opening: kept as they change (read every tick by the workers). */
  private inFlightN = 0;
  private openingN = 0;
  /** end() froze the counts: what closes afterwards is not counted again. */
  private ended = false;
  /** Each reason's message toward this server, and those of the client's own deadlines. */
  private readonly failMsg: string[];
  private readonly connectMsg: string;
  private readonly readMsg: string;
  private readonly responseMsg: string;
  /** Open model: connections open and idle, which a request arrival takes (a stack of ids). */
  private idle: Int32Array = new Int32Array(64);
  private idleN = 0;
  private readonly pick: WeightedPick | null;
  /** Connections wanted now (stages scale it: setConnections), and those closing because they are too many. */
  private target: number;
  private shedding = 0;
  private started = false;
  /** Connections waiting for a time: think time, or their next request's intended start. */
  private readonly due = new DueQueue();
  /** Its source addresses srcIp..srcIpHi, in turn. */
  private readonly src: AddrCycle;
  done = false;

  constructor(opt: Partial<ClientOptions> & Pick<ClientOptions, 'transport' | 'dstIp' | 'dstPort' | 'host' | 'requests'>) {
    this.opt = { ...DEFAULT_CLIENT_OPTIONS, ...opt };
    const o = this.opt;
    if (o.onHeader !== null) o.parser = { ...o.parser, headers: true };
    if (o.requests.length === 0) throw new RangeError('no requests configured');
    if (!(o.pipeline >= 1 && o.pipeline <= 1024)) throw new RangeError('pipeline depth must be 1..1024');
    if (!(o.connections >= 1)) throw new RangeError('connections must be >= 1');
    this.t = o.transport;
    this.src = new AddrCycle(o.srcIp, o.srcIpHi);
    this.w = o.pipeline === 1 ? (o.transport.wire ?? null) : null;
    this.wireClock = this.w?.clock ?? null;
    this.wire = [
      ...o.requests.map((r) => buildRequest(r, o.host, false)),
      ...o.requests.map((r) => buildRequest(r, o.host, true)),
    ];
    this.isHead = o.requests.map((r) => r.method === 'HEAD');
    this.pick = o.weights === null ? null : new WeightedPick(o.weights);
    this.target = o.connections;
    if (this.pick !== null && o.rng === null) throw new RangeError('weighted requests need a PRNG');
    this.stats.entryRequests = new Float64Array(o.requests.length);
    this.stats.entryResponses = new Float64Array(o.requests.length);
    if (!(o.retryRate > 0)) o.retryRate = o.connections;
    if (o.giveUpAfter < 0) o.giveUpAfter = o.connections;
    const peer = `${ipToString(o.dstIp)}:${o.dstPort}`;
    this.failMsg = Array.from({ length: FAIL_COUNT }, (_, i) => failText(i, peer));
    this.connectMsg = `${this.failMsg[Fail.CONNECT_TIMEOUT]}: not open within ${o.connectTimeoutUs / 1e6} s`;
    this.readMsg = `${this.failMsg[Fail.RESPONSE_TIMEOUT]}: nothing received for ${o.readTimeoutUs / 1e6} s`;
    this.responseMsg = `${this.failMsg[Fail.RESPONSE_TIMEOUT]}: not complete within ${o.responseTimeoutUs / 1e6} s`;
  }

  start(): void {
    if (this.opt.open) return; // arrivals open the connections
    const n = Math.min(this.target, this.opt.totalRequests) - this.open;
    for (let i = 0; i < n && !this.stopped; i++) this.openConn();
    this.started = true;
    this.finishIfDone();
  }

  /** The closed model's connections from now on: more are opened at once, the surplus closes as each finishes its request. */
  setConnections(n: number): void {
    this.target = n;
    if (!this.started) return;
    while (!this.stopped && !this.gaveUp && this.open - this.shedding + this.retries < n && this.nextReq + this.fresh < this.opt.totalRequests) this.openConn();
  }

  /** Stops issuing requests; connections close as their answers arrive. */
  stop(): void {
    this.stopped = true;
    this.retries = 0;
    for (const c of this.conns) if (c !== null && c !== undefined && c.qCount === 0) this.t.close(c.id);
    this.finishIfDone();
  }

  /**
   * The run is over and its connections are about to be torn down: what is in
   * flight now stays counted as in flight (and connections opening as
   * cancelled), not as failures of the teardown.
   */
  end(): void {
    this.ended = true;
  }

  /**
   * Open model: a request due at `intendedUs`. It takes an idle connection, or
   * opens one if fewer than maxConcurrent are open; else it is dropped.
   */
  arriveRequest(intendedUs: number): void {
    if (!this.arrive()) return;
    if (this.idleN > 0) {
      const c = this.conns[this.idle[--this.idleN]] as ClientConn;
      c.idleAt = -1;
      c.nextAt = intendedUs;
      this.pump(c);
      return;
    }
    this.openFor(intendedUs, this.opt.requestsPerConnection > 0 ? this.opt.requestsPerConnection : Infinity, false);
  }

  /**
   * Open model: a connection due at `intendedUs` that carries `requests`
   * requests, back to back (its first timed from `intendedUs`); dropped when
   * maxConcurrent connections are open.
   */
  arriveConn(intendedUs: number, requests: number): void {
    if (this.arrive()) this.openFor(intendedUs, requests, true);
  }

  /** A connection for an arrival, unless maxConcurrent are open (the arrival is dropped). */
  private openFor(intendedUs: number, budget: number, chain: boolean): void {
    const b = this.opt.budget;
    if (b !== null && b.open >= b.max) {
      this.stats.dropped++;
      return;
    }
    const c = this.openConn();
    if (c === null) return;
    c.nextAt = intendedUs;
    c.budget = budget;
    c.chain = chain;
  }

  /** Counts an arrival; false once the load stopped or its requests are all issued. */
  private arrive(): boolean {
    if (this.stopped || this.nextReq >= this.opt.totalRequests) return false;
    this.stats.arrivals++;
    return true;
  }

  /** Requests written or queued on open connections, not answered yet. */
  get inFlight(): number {
    return this.inFlightN;
  }

  /** Connections opened and not established yet (nor closed). */
  get opening(): number {
    return this.openingN;
  }

  /** From the poll loop: retry tokens, replacements of failed connections, and (each SWEEP_US) the deadlines. */
  tick(nowUs: number): void {
    const o = this.opt;
    if (this.lastTickUs >= 0) this.retryTokens = Math.min(1, this.retryTokens + ((nowUs - this.lastTickUs) * o.retryRate) / 1e6);
    this.lastTickUs = nowUs;
    while (this.retries > 0 && this.retryTokens >= 1 && !this.stopped && !this.gaveUp && !o.open) {
      this.retries--;
      this.retryTokens--;
      if (this.opt.totalRequests - this.nextReq > this.fresh) this.openConn();
    }
    while (this.due.nextAt <= nowUs) {
      const at = this.due.nextAt;
      this.due.pop();
      const c = this.conns[this.due.lastId];
      if (c === null || c === undefined || c.serial !== this.due.lastTag || !c.waiting) continue;
      c.waiting = false;
      if (c.chain) c.nextAt = at;
      else c.thought = true;
      this.pump(c);
    }
    if (nowUs < this.nextSweepUs || (o.connectTimeoutUs === 0 && o.readTimeoutUs === 0 && o.responseTimeoutUs === 0)) return;
    this.nextSweepUs = nowUs + SWEEP_US;
    for (const c of this.conns) {
      if (c === null || c === undefined || c.fail >= 0) continue;
      if (!c.connected) {
        if (o.connectTimeoutUs > 0 && nowUs - c.openedAt > o.connectTimeoutUs) this.failConn(c, Fail.CONNECT_TIMEOUT, this.connectMsg);
        continue;
      }
      // Silence counts from the last delivery, or from the end of our own writing: no answer is due while a
      // request (an upload's body) is still going out; TCP's own timers bound a send that makes no progress.
      if (c.rx !== c.rxSeen || c.writing >= 0) {
        c.rxSeen = c.rx;
        c.quietSince = nowUs;
      }
      // The oldest request, once written (a paced one may still wait for its token).
      const at = c.qCount > 0 ? c.sentAt[c.qHead] : -1;
      if (at < 0) continue;
      if (o.readTimeoutUs > 0 && nowUs - Math.max(at, c.quietSince) > o.readTimeoutUs) this.failConn(c, Fail.RESPONSE_TIMEOUT, this.readMsg);
      else if (o.responseTimeoutUs > 0 && nowUs - at > o.responseTimeoutUs) this.failConn(c, Fail.RESPONSE_TIMEOUT, this.responseMsg);
    }
    this.finishIfDone();
  }

  // --- transport callbacks ---

  onConnected(conn: number): void {
    const c = this.conns[conn];
    if (!c || this.ended) return;
    c.connected = true;
    this.openingN--;
    this.stats.connects++;
    const ph = this.opt.phases;
    if (ph !== null) {
      const tcpUs = this.t.connectUs?.(conn) ?? -1;
      if (tcpUs >= 0) ph.record(PH_CONNECT, tcpUs);
      const tlsUs = this.t.handshakeUs?.(conn) ?? -1;
      if (tlsUs >= 0) ph.record(PH_TLS, tlsUs);
    }
    this.failsInRow = 0;
    this.pump(c);
  }

  onData(conn: number, u8: Uint8Array, off: number, len: number): void {
    const c = this.conns[conn];
    if (!c) return;
    c.rx++;
    const w = this.w;
    const ph = this.opt.phases;
    if (w !== null && ph !== null && !c.answering && c.qCount > 0) {
      // Its first byte: the server's time is from the request's last byte out.
      c.answering = true;
      const out = w.runLastTxUs(conn);
      if (out >= 0) ph.record(PH_SERVER, w.rxUs() - out);
    }
    c.parser.feed(u8, off, len);
    // The first byte of the answer in progress came in this delivery (after the feed: with pipelining, the end
    // of one answer and the start of the next can share one). An answer whole in it takes its response time.
    if (c.ttfb < 0 && c.qCount > 0 && this.opt.phases !== null && !c.parser.idle() && c.sentAt[c.qHead] >= 0) c.ttfb = this.since(c, c.qHead);
  }

  onWireRtt(conn: number, us: number): void {
    if (this.opt.phases !== null && this.conns[conn]) this.opt.phases.record(PH_WIRE_RTT, us);
  }

  onWritable(conn: number): void {
    const c = this.conns[conn];
    if (c) this.pump(c);
  }

  onPeerClosed(conn: number): void {
    const c = this.conns[conn];
    if (!c) return;
    c.parser.finish(); // completes a close-delimited body or counts a truncation
    this.t.close(conn);
  }

  onClosed(conn: number, reason: number): void {
    const c = this.conns[conn];
    if (!c) return;
    if (this.opt.budget !== null) this.opt.budget.open--;
    if (c.shed) this.shedding--;
    if (c.idleAt >= 0) {
      // Off the idle stack: the top takes its place.
      const top = this.idle[--this.idleN];
      this.idle[c.idleAt] = top;
      (this.conns[top] as ClientConn).idleAt = c.idleAt;
      c.idleAt = -1;
    }
    this.conns[conn] = null;
    this.pool.push(c);
    this.open--;
    if (c.issued === 0) this.fresh--;
    if (this.ended) return;
    if (c.connected) this.inFlightN -= c.qCount;
    else this.openingN--;
    let code = c.fail;
    if (code < 0) {
      // RFC 9293 §3.10.4: CLOSE in SYN-SENT deletes the TCB; stop() closed it, it did not fail.
      if (!c.connected && this.stopped) this.stats.cancelled++;
      else code = failOfClose(reason, c.connected, c.qCount);
    }
    if (code >= 0) {
      const msg = c.failMsg ?? (this.t.closeDetail?.(conn) || this.failMsg[code]);
      this.countFailure(code, c.connected ? c.qCount : 1, c.connected, msg);
    }
    if (!this.stopped && !this.gaveUp && !this.opt.open && this.opt.totalRequests - this.nextReq > this.fresh + this.retries && this.open - this.shedding + this.retries < this.target) {
      // A connection that could not open is replaced at the retry rate (no SYN storm toward a dead
      // server); one that was open, at once.
      if (code >= 0 && !c.connected) this.retries++;
      else this.openConn();
    }
    this.finishIfDone();
  }

  // --- parser callbacks (through ClientConn) ---

  responseHead(c: ClientConn, h: MessageHead): boolean {
    if (h.status < 200) {
      this.stats.informational++;
      return false;
    }
    const r = c.reqIdx[c.qHead];
    c.check.begin(this.opt.requests[r].sha256 !== undefined);
    return this.isHead[r];
  }

  responseDone(c: ClientConn, h: MessageHead): void {
    const s = this.stats;
    const slot = c.qHead;
    const rtt = this.since(c, slot);
    c.answering = false;
    const r = c.reqIdx[slot];
    c.qHead = (slot + 1) % c.sentAt.length;
    c.qCount--;
    this.inFlightN--;
    s.responses++;
    s.entryResponses[r]++;
    s.statusClass[(h.status / 100) | 0]++;
    s.bodyBytes += c.parser.bodyBytes;
    const ph = this.opt.phases;
    if (ph !== null) {
      // Counted with the response, so that both phases hold one value per answer.
      ph.record(PH_TTFB, c.ttfb < 0 ? rtt : c.ttfb);
      ph.record(PH_RESPONSE, rtt);
    }
    c.ttfb = -1;
    s.rttSumUs += rtt;
    if (rtt < s.rttMinUs) s.rttMinUs = rtt;
    if (rtt > s.rttMaxUs) s.rttMaxUs = rtt;
    const want = this.opt.requests[r].sha256;
    const digest = c.check.digest();
    if (this.opt.pattern !== null || want !== undefined) {
      if (c.check.patternMatched() && (want === undefined || want === digest)) s.verifyOk++;
      else s.verifyFailed++;
    }
    if (this.opt.onResponse !== null) this.opt.onResponse(h.status, c.parser.bodyBytes, rtt, digest, c.check.body(), r);
    if (!c.parser.keepAlive) this.t.close(c.id);
    else this.pump(c);
  }

  header(buf: Uint8Array, nameOff: number, nameLen: number, valOff: number, valLen: number): void {
    const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
    (this.opt.onHeader as (n: string, v: string) => void)(
      b.toString('latin1', nameOff, nameOff + nameLen),
      b.toString('latin1', valOff, valOff + valLen),
    );
  }

  parseError(c: ClientConn, code: number): void {
    this.stats.errors[code]++;
    // A body cut short by the peer's FIN: the close that follows fails its request as closed early.
    if (code === HttpErr.TRUNCATED_BODY) return;
    this.failConn(c, Fail.HTTP_PARSE, PARSE_FAIL_TEXT[code]);
  }

  // --- internals ---

  /**
   * From the start of request `slot` (its first byte written, or on the wire;
   * the open model's intended time) to now, or to the receipt on the wire of
   * the bytes being delivered.
   */
  private since(c: ClientConn, slot: number): number {
    const w = this.w;
    if (w === null) return this.opt.clock.nowUs() - c.sentAt[slot];
    const first = this.opt.open ? -1 : w.runFirstTxUs(c.id);
    return w.rxUs() - (first >= 0 ? first : c.sentAt[slot]);
  }

  /** The client's own verdict on a connection: it is aborted, and onClosed counts it under `code`, with `msg`. */
  private failConn(c: ClientConn, code: number, msg: string): void {
    c.fail = code;
    c.failMsg = msg;
    this.t.abort(c.id);
  }

  /** `n` requests (or, with `usable` false, one connection) failed for reason `code`. */
  private countFailure(code: number, n: number, usable: boolean, msg: string): void {
    const s = this.stats;
    if (usable) {
      s.failedRequests += n;
    } else {
      s.connectFailures++;
      if (++this.failsInRow >= this.opt.giveUpAfter && this.opt.giveUpAfter > 0) this.gaveUp = true;
    }
    s.failures[code] += n;
    s.lastFailure[code] = msg;
  }

  private openConn(): ClientConn | null {
    const o = this.opt;
    this.stats.attempts++;
    const id = this.t.connect(this.src.next(), o.dstIp, o.dstPort, this, 0, o.connect);
    if (id < 0) {
      // No route, or a next hop that did not answer ARP, is the network's failure; the rest is ours (no TCB, no port).
      const why = id === TcpError.UNREACHABLE || id === TcpError.NO_ROUTE ? Fail.UNREACHABLE : Fail.LOCAL;
      this.countFailure(why, 1, false, `${this.failMsg[why]}: error ${id}`);
      if (!this.gaveUp && !o.open) this.retries++;
      return null;
    }
    const c = this.pool.pop() ?? new ClientConn(this, o.pipeline, o);
    c.reset(id);
    c.openedAt = o.clock.nowUs();
    this.openingN++;
    this.conns[id] = c;
    this.open++;
    this.fresh++;
    if (o.budget !== null) o.budget.open++;
    return c;
  }

  /** Writes requests until the pipeline is full, the budget is spent or the transport pushes back. */
  private pump(c: ClientConn): void {
    const o = this.opt;
    const depth = c.sentAt.length;
    while (true) {
      if (c.writing < 0) {
        if (c.qCount >= depth) return;
        if (this.stopped || this.nextReq >= o.totalRequests || (o.requestsPerConnection > 0 && c.issued >= o.requestsPerConnection) || c.issued >= c.budget) {
          if (c.qCount === 0) this.t.close(c.id); // nothing left for this connection
          return;
        }
        if (c.waiting) return;
        if (!o.open && this.open - this.shedding > this.target && !c.shed) {
          // More connections than the stage wants: this one closes once its answers are in.
          c.shed = true;
          this.shedding++;
        }
        if (c.shed) {
          if (c.qCount === 0) this.t.close(c.id);
          return;
        }
        let at = -1;
        if (o.open) {
          if (c.nextAt >= 0) at = c.nextAt;
          else if (c.chain) {
            // A connection's next request: back to back, or due gapUs after the last one's intended start.
            const now = o.clock.nowUs();
            if (o.gapUs === 0) at = now;
            else if (c.lastAt + o.gapUs > now) return this.wait(c, c.lastAt + o.gapUs);
            else at = c.lastAt + o.gapUs;
          } else {
            if (c.qCount === 0 && c.idleAt < 0) this.pushIdle(c);
            return;
          }
          c.nextAt = -1;
          c.lastAt = at;
        } else if (o.thinkUs > 0 && c.issued > 0 && !c.thought) {
          if (c.qCount === 0) this.wait(c, o.clock.nowUs() + o.thinkUs);
          return;
        }
        c.thought = false;
        const r = this.pick === null ? this.nextReq % o.requests.length : this.pick.pick((o.rng as Prng).next());
        this.nextReq++;
        this.stats.entryRequests[r]++;
        if (c.issued++ === 0) this.fresh--;
        const last = (o.requestsPerConnection > 0 && c.issued === o.requestsPerConnection) || this.nextReq === o.totalRequests;
        c.writing = r;
        c.writeOff = 0;
        c.writeBytes = this.wire[last ? o.requests.length + r : r];
        const slot = (c.qHead + c.qCount) % depth;
        c.sentAt[slot] = at; // -1: set when the transport takes the first bytes
        c.reqIdx[slot] = r;
        c.qCount++;
        this.inFlightN++;
        this.stats.requests++;
      }
      const b = c.writeBytes as Uint8Array;
      const n = this.t.write(c.id, b, c.writeOff, b.length - c.writeOff);
      if (n < 0) return;
      if (n > 0 && c.writeOff === 0) {
        const slot = (c.qHead + c.qCount - 1) % depth;
        if (c.sentAt[slot] < 0) c.sentAt[slot] = o.clock.nowUs();
        else if (o.phases !== null) o.phases.record(PH_SCHEDULE, o.clock.nowUs() - c.sentAt[slot]); // open model: from its intended start
      }
      c.writeOff += n;
      if (c.writeOff < b.length) return; // onWritable resumes
      c.writing = -1;
    }
  }

  /** `c` waits until `at` (tick() pumps it then). */
  private wait(c: ClientConn, at: number): void {
    c.waiting = true;
    this.due.push(at, c.id, c.serial);
  }

  private pushIdle(c: ClientConn): void {
    if (this.idleN === this.idle.length) {
      const grown = new Int32Array(this.idle.length * 2);
      grown.set(this.idle);
      this.idle = grown;
    }
    c.idleAt = this.idleN;
    this.idle[this.idleN++] = c.id;
  }

  private finishIfDone(): void {
    if (this.done || this.open > 0) return;
    if (!this.stopped && !this.gaveUp && this.nextReq < this.opt.totalRequests) return;
    this.done = true;
    if (this.opt.onDone !== null) this.opt.onDone(this.stats);
  }
}
