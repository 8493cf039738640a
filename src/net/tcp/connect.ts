/**
 * Opening connections: active open (SYN_SENT, RFC 9293 §3.10.7.3, including
 * simultaneous open), passive open through listeners with a SYN backlog
 * (§3.10.7.2), TIME_WAIT reuse by a new SYN (RFC 6191 with timestamps, RFC
 * 1122 §4.2.2.13 without), and the step to ESTABLISHED.
 */
import { TCP_ACK, TCP_RST, TCP_SYN } from '../../wire/tcp.js';
import { CloseReason, TcpError, type ConnectOptions, type TcpHandler } from './api.js';
import { CC_NAMES } from './reno.js';
import { rcvSpaceInit } from './rcv_space.js';
import { ecnInit, ecnOnSyn, ecnOnSynAck } from './ecn.js';
import { negotiate } from './options.js';
import { armRto, rttSample } from './rto.js';
import { sendResetFor } from './rst.js';
import { ackNow, output, transmit } from './snd.js';
import { seqGt, seqLeq } from './seq.js';
import {
  ESTABLISHED, F_EPHEMERAL, F_FIN_QUEUED, F_PASSIVE, F_RTT, F_TS, FIN_WAIT_1, SYN_RECEIVED, SYN_SENT, TIME_WAIT,
} from './tcb.js';
import type { TcpLayer } from './tcp_layer.js';
import { HOP_FAILED, HOP_NO_ROUTE } from '../l4.js';
import { refile } from './timers.js';

/** TIME_WAIT entries examined when the source pool runs dry towards a destination, or the TCB store fills. */
const TW_RECYCLE_SCAN = 64;

export class Listener {
  /** Connections in SYN_RECEIVED. */
  pending = 0;
  /** Next listener on the same port, -1 at the end. */
  next = -1;
  constructor(
    readonly ip: number,
    readonly port: number,
    readonly handler: TcpHandler,
    readonly backlog: number,
  ) {}
}

export function listen(tcp: TcpLayer, ip: number, port: number, handler: TcpHandler, backlog: number): number {
  if (!Number.isInteger(port) || port <= 0 || port > 65535) return TcpError.INVALID;
  if (ip !== 0 && !tcp.stack.ownsAddress(ip)) return TcpError.NOT_LOCAL;
  for (let i = tcp.lsnByPort[port]; i >= 0; i = tcp.listeners[i].next) {
    if (tcp.listeners[i].ip === ip >>> 0) return TcpError.ADDR_IN_USE;
  }
  const l = new Listener(ip >>> 0, port, handler, backlog);
  const id = tcp.listeners.length;
  // Specific addresses first, so they win over a wildcard on the same port.
  if (ip === 0 || tcp.lsnByPort[port] < 0) {
    let i = tcp.lsnByPort[port];
    if (i < 0) tcp.lsnByPort[port] = id;
    else {
      while (tcp.listeners[i].next >= 0) i = tcp.listeners[i].next;
      tcp.listeners[i].next = id;
    }
  } else {
    l.next = tcp.lsnByPort[port];
    tcp.lsnByPort[port] = id;
  }
  tcp.listeners.push(l);
  return id;
}

function findListener(tcp: TcpLayer, ip: number, port: number): number {
  for (let i = tcp.lsnByPort[port]; i >= 0; i = tcp.listeners[i].next) {
    const l = tcp.listeners[i];
    if (l.ip === 0 || l.ip === ip) return i;
  }
  return -1;
}

/**
 * The ISS of a new incarnation of a tuple that was in TIME_WAIT: beyond
 * everything the old one sent plus a window (as Linux does), even when the
 * RFC 6528 clock has not moved on enough.
 */
function issAfter(isn: number, oldSndNxt: number): number {
  if (oldSndNxt < 0) return isn;
  const floor = (oldSndNxt + 65537) >>> 0;
  return seqGt(isn, floor) ? isn : floor;
}

/** Per-connection defaults shared by both opens. */
function initTcb(tcp: TcpLayer, c: number, handler: TcpHandler | null, iss: number): void {
  const t = tcp.t;
  t.handler[c] = handler;
  t.rto[c] = tcp.cfg.rtoInitialUs;
  t.sndWs[c] = 0;
  t.rcvWs[c] = 0;
  t.sndMss[c] = tcp.cfg.mss;
  t.cwnd[c] = 0;
  t.sndWnd[c] = 0;
  t.maxSndWnd[c] = 0;
  t.lastAckSent[c] = 0;
  rcvSpaceInit(tcp, c);
  ecnInit(tcp, c, iss);
  t.iss[c] = iss;
  t.tsOff[c] = tcp.tsKey.hash(t.localIp[c], t.localPort[c], t.remoteIp[c], t.remotePort[c]);
  t.sndUna[c] = iss;
  t.sndNxt[c] = (iss + 1) >>> 0;
  t.sndMax[c] = (iss + 1) >>> 0;
  t.recover[c] = iss;
  t.rxtLo[c] = iss;
  t.rxtHi[c] = iss;
  t.ccAlgo[c] = tcp.cfg.cc;
  // Time the SYN (Karn: dropped if it is retransmitted).
  t.flags[c] |= F_RTT;
  t.rttStartMs[c] = tcp.nowUs;
  tcp.wire.reset(c);
  t.connectUs[c] = -1;
}

/** Candidate pairs looked at before the pool counts as exhausted towards a destination. */
const PAIR_SCAN = 64;

/**
 * A source pair free towards dstIp:dstPort (no TCB holds the 4-tuple) into
 * tcp.ports.srcIp/srcPort: from the whole pool when `srcIp` is 0, else a port
 * of `srcIp`. When the pairs it looks at are all taken, the oldest TIME_WAIT
 * connection of ours (with a pool port) ends early: its pair serves when it
 * was towards the same destination (the usual case of a load), else the
 * search runs once more. False if nothing is free.
 */
function allocPair(tcp: TcpLayer, srcIp: number, dstIp: number, dstPort: number): boolean {
  const pool = tcp.ports;
  const t = tcp.t;
  const pairs = srcIp === 0 ? pool.pairs : pool.span;
  const scan = pairs < PAIR_SCAN ? pairs : PAIR_SCAN;
  for (let pass = 0; pass < 2; pass++) {
    for (let i = 0; i < scan; i++) {
      if (srcIp === 0) pool.next();
      else {
        pool.srcIp = srcIp;
        pool.srcPort = pool.nextOn(srcIp);
      }
      if (t.lookup(pool.srcIp, pool.srcPort, dstIp, dstPort) < 0) return true;
    }
    const c = oldestTimeWait(tcp, srcIp);
    if (c < 0) return false;
    const same = t.remoteIp[c] === dstIp >>> 0 && t.remotePort[c] === dstPort;
    pool.srcIp = t.localIp[c];
    pool.srcPort = t.localPort[c];
    tcp.counters.twRecycled++;
    tcp.release(c);
    if (same) return true;
  }
  return false;
}

/**
 * The oldest TIME_WAIT connection (with a pool port, of `srcIp` unless it is
 * 0; any connection when srcIp is -1), or -1: the one whose 2*MSL is nearest
 * its end.
 */
function oldestTimeWait(tcp: TcpLayer, srcIp: number): number {
  const t = tcp.t;
  const tw = tcp.tw;
  // Entries of connections already recycled are dead weight at the head: drop them.
  while (tw.size > 0 && (t.state[tw.idAt(0)] !== TIME_WAIT || t.gen[tw.idAt(0)] !== tw.genAt(0))) tw.pop();
  const n = tw.size < TW_RECYCLE_SCAN ? tw.size : TW_RECYCLE_SCAN;
  for (let i = 0; i < n; i++) {
    const c = tw.idAt(i);
    if (t.state[c] !== TIME_WAIT || t.gen[c] !== tw.genAt(i)) continue;
    if (srcIp === -1 || ((srcIp === 0 || t.localIp[c] === srcIp >>> 0) && (t.flags[c] & F_EPHEMERAL) !== 0)) return c;
  }
  return -1;
}

/** Ends the oldest TIME_WAIT connection so its TCB can serve a new one (the store is full). */
function recycleTimeWait(tcp: TcpLayer): boolean {
  const c = oldestTimeWait(tcp, -1);
  if (c < 0) return false;
  tcp.counters.twRecycled++;
  tcp.release(c);
  return true;
}

/**
 * Active open. `srcIp` 0 takes the source address and port from the pool
 * (PortPool: every owned address); `srcPort` 0 takes a pool port of `srcIp`.
 * `opts` gives the TOS byte of every segment and the congestion controller.
 * A destination without a route, or whose next hop failed to resolve (ARP is
 * holding it off), is refused at once (RFC 1122 §2.3.2.2: unreachable).
 */
export function connect(tcp: TcpLayer, srcIp: number, dstIp: number, dstPort: number, handler: TcpHandler, srcPort: number, opts: Readonly<ConnectOptions>): number {
  if (!Number.isInteger(dstPort) || dstPort <= 0 || dstPort > 65535) return TcpError.INVALID;
  const { tos, cc } = opts;
  if (!Number.isInteger(tos) || tos < 0 || tos > 255 || !(cc === -1 || (cc >= 0 && cc < CC_NAMES.length))) return TcpError.INVALID;
  if (!Number.isInteger(srcPort) || srcPort < 0 || srcPort > 65535 || (srcIp === 0 && srcPort !== 0)) return TcpError.INVALID;
  if (srcIp !== 0 && !tcp.stack.ownsAddress(srcIp)) return TcpError.NOT_LOCAL;
  const hop = tcp.stack.nextHop(dstIp);
  if (hop === HOP_NO_ROUTE) {
    tcp.counters.noRoute++;
    return TcpError.NO_ROUTE;
  }
  if (hop === HOP_FAILED) {
    tcp.counters.hopUnreachable++;
    return TcpError.UNREACHABLE;
  }
  const t = tcp.t;
  let ip = srcIp;
  let port = srcPort;
  let oldSndNxt = -1;
  if (port === 0) {
    if (!allocPair(tcp, srcIp, dstIp, dstPort)) {
      tcp.counters.portExhausted++;
      return TcpError.NO_PORT;
    }
    ip = tcp.ports.srcIp;
    port = tcp.ports.srcPort;
  } else {
    const old = t.lookup(srcIp, port, dstIp, dstPort);
    if (old >= 0) {
      if (t.state[old] !== TIME_WAIT) return TcpError.ADDR_IN_USE;
      // Reusing a TIME_WAIT tuple: the RFC 6528 ISN has moved past the old sequence space.
      tcp.counters.twRecycled++;
      oldSndNxt = t.sndNxt[old];
      tcp.release(old);
    }
  }
  let c = t.alloc(ip, port, dstIp, dstPort);
  if (c < 0 && recycleTimeWait(tcp)) c = t.alloc(ip, port, dstIp, dstPort);
  if (c < 0) {
    tcp.counters.tcbExhausted++;
    return TcpError.NO_TCB;
  }
  if (srcPort === 0) t.flags[c] |= F_EPHEMERAL;
  initTcb(tcp, c, handler, issAfter(tcp.isn.isn(ip, port, dstIp, dstPort, tcp.nowUs), oldSndNxt));
  t.state[c] = SYN_SENT;
  t.tos[c] = tos;
  if (cc >= 0) t.ccAlgo[c] = cc;
  // The connect time counts from this first SYN (a SYN moved to another port, or resent, does not restart it).
  t.synAt[c] = tcp.nowUs;
  tcp.wire.opening(c);
  tcp.counters.activeOpens++;
  transmit(tcp, c, t.iss[c], TCP_SYN, 0, 0);
  armRto(tcp, c);
  return c;
}

/** Source-port moves of one SYN at most (a peer that answers every SYN with a bare ACK must not make us loop). */
const MAX_SYN_MOVES = 4;

/**
 * Our SYN was answered by an ACK that does not acknowledge it: the peer still
 * holds an older incarnation of the tuple, typically its TIME_WAIT refusing a
 * SYN whose timestamp is older than the last one it saw (RFC 7323 §5.3 R1,
 * RFC 6191 §2) — timestamps start at a random offset per run, so a tuple of an
 * earlier run can be ahead. The peer will refuse this tuple until its
 * TIME_WAIT ends, so the connection takes another port of its address and
 * sends a new SYN now instead of after an RTO, from a port far away
 * (PortPool.across: the peer's stale tuples come in runs).
 */
function moveSyn(tcp: TcpLayer, c: number): void {
  const t = tcp.t;
  const ip = t.localIp[c];
  const from = t.localPort[c];
  let port = -1;
  for (let k = 0; k < PAIR_SCAN && port < 0; k++) {
    const p = tcp.ports.across(from, k);
    if (t.lookup(ip, p, t.remoteIp[c], t.remotePort[c]) < 0) port = p;
  }
  if (port < 0) return; // it stays: the RTO retries
  t.synMoves[c]++;
  t.rebind(c, ip, port);
  tcp.counters.synMoves++;
  initTcb(tcp, c, t.handler[c], tcp.isn.isn(ip, t.localPort[c], t.remoteIp[c], t.remotePort[c], tcp.nowUs));
  transmit(tcp, c, t.iss[c], TCP_SYN, 0, 0);
  armRto(tcp, c);
}

/**
 * A segment that matches no TCB: a SYN for a listener, else a RST (RFC 9293
 * §3.10.7.1-2). `oldSndNxt` >= 0 when the SYN replaces a TIME_WAIT incarnation.
 */
export function noConnection(tcp: TcpLayer, remoteIp: number, localIp: number, oldSndNxt: number): void {
  const r = tcp.rx;
  const k = tcp.counters;
  if ((r.flags & TCP_RST) !== 0) return;
  const li = (r.flags & (TCP_SYN | TCP_ACK)) === TCP_SYN ? findListener(tcp, localIp, r.dstPort) : -1;
  if (li < 0) {
    k.noConnResets++;
    sendResetFor(tcp, remoteIp, localIp);
    return;
  }
  const l = tcp.listeners[li];
  if (l.pending >= l.backlog) {
    k.synDropped++;
    return;
  }
  const t = tcp.t;
  let c = t.alloc(localIp, r.dstPort, remoteIp, r.srcPort);
  // A store full of TIME_WAIT must not refuse new SYNs: the oldest ends early, as for connect().
  if (c < 0 && recycleTimeWait(tcp)) c = t.alloc(localIp, r.dstPort, remoteIp, r.srcPort);
  if (c < 0) {
    k.tcbExhausted++;
    return;
  }
  initTcb(tcp, c, l.handler, issAfter(tcp.isn.isn(localIp, r.dstPort, remoteIp, r.srcPort, tcp.nowUs), oldSndNxt));
  negotiate(t, tcp.cfg, c, tcp.rxOpt);
  ecnOnSyn(tcp, c, r.flags);
  t.flags[c] |= F_PASSIVE;
  t.listener[c] = li;
  l.pending++;
  t.rcvNxt[c] = (r.seq + 1) >>> 0;
  t.sndWnd[c] = r.window; // RFC 7323 §2.2: a SYN's window is not scaled
  t.maxSndWnd[c] = r.window;
  t.sndWl1[c] = r.seq;
  t.state[c] = SYN_RECEIVED;
  k.passiveOpens++;
  transmit(tcp, c, t.iss[c], TCP_SYN | TCP_ACK, 0, 0);
  armRto(tcp, c);
}

/**
 * A SYN for a tuple in TIME_WAIT may start a new incarnation when it cannot be
 * confused with the old one: a newer timestamp (RFC 6191 §2), or without
 * timestamps a sequence number above the old RCV.NXT (RFC 1122 §4.2.2.13).
 */
export function timeWaitReusable(tcp: TcpLayer, c: number): boolean {
  const t = tcp.t;
  const o = tcp.rxOpt;
  if ((t.flags[c] & F_TS) !== 0 && o.hasTimestamps) return seqGt(o.tsVal, t.tsRecent[c]);
  return seqGt(tcp.rx.seq, t.rcvNxt[c]);
}

/** RFC 9293 §3.10.7.3: a segment for a connection in SYN_SENT. */
export function synSentInput(tcp: TcpLayer, c: number): void {
  const t = tcp.t;
  const r = tcp.rx;
  const f = r.flags;
  if ((f & TCP_ACK) !== 0 && (seqLeq(r.ack, t.iss[c]) || seqGt(r.ack, t.sndMax[c]))) {
    sendResetFor(tcp, t.remoteIp[c], t.localIp[c]);
    if ((f & TCP_RST) === 0 && (t.flags[c] & F_EPHEMERAL) !== 0 && t.synMoves[c] < MAX_SYN_MOVES) moveSyn(tcp, c);
    return;
  }
  if ((f & TCP_RST) !== 0) {
    // RFC 5961 §3.2: in SYN_SENT a RST is valid when it acknowledges our SYN.
    if ((f & TCP_ACK) !== 0) {
      tcp.counters.connRefused++;
      tcp.closeConn(c, CloseReason.REFUSED);
    }
    return;
  }
  if ((f & TCP_SYN) === 0) return;
  negotiate(t, tcp.cfg, c, tcp.rxOpt);
  if ((f & TCP_ACK) !== 0) ecnOnSynAck(tcp, c, f);
  t.rcvNxt[c] = (r.seq + 1) >>> 0;
  t.lastAckSent[c] = r.seq;
  t.sndWnd[c] = r.window;
  t.maxSndWnd[c] = r.window;
  t.sndWl1[c] = r.seq;
  t.sndWl2[c] = r.ack;
  if ((f & TCP_ACK) === 0) {
    // Simultaneous open: SYN,ACK with our original ISS.
    t.state[c] = SYN_RECEIVED;
    transmit(tcp, c, t.iss[c], TCP_SYN | TCP_ACK, 0, 0);
    return;
  }
  t.sndUna[c] = r.ack;
  const g = t.gen[c];
  if (!establish(tcp, c)) return;
  if (!tcp.alive(c, g)) return;
  output(tcp, c);
  // RFC 9293 §3.10.7.3: ACK the SYN; data or a FIN the application queued in onConnected carries it instead.
  if (tcp.alive(c, g) && t.lastAckSent[c] !== t.rcvNxt[c]) ackNow(tcp, c);
}

/** SND.UNA of `c` moved to `ack`: the handler gets the wire round trip when the ACK covers the timed segment. */
export function wireSample(tcp: TcpLayer, c: number, ack: number): void {
  const us = tcp.wire.acked(c, ack);
  if (us < 0) return;
  const h = tcp.t.handler[c];
  if (h !== null && h.onWireRtt !== undefined) h.onWireRtt(c, us);
}

/** SYN acknowledged: ESTABLISHED (or FIN_WAIT_1 when shutdown() came first). False if the app closed it in onConnected. */
export function establish(tcp: TcpLayer, c: number): boolean {
  const t = tcp.t;
  tcp.ccOf(c).init(c);
  wireSample(tcp, c, t.sndUna[c]);
  let r = -1;
  if ((t.flags[c] & F_RTT) !== 0) {
    t.flags[c] &= ~F_RTT;
    r = (tcp.nowUs - t.rttStartMs[c]) | 0;
    rttSample(tcp, c, r);
  }
  tcp.rack.init(c, r);
  tcp.undo.end(c);
  if ((t.flags[c] & F_PASSIVE) === 0) {
    // On the wire when the first SYN's TX stamp is known: the SYN-ACK's receipt minus it. Every connection
    // gets its figure: the stack's clock when the wire's is unknown or disagrees with the order of events.
    const syn = tcp.wire.synTxUs(c);
    const onWire = syn >= 0 ? tcp.wire.rxUs() - syn : -1;
    t.connectUs[c] = onWire >= 0 ? onWire : Math.max(0, tcp.nowUs - t.synAt[c]);
  }
  t.backoff[c] = 0;
  t.rtoAt[c] = 0;
  t.state[c] = (t.flags[c] & F_FIN_QUEUED) !== 0 ? FIN_WAIT_1 : ESTABLISHED;
  if (t.listener[c] >= 0) tcp.listeners[t.listener[c]].pending--;
  if (tcp.cfg.keepaliveMs > 0) {
    t.kaAt[c] = tcp.nowMs + tcp.cfg.keepaliveMs;
    refile(tcp, c);
  }
  tcp.counters.established++;
  const h = t.handler[c];
  if (h === null) return true;
  const g = t.gen[c];
  h.onConnected(c);
  return tcp.alive(c, g);
}
