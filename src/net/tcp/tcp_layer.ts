/**
 * The TCP layer of one worker: an L4Handler registered with the network
 * stack. It owns the TCB store, buffers, timers and listeners, dispatches
 * arriving segments, and offers the connection API of api.ts. The protocol
 * logic lives in the files beside it, split by concern.
 */
import type { Clock } from '../../common/clock.js';
import type { BufferPool } from '../../core/buffer_pool.js';
import { WireError } from '../../wire/error.js';
import { TCP_ACK, TCP_RST, TCP_SYN, newTcpRepr, parseTcp, tcpChecksumOk, type TcpRepr } from '../../wire/tcp.js';
import { newTcpOptionsRepr, parseTcpOptions, type TcpOptionsRepr } from '../../wire/tcp_options.js';
import type { L4Handler } from '../l4.js';
import { CloseReason, TcpError, type TcpHandler, type TcpOptions } from './api.js';
import { CHUNK_SIZE, ChunkPool, SendBuffers } from './chunk_pool.js';
import { TcpConfig } from './config.js';
import { Listener, connect, listen, noConnection, timeWaitReusable } from './connect.js';
import { TcpCounters } from './counters.js';
import { IsnGenerator } from './isn.js';
import { PortPool } from './port_pool.js';
import { Cubic } from './cubic.js';
import { Pacer } from './pacing.js';
import { Prr } from './prr.js';
import { Rack } from './rack.js';
import { segmentArrives } from './rcv.js';
import { type CongestionControl, NewReno, ccIndex } from './reno.js';
import { RtxQueue } from './rtx_queue.js';
import { TcpStats } from './tcp_stats.js';
import { Undo } from './undo.js';
import { output, sendAck, transmit } from './snd.js';
import {
  CLOSE_WAIT, CLOSED, ESTABLISHED, F_ACK_NOW, F_CLOSE, F_DEFERRED, F_FIN_QUEUED, F_NOTIFIED, F_OOO_FIN, F_PASSIVE, F_WANT_WRITABLE,
  FIN_WAIT_1, FIN_WAIT_2, LAST_ACK, SYN_RECEIVED, SYN_SENT, TIME_WAIT, TcbStore,
} from './tcb.js';
import { TimeWaitFifo, TimerWheel } from './timer.js';
import { onTimer, refile } from './timers.js';

/** What TCP needs from the network layer (NetStack provides it). */
export interface TcpStack {
  readonly pool: BufferPool;
  readonly clock: Clock;
  outputIpv4(slot: number, srcIp: number, dstIp: number, proto: number, l4Len: number): void;
  ownsAddress(ip: number): boolean;
  /** Owned address ranges (inclusive): the source pool spans them. */
  readonly addrLo: Uint32Array;
  readonly addrHi: Uint32Array;
  /** The state of `dstIp`'s next hop (HOP_*), starting its resolution when unknown. */
  nextHop(dstIp: number): number;
}

/** ICMP destination unreachable (type 3), as `type << 8 | code`. */
const ICMP_UNREACH_TYPE = 3;

export class TcpLayer implements L4Handler {
  readonly pool: BufferPool;
  readonly cfg: TcpConfig;
  readonly t: TcbStore;
  readonly chunks: ChunkPool;
  readonly sb: SendBuffers;
  /** The sender's scoreboard: every segment in flight (rtx_queue.ts). */
  readonly rtx: RtxQueue;
  readonly rack: Rack;
  readonly prr: Prr;
  readonly undo: Undo;
  readonly pacer: Pacer;
  /** Congestion controllers, indexed by CC_NEWRENO / CC_CUBIC (each connection's in TcbStore.ccAlgo). */
  readonly ccs: CongestionControl[];
  readonly wheel: TimerWheel;
  readonly tw: TimeWaitFifo;
  readonly ports: PortPool;
  readonly isn: IsnGenerator;
  /** Keyed hash of a 4-tuple giving its timestamp offset (tsVal). */
  readonly tsKey: IsnGenerator;
  readonly counters = new TcpCounters();
  /** cwnd and SRTT distributions over the run (tcp_stats.ts). */
  readonly stats = new TcpStats();
  readonly listeners: Listener[] = [];
  /** First listener index per port, -1 none. */
  readonly lsnByPort = new Int32Array(65536).fill(-1);
  /** Parsed header and options of the segment being processed, and of the one being built. */
  readonly rx: TcpRepr = newTcpRepr();
  readonly rxOpt: TcpOptionsRepr = newTcpOptionsRepr();
  readonly txRepr: TcpRepr = newTcpRepr();
  readonly txOpt: TcpOptionsRepr = newTcpOptionsRepr();
  /** Out-of-order chunks one connection may hold: a window of quarter-full chunks. */
  readonly oooMaxChunks: number;
  /** A D-SACK block (RFC 2883) owed by connection dsackConn's next segment, -1 none. */
  dsackConn = -1;
  dsackL = 0;
  dsackR = 0;
  nowUs = 0;
  nowMs = 0;
  /** Last segment send time handed out by xmitTime(). */
  private lastXmitUs = 0;
  challengeSecond = -1;
  challengeCount = 0;
  /** Nesting of input()/tick(): an API call from a callback then reuses their time instead of reading the clock. */
  private inStack = 0;
  /**
   * Connections written to while a received burst is being processed (Linux
   * calls this autocorking): their output waits for burstEnd(), so answers to
   * several segments of the burst leave in one segment. Twice the TCB count:
   * an id released and reused within a burst can be listed twice.
   */
  private readonly deferred: Int32Array;
  private nDeferred = 0;
  /** From a burst's first segment to burstEnd(). */
  private bursting = false;
  private readonly fire: (c: number) => void;

  constructor(
    readonly stack: TcpStack,
    opts: TcpOptions,
  ) {
    this.pool = stack.pool;
    this.cfg = new TcpConfig(opts);
    this.ports = new PortPool(opts.ephemeralPorts?.lo, opts.ephemeralPorts?.hi, opts.portKey);
    this.ports.setAddresses(stack.addrLo, stack.addrHi);
    const max = this.cfg.maxConns;
    this.t = new TcbStore(max);
    this.chunks = new ChunkPool(this.pool, this.cfg.chunks);
    this.sb = new SendBuffers(this.chunks, max);
    // Records for the segments in flight: two per chunk of send buffer (segments of a quarter chunk's size or more fit).
    this.rtx = new RtxQueue(max, Math.max(1024, 2 * this.cfg.chunks), this);
    this.rack = new Rack(max, this);
    this.prr = new Prr(max);
    this.undo = new Undo(max);
    this.pacer = new Pacer(max, this.cfg.pacing, this);
    this.ccs = [new NewReno(this.t, this), new Cubic(this.t, this, this.cfg.pacing)];
    this.wheel = new TimerWheel(max);
    this.deferred = new Int32Array(2 * max);
    this.tw = new TimeWaitFifo(max);
    this.isn = new IsnGenerator(opts.isnKey);
    this.tsKey = new IsnGenerator(opts.tsKey);
    this.oooMaxChunks = Math.min(65535, Math.ceil(this.cfg.rcvBuf / (CHUNK_SIZE / 4)));
    this.fire = (c: number) => onTimer(this, c);
  }

  /**
   * The layer's time never moves back: a poll burst's time can be older than
   * an API call's live clock read, and TSval (RFC 7323 §5.4: monotone), RTT
   * samples and timer deadlines all derive from it.
   */
  private setNow(nowUs: number): void {
    if (nowUs <= this.nowUs) return;
    this.nowUs = nowUs;
    this.nowMs = Math.floor(nowUs / 1000);
  }

  /** The time for an API call: the packet's or tick's time inside a callback, the clock's otherwise. */
  private apiNow(): void {
    if (this.inStack === 0) this.setNow(this.stack.clock.nowUs());
  }

  /**
   * The send time of a segment leaving now, in µs: the clock, but strictly
   * increasing (a nanosecond past the last one within one burst time), so that
   * RACK (RFC 8985) can tell which of two segments left later: a retransmission
   * sent while the same received burst is processed is later than data sent
   * before it at the same clock reading.
   */
  xmitTime(): number {
    const n = this.nowUs;
    const x = n > this.lastXmitUs ? n : this.lastXmitUs + 0.001;
    this.lastXmitUs = x;
    return x;
  }

  /** The congestion controller of connection `c`. */
  ccOf(c: number): CongestionControl {
    return this.ccs[this.t.ccAlgo[c]];
  }

  /** The next segment of `c` reports [l, r) as a duplicate (RFC 2883 D-SACK). */
  dsack(c: number, l: number, r: number): void {
    this.dsackConn = c;
    this.dsackL = l;
    this.dsackR = r;
  }

  /**
   * Our TSval on `c`: the timestamp clock (1 ms ticks) plus the connection's
   * offset, a keyed hash of its 4-tuple with a per-run random key (RFC 7323
   * §5.4 and §7.1; Linux's secure_tcp_ts_off hashes the address pair with a
   * boot-time key). Monotone on a connection,
   * so PAWS works, yet unrelated across connections and runs. Never 0, so an
   * echo of 0 means "none".
   */
  tsVal(c: number): number {
    const v = (this.nowMs + 1 + this.t.tsOff[c]) >>> 0;
    return v === 0 ? 1 : v;
  }

  /** The state of `dstIp`'s next hop (HOP_* of net/l4.ts): a client load waits for it before its first SYN. */
  nextHop(dstIp: number): number {
    return this.stack.nextHop(dstIp >>> 0);
  }

  /** True while `c` is still the incarnation with generation `g`. */
  alive(c: number, g: number): boolean {
    return this.t.gen[c] === g && this.t.state[c] !== CLOSED;
  }

  // ---- L4Handler ----

  input(slot: number, _l3Off: number, l4Off: number, l4Len: number, srcIp: number, dstIp: number, nowUs: number): void {
    this.setNow(nowUs);
    this.bursting = true;
    this.inStack++;
    try {
      this.segment(slot, l4Off, l4Len, srcIp, dstIp);
    } finally {
      this.inStack--;
    }
  }

  private segment(slot: number, l4Off: number, l4Len: number, srcIp: number, dstIp: number): void {
    const pool = this.pool;
    const dv = pool.dv;
    const r = this.rx;
    const k = this.counters;
    k.segsIn++;
    if (parseTcp(dv, l4Off, l4Len, r) !== WireError.OK) {
      k.rxBadHeader++;
    } else if (!tcpChecksumOk(dv, l4Off, l4Len, srcIp, dstIp)) {
      k.rxBadChecksum++;
    } else if (parseTcpOptions(dv, r.optOff, r.optLen, this.rxOpt) !== WireError.OK) {
      k.rxBadOption++;
    } else {
      let c = this.t.lookup(dstIp, r.dstPort, srcIp, r.srcPort);
      let oldSndNxt = -1;
      if (c >= 0 && this.t.state[c] === TIME_WAIT && (r.flags & (TCP_SYN | TCP_ACK | TCP_RST)) === TCP_SYN && timeWaitReusable(this, c)) {
        k.twRecycled++;
        oldSndNxt = this.t.sndNxt[c];
        this.release(c);
        c = -1;
      }
      if (c < 0) noConnection(this, srcIp, dstIp, oldSndNxt);
      else segmentArrives(this, c);
    }
    pool.free(slot);
  }

  icmpError(code: number, srcIp: number, dstIp: number, _proto: number, srcPort: number, dstPort: number): void {
    const c = this.t.lookup(srcIp, srcPort, dstIp, dstPort);
    if (c < 0) return;
    // RFC 1122 §4.2.3.9: unreachable is a hard error only while connecting; otherwise it is soft.
    if (code >> 8 === ICMP_UNREACH_TYPE && this.t.state[c] === SYN_SENT) {
      this.closeConn(c, CloseReason.UNREACHABLE);
      return;
    }
    this.counters.icmpSoftErrors++;
  }

  burstEnd(): void {
    this.bursting = false;
    const n = this.nDeferred;
    this.nDeferred = 0;
    const t = this.t;
    for (let i = 0; i < n; i++) {
      const c = this.deferred[i];
      if ((t.flags[c] & F_DEFERRED) === 0) continue;
      t.flags[c] &= ~F_DEFERRED;
      output(this, c);
      // An ACK left to this output (ackNow) goes bare if no data could.
      if ((t.flags[c] & F_ACK_NOW) !== 0) {
        t.flags[c] &= ~F_ACK_NOW;
        if (t.state[c] !== CLOSED && t.state[c] !== TIME_WAIT) sendAck(this, c);
      }
    }
  }

  tick(nowUs: number): void {
    this.setNow(nowUs);
    this.inStack++;
    try {
      this.expire();
    } finally {
      this.inStack--;
    }
  }

  /** Fires due timers and ends TIME_WAITs whose 2*MSL passed. */
  private expire(): void {
    this.wheel.advance(this.nowMs, this.fire);
    const tw = this.tw;
    const t = this.t;
    while (tw.size > 0 && tw.expAt(0) <= this.nowMs) {
      const c = tw.idAt(0);
      const g = tw.genAt(0);
      tw.pop();
      if (t.state[c] === TIME_WAIT && t.gen[c] === g) this.release(c);
    }
  }

  /**
   * While some connection has data in flight (or queued to send), the poll
   * loop should not sleep: an ACK arriving during a 1 ms nap would wait for
   * it, and the sender's RTT, and so the rate its window gives, with it.
   */
  busy(): boolean {
    return this.rtx.rings > 0;
  }

  // ---- connection lifecycle (used by the protocol files) ----

  /** Frees every resource of `c` and its id, without telling the application. */
  release(c: number): void {
    const t = this.t;
    if (t.state[c] === SYN_RECEIVED && t.listener[c] >= 0) this.listeners[t.listener[c]].pending--;
    this.wheel.cancel(c);
    this.sb.clear(c);
    this.freeOoo(c);
    this.rtx.clear(c);
    this.rack.reoAt[c] = 0;
    this.pacer.reset(c);
    if (this.dsackConn === c) this.dsackConn = -1;
    t.free(c);
  }

  private freeOoo(c: number): void {
    const t = this.t;
    this.chunks.freeChain(t.oooHead[c]);
    t.oooHead[c] = -1;
    t.oooCount[c] = 0;
    t.flags[c] &= ~F_OOO_FIN;
  }

  /** Ends `c` and reports `reason` to the application (unless it never saw the connection). */
  closeConn(c: number, reason: number): void {
    const t = this.t;
    const h = t.handler[c];
    const silent = (t.flags[c] & F_NOTIFIED) !== 0 || ((t.flags[c] & F_PASSIVE) !== 0 && t.state[c] === SYN_RECEIVED);
    const k = this.counters;
    if (reason === CloseReason.RESET) k.resets++;
    else if (reason === CloseReason.TIMEOUT) k.timeouts++;
    k.closed++;
    this.release(c);
    if (h !== null && !silent) h.onClosed(c, reason);
  }

  /** RFC 9293 TIME_WAIT: buffers go at once, the tuple stays for 2*MSL in the FIFO; the app is told now. */
  enterTimeWait(c: number): void {
    const t = this.t;
    this.wheel.cancel(c);
    this.sb.clear(c);
    this.freeOoo(c);
    this.rtx.clear(c);
    this.rack.reoAt[c] = 0;
    this.pacer.reset(c);
    t.rtoAt[c] = 0;
    t.dackAt[c] = 0;
    t.kaAt[c] = 0;
    t.state[c] = TIME_WAIT;
    const tw = this.tw;
    while (tw.full) {
      // More TIME_WAIT than TCBs can have filed: the oldest ends early.
      const o = tw.idAt(0);
      const og = tw.genAt(0);
      tw.pop();
      if (t.state[o] === TIME_WAIT && t.gen[o] === og) {
        this.counters.timeWaitEarly++;
        this.release(o);
      }
    }
    tw.push(c, t.gen[c], this.nowMs + this.cfg.timeWaitMs);
    this.counters.timeWaitEntered++;
    this.counters.closed++;
    const h = t.handler[c];
    t.handler[c] = null;
    const notify = (t.flags[c] & F_NOTIFIED) === 0;
    t.flags[c] |= F_NOTIFIED;
    if (h !== null && notify) h.onClosed(c, CloseReason.NORMAL);
  }

  // ---- the connection API ----

  /** Opens a connection (srcIp 0: a source address and port from the pool); returns its id or a negative TcpError. */
  connect(srcIp: number, dstIp: number, dstPort: number, handler: TcpHandler, srcPort = 0): number {
    this.apiNow();
    return connect(this, srcIp >>> 0, dstIp >>> 0, dstPort, handler, srcPort);
  }

  /** An active open's SYN -> SYN-ACK time in µs, from onConnected until the connection is released; -1 otherwise. */
  connectUs(c: number): number {
    return this.usable(c) ? this.t.connectUs[c] : -1;
  }

  /** Accepts connections on `port` of `ip` (0 = any owned address); returns a listener id or a negative TcpError. */
  listen(ip: number, port: number, handler: TcpHandler, backlog = this.cfg.backlog): number {
    return listen(this, ip, port, handler, backlog);
  }

  private usable(c: number): boolean {
    return Number.isInteger(c) && c >= 0 && c < this.t.max && this.t.state[c] !== CLOSED && (this.t.flags[c] & F_NOTIFIED) === 0;
  }

  /** Queues bytes to send; returns how many were accepted (less than `len` means back-pressure: wait for onWritable). */
  write(c: number, u8: Uint8Array, off: number, len: number): number {
    if (!this.usable(c)) return TcpError.INVALID;
    this.apiNow();
    const t = this.t;
    const st = t.state[c];
    if ((t.flags[c] & F_FIN_QUEUED) !== 0 || (st !== ESTABLISHED && st !== CLOSE_WAIT && st !== SYN_SENT && st !== SYN_RECEIVED)) {
      return TcpError.INVALID;
    }
    const space = this.cfg.sndBuf - this.sb.len[c];
    const want = len < space ? len : space > 0 ? space : 0;
    const n = want > 0 ? this.sb.append(c, u8, off, want) : 0;
    if (n < len) t.flags[c] |= F_WANT_WRITABLE;
    if (n > 0) {
      if (this.bursting) this.defer(c);
      else output(this, c);
    }
    return n;
  }

  private defer(c: number): void {
    const t = this.t;
    if ((t.flags[c] & F_DEFERRED) !== 0) return;
    if (this.nDeferred === this.deferred.length) {
      output(this, c);
      return;
    }
    t.flags[c] |= F_DEFERRED;
    this.deferred[this.nDeferred++] = c;
  }

  sendSpace(c: number): number {
    if (!this.usable(c)) return 0;
    const s = this.cfg.sndBuf - this.sb.len[c];
    return s > 0 ? s : 0;
  }

  /** Half-close: FIN after the queued data; we keep receiving. */
  shutdown(c: number): void {
    if (!this.usable(c)) return;
    this.apiNow();
    const t = this.t;
    if ((t.flags[c] & F_FIN_QUEUED) !== 0) return;
    const st = t.state[c];
    if (st === SYN_SENT) {
      // RFC 9293 §3.10.4: CLOSE in SYN_SENT deletes the TCB.
      this.closeConn(c, CloseReason.NORMAL);
      return;
    }
    t.flags[c] |= F_FIN_QUEUED;
    if (st === ESTABLISHED) t.state[c] = FIN_WAIT_1;
    else if (st === CLOSE_WAIT) t.state[c] = LAST_ACK;
    output(this, c);
  }

  /** shutdown() and no more callbacks but onClosed; resources go when the close handshake ends. */
  close(c: number): void {
    if (!this.usable(c)) return;
    this.apiNow();
    const t = this.t;
    t.flags[c] |= F_CLOSE;
    const g = t.gen[c];
    this.shutdown(c);
    if (this.alive(c, g) && t.state[c] === FIN_WAIT_2 && t.kaAt[c] === 0) {
      t.kaAt[c] = this.nowMs + this.cfg.finWait2Ms;
      refile(this, c);
    }
  }

  /** RFC 9293 §3.10.5 ABORT: RST now, connection gone. */
  abort(c: number): void {
    if (!this.usable(c)) return;
    this.apiNow();
    const st = this.t.state[c];
    if (st !== SYN_SENT) {
      transmit(this, c, this.t.sndNxt[c], TCP_RST, 0, 0);
      this.counters.rstOut++;
    }
    this.closeConn(c, CloseReason.ABORTED);
  }

  /**
   * The congestion controller of one connection (a flow's own setting),
   * before it is established (right after connect()). Returns false when `c`
   * is not connecting or `name` is unknown.
   */
  setCongestionControl(c: number, name: string): boolean {
    const i = ccIndex(name);
    if (i < 0 || !this.usable(c)) return false;
    const st = this.t.state[c];
    if (st !== SYN_SENT && st !== SYN_RECEIVED) return false;
    this.t.ccAlgo[c] = i;
    return true;
  }

  state(c: number): number {
    if (!Number.isInteger(c) || c < 0 || c >= this.t.max) return CLOSED;
    return this.t.state[c];
  }

  /** Connections holding a TCB (TIME_WAIT included). */
  get activeConnections(): number {
    return this.t.active;
  }
}
