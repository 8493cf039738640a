/**
 * The send path: building segments from the send buffer (segmentation to the
 * peer's MSS, RFC 9293 §3.8.6), each data segment recorded in the scoreboard
 * (rtx_queue.ts); the usable window min(SND.WND, cwnd) without SACK, or with
 * SACK (and after an RTO) cwnd against the pipe, lost segments first; pacing
 * (pacing.ts); FIN after the queued data; retransmission of one recorded
 * segment; the tail loss probe (RFC 8985 §7.3); pure ACKs, with a D-SACK
 * (RFC 2883) block when a duplicate arrived.
 */
import { IPV4_PROTO_TCP } from '../../wire/ipv4.js';
import { TCP_ACK, TCP_FIN, TCP_HDR_LEN, TCP_PSH, TCP_RST, TCP_SYN, emitTcp, tcpFinishChecksum } from '../../wire/tcp.js';
import { TCP_MAX_SACK_BLOCKS, emitTcpOptions } from '../../wire/tcp_options.js';
import { L4_OFF } from '../layout.js';
import { fillOptions } from './options.js';
import { armDataTimer, armPersist, armRto, rearmProbe } from './rto.js';
import { R_LOST, R_RETRANS } from './rtx_queue.js';
import { buildSackBlocks } from './sack.js';
import { ecnFlags, ecnTos } from './ecn.js';
import { seqGt, seqLeq, seqLt } from './seq.js';
import {
  CA_LOSS, CA_RECOVERY, CLOSE_WAIT, CLOSING, ESTABLISHED, F_ACK_NOW, F_DACK, F_DEFERRED, F_FIN_QUEUED, F_OOO_FIN, F_RTT, F_SACK, FIN_WAIT_1, LAST_ACK, SYN_SENT,
} from './tcb.js';
import type { TcpLayer } from './tcp_layer.js';

/** Why a segment is retransmitted (the counters by cause). */
export const RXT_RACK = 0;
export const RXT_TLP = 1;
export const RXT_RTO = 2;
/** Three duplicate ACKs or a partial ACK without SACK (RFC 6582). */
export const RXT_DUPACK = 3;

/** The window we offer: the connection's receive space (rcv_space.ts), bounded by what 16 bits and our scale can say. */
export function rcvWnd(tcp: TcpLayer, c: number): number {
  const max = 65535 << tcp.t.rcvWs[c];
  const space = tcp.t.rcvSpace[c];
  return space < max ? space : max;
}

/**
 * Emits one segment of `c`: `len` payload bytes taken `rel` bytes after SND.UNA
 * from the send buffer. Returns false when no packet buffer was free.
 */
export function transmit(tcp: TcpLayer, c: number, seq: number, flags: number, rel: number, len: number): boolean {
  const pool = tcp.pool;
  const slot = pool.alloc();
  if (slot < 0) {
    tcp.counters.txNoBuf++;
    return false;
  }
  const t = tcp.t;
  const dv = pool.dv;
  const l4 = pool.base(slot) + L4_OFF;
  const syn = (flags & TCP_SYN) !== 0;
  // New data, not a retransmission: what ECN marks (RFC 3168 §6.1.5).
  const newData = len > 0 && !seqLt(seq, t.sndMax[c]);
  flags = ecnFlags(tcp, c, flags, newData);
  const o = tcp.txOpt;
  fillOptions(t, tcp.cfg, c, syn, t.state[c] === SYN_SENT, tcp.tsVal(c), o);
  if (!syn && (t.flags[c] & F_SACK) !== 0 && (t.oooHead[c] >= 0 || tcp.dsackConn === c || (t.flags[c] & F_OOO_FIN) !== 0)) sackOption(tcp, c);
  const optLen = emitTcpOptions(o, dv, l4 + TCP_HDR_LEN);
  const h = tcp.txRepr;
  h.srcPort = t.localPort[c];
  h.dstPort = t.remotePort[c];
  h.seq = seq;
  h.ack = (flags & TCP_ACK) !== 0 ? t.rcvNxt[c] : 0;
  h.dataOff = TCP_HDR_LEN + optLen;
  h.flags = flags;
  // RFC 7323 §2.2: the window of a SYN is never scaled.
  const w = rcvWnd(tcp, c);
  h.window = syn ? (w < 65535 ? w : 65535) : (flags & TCP_RST) !== 0 ? 0 : w >>> t.rcvWs[c];
  h.urgent = 0;
  emitTcp(h, dv, l4);
  if (len > 0) tcp.sb.copyOut(c, rel, pool.u8, l4 + h.dataOff, len);
  const l4Len = h.dataOff + len;
  // Addresses as int32: a call passes them as small integers where a uint32
  // above 2^31 would be boxed per packet; every consumer reads them modulo 2^32.
  const src = t.localIp[c] | 0;
  const dst = t.remoteIp[c] | 0;
  tcpFinishChecksum(dv, l4, l4Len, src, dst);
  pool.dataLen[slot] = L4_OFF + l4Len;
  if ((flags & TCP_ACK) !== 0) {
    t.lastAckSent[c] = t.rcvNxt[c];
    t.flags[c] &= ~(F_DACK | F_ACK_NOW);
    t.dackAt[c] = 0;
    t.unacked[c] = 0;
  }
  const k = tcp.counters;
  k.segsOut++;
  let again = false;
  if (len > 0) {
    k.bytesOut += len;
    again = !newData;
    if (again) k.retransSegs++;
  }
  // A SYN is resent with its timing flag cleared (Karn, rto.ts).
  if (len > 0 || syn) tcp.wire.sent(c, seq, syn ? 1 : len, len > 0, syn ? (t.flags[c] & F_RTT) === 0 : again);
  tcp.stack.outputIpv4(slot, src, dst, IPV4_PROTO_TCP, l4Len, ecnTos(tcp, c, newData));
  return true;
}

/** The SACK blocks of a segment of `c` into tcp.txOpt: a D-SACK first (RFC 2883), then the out-of-order queue's. */
function sackOption(tcp: TcpLayer, c: number): void {
  const o = tcp.txOpt;
  const t = tcp.t;
  let n = 0;
  if (tcp.dsackConn === c) {
    o.sackBlocks[0] = tcp.dsackL;
    o.sackBlocks[1] = tcp.dsackR;
    n = 1;
    tcp.dsackConn = -1;
  }
  if (t.oooHead[c] >= 0 || (t.flags[c] & F_OOO_FIN) !== 0) n = buildSackBlocks(t, tcp.chunks, c, o.sackBlocks, TCP_MAX_SACK_BLOCKS, n);
  o.sackCount = n;
}

/** An ACK carrying nothing else (<SEQ=SND.NXT><ACK=RCV.NXT>). */
export function sendAck(tcp: TcpLayer, c: number): void {
  transmit(tcp, c, tcp.t.sndNxt[c], TCP_ACK, 0, 0);
}

/**
 * An ACK owed at once. When output is deferred to the end of the received
 * burst, that output carries it (TcpLayer.burstEnd sends it bare if no data could go).
 */
export function ackNow(tcp: TcpLayer, c: number): void {
  const t = tcp.t;
  if ((t.flags[c] & F_DEFERRED) !== 0) t.flags[c] |= F_ACK_NOW;
  else sendAck(tcp, c);
}

/** RFC 1122 §4.2.3.2 / RFC 5681 §4.2: ACK at least every second full segment, else within the delayed-ACK time. */
export function ackSoon(tcp: TcpLayer, c: number): void {
  const t = tcp.t;
  if (++t.unacked[c] >= 2) {
    ackNow(tcp, c);
    return;
  }
  if ((t.flags[c] & F_DACK) === 0) {
    t.flags[c] |= F_DACK;
    t.dackAt[c] = tcp.nowMs + tcp.cfg.delayedAckMs;
    tcp.wheel.schedule(c, t.dackAt[c]);
  }
}

function canSend(st: number): boolean {
  return st === ESTABLISHED || st === CLOSE_WAIT || st === FIN_WAIT_1 || st === CLOSING || st === LAST_ACK;
}

/**
 * Sends what the window allows: without SACK (outside the loss state after an
 * RTO) new data from SND.NXT up to min(SND.WND, cwnd); with SACK, while the
 * pipe leaves room under cwnd, the segments deemed lost first, then new data
 * within SND.WND (RFC 6675 §5 (C), RACK-TLP's retransmissions). FIN after the
 * queued data; no Nagle delay (a generator wants writes on the wire at once);
 * pacing holds segments until their time. Arms the RTO (or the loss probe),
 * or the persist timer on a zero window.
 */
export function output(tcp: TcpLayer, c: number): void {
  const t = tcp.t;
  // Written to inside this received burst: TcpLayer.burstEnd sends it all at once.
  if (!canSend(t.state[c]) || (t.flags[c] & F_DEFERRED) !== 0) return;
  let sent = false;
  const rtx = tcp.rtx;
  if (((t.flags[c] & F_SACK) !== 0 || t.ca[c] === CA_LOSS) && (rtx.sacked[c] | rtx.lost[c] | rtx.retrans[c]) !== 0) {
    sent = pipeOutput(tcp, c);
  } else {
    // Nothing SACKed, lost or retransmitted: the pipe is the flight, and cwnd past SND.UNA is the window.
    const wnd = t.sndWnd[c] < t.cwnd[c] ? t.sndWnd[c] : t.cwnd[c];
    while (paced(tcp, c) && sendNew(tcp, c, wnd) > 0) sent = true;
  }
  if (sent) {
    if (t.rtoAt[c] === 0) armDataTimer(tcp, c);
    else rearmProbe(tcp, c);
  }
  // RFC 9293 §3.8.6.1: data waiting behind a zero window and nothing in flight to elicit an ACK: probe.
  if (t.sndWnd[c] === 0 && tcp.sb.len[c] > 0 && t.sndMax[c] === t.sndUna[c] && t.rtoAt[c] === 0) armPersist(tcp, c);
  // Data that found no room in the scoreboard's arena, and no ACK to come: try again at the RTO.
  if (noRoom) {
    noRoom = false;
    if (t.rtoAt[c] === 0 && t.sndMax[c] === t.sndUna[c]) armRto(tcp, c);
  }
}

/** sendNew found the scoreboard's arena full. */
let noRoom = false;

/** Whether pacing lets `c` send now; if not, the wheel wakes it when its time comes. */
function paced(tcp: TcpLayer, c: number): boolean {
  const p = tcp.pacer;
  if (!p.enabled || p.next[c] - p.lead[c] <= tcp.nowUs) return true;
  const at = Math.ceil((p.next[c] - p.lead[c]) / 1000);
  if (p.at[c] === 0 || p.at[c] > at) {
    p.at[c] = at;
    tcp.wheel.schedule(c, at);
  }
  return false;
}

/** The bytes in flight, RFC 6675's pipe over the scoreboard. */
function pipeOf(tcp: TcpLayer, c: number): number {
  const t = tcp.t;
  return tcp.rtx.pipe(c, (t.sndMax[c] - t.sndUna[c]) >>> 0);
}

/**
 * Sends the segment at SND.NXT (one MSS at most, with the FIN once the queue
 * is drained) that fits in `wnd` bytes past SND.UNA and `room` bytes of
 * window, recording it in the scoreboard. Returns the sequence space sent, 0
 * when nothing could go.
 */
function sendNew(tcp: TcpLayer, c: number, wnd: number, room = 0x7fffffff): number {
  const t = tcp.t;
  const una = t.sndUna[c];
  const nxt = t.sndNxt[c];
  const bufLen = tcp.sb.len[c];
  const finQueued = (t.flags[c] & F_FIN_QUEUED) !== 0;
  if (finQueued && seqGt(nxt, (una + bufLen) >>> 0)) return 0;
  const mss = t.sndMss[c];
  const off = (nxt - una) >>> 0;
  const avail = bufLen - off;
  const space = wnd - off;
  let len = avail < mss ? avail : mss;
  if (len > space) len = space > 0 ? space : 0;
  const fin = finQueued && off + len === bufLen;
  if (len === 0 && !(fin && avail === 0)) return 0;
  // A whole segment (or the whole rest) or nothing: no runts under cwnd.
  if (len > room || (len === 0 && room <= 0)) return 0;
  // A FIN alone gets no record: a connection that only closes needs no scoreboard ring (bareFin).
  if (len > 0 && !tcp.rtx.reserve(c)) {
    tcp.counters.rtxQueueFull++;
    noRoom = true;
    return 0;
  }
  let flags = TCP_ACK;
  if (fin) flags |= TCP_FIN;
  if (len > 0 && off + len === bufLen) flags |= TCP_PSH;
  if (!transmit(tcp, c, nxt, flags, off, len)) return 0;
  return sentNew(tcp, c, nxt | 0, len + (fin ? 1 : 0), len > 0);
}

/** New data of `n` sequence numbers left from `nxt`: its record (unless a bare FIN), SND.NXT / SND.MAX, the send accounting. */
function sentNew(tcp: TcpLayer, c: number, nxt: number, n: number, record: boolean): number {
  const t = tcp.t;
  const end = (nxt + n) | 0;
  if (record) tcp.rtx.push(c, nxt, end);
  t.sndNxt[c] = end;
  if (seqGt(end, t.sndMax[c])) t.sndMax[c] = end;
  sentBytes(tcp, c, n);
  return n;
}

/** Accounting of every data segment sent: PRR's prr_out, the pacer. */
function sentBytes(tcp: TcpLayer, c: number, n: number): void {
  const t = tcp.t;
  if (t.ca[c] === CA_RECOVERY && (t.flags[c] & F_SACK) !== 0) tcp.prr.sent(c, n);
  if (tcp.pacer.enabled) tcp.pacer.sent(t, c, n, pipeOf(tcp, c));
}

/**
 * RFC 8985 §7.3 loss probe: a new segment when there is one and the peer's
 * window allows it, else the highest segment sent, again. Returns whether one
 * went out; the episode (TLP.end_seq) is opened in RACK.
 */
export function sendProbe(tcp: TcpLayer, c: number): boolean {
  const t = tcp.t;
  const k = tcp.counters;
  if (sendNew(tcp, c, t.sndWnd[c]) > 0) {
    k.tlpNewData++;
    tcp.rack.tlpSent(c, t.sndMax[c], false);
    return true;
  }
  const rtx = tcp.rtx;
  if (bareFin(tcp, c)) {
    if (!retransmitBareFin(tcp, c, RXT_TLP)) return false;
  } else {
    if (rtx.count[c] === 0) return false;
    if (retransmitRecord(tcp, c, (rtx.tail(c) - 1) >>> 0, RXT_TLP) === 0) return false;
  }
  tcp.rack.tlpSent(c, t.sndMax[c], true);
  return true;
}

/** Whether a FIN sent alone (so without a scoreboard record) is outstanding: SND.MAX is past it and no record ends there. */
export function bareFin(tcp: TcpLayer, c: number): boolean {
  const t = tcp.t;
  if ((t.flags[c] & F_FIN_QUEUED) === 0) return false;
  const max = t.sndMax[c];
  if (max !== ((t.sndUna[c] + tcp.sb.len[c] + 1) >>> 0)) return false;
  const rtx = tcp.rtx;
  return rtx.count[c] === 0 || rtx.end[rtx.pos(c, (rtx.tail(c) - 1) >>> 0)] !== max;
}

/** Sends a bare FIN again (a probe, the RTO's first segment, or recovery's rescue). */
export function retransmitBareFin(tcp: TcpLayer, c: number, cause: number): boolean {
  const t = tcp.t;
  if (!transmit(tcp, c, (t.sndMax[c] - 1) >>> 0, TCP_ACK | TCP_FIN, tcp.sb.len[c], 0)) return false;
  countRetransmit(tcp, c, cause);
  return true;
}

function countRetransmit(tcp: TcpLayer, c: number, cause: number): void {
  const k = tcp.counters;
  if (cause === RXT_RACK) k.rackRetransmits++;
  else if (cause === RXT_TLP) k.tlpRetransmits++;
  else if (cause === RXT_RTO) k.rtoRetransmits++;
  else k.dupAckRetransmits++;
  tcp.undo.onRetransmit(c, tcp.tsVal(c));
}

/**
 * RFC 3042 limited transmit (without SACK): each of the first two duplicate
 * ACKs sends one new segment, as long as the flight stays within cwnd + 2
 * SMSS, so that a small window still draws the duplicates that trigger fast
 * retransmit.
 */
export function limitedTransmit(tcp: TcpLayer, c: number): void {
  const t = tcp.t;
  if (!canSend(t.state[c]) || t.dupAcks[c] > 2) return;
  const lim = t.cwnd[c] + 2 * t.sndMss[c];
  if (sendNew(tcp, c, t.sndWnd[c] < lim ? t.sndWnd[c] : lim) > 0) rearmProbe(tcp, c);
}

/**
 * While cwnd - pipe leaves room for the next segment: the segments deemed
 * lost (RACK, or all of them after an RTO), lowest first, then new data the
 * peer's window allows. Returns whether anything was sent.
 */
function pipeOutput(tcp: TcpLayer, c: number): boolean {
  const t = tcp.t;
  const rtx = tcp.rtx;
  let pipe = pipeOf(tcp, c);
  let sent = false;
  const cause = t.ca[c] === CA_LOSS ? RXT_RTO : RXT_RACK;
  if (rtx.lost[c] > 0) {
    let k = rtx.nextLost(c, rtx.head[c]);
    while (rtx.valid(c, k)) {
      const p = rtx.pos(c, k);
      const len = (rtx.end[p] - rtx.start[p]) >>> 0;
      if (t.cwnd[c] - pipe < len || !paced(tcp, c)) return sent;
      if (retransmitRecord(tcp, c, k, cause) === 0) return sent;
      pipe += len;
      sent = true;
      k = rtx.nextLost(c, (k + 1) >>> 0);
    }
  }
  let fresh = false;
  while (paced(tcp, c)) {
    const n = sendNew(tcp, c, t.sndWnd[c], t.cwnd[c] - pipe);
    if (n === 0) break;
    pipe += n;
    sent = true;
    fresh = true;
  }
  // RFC 6675 §4 NextSeg rule 4, once per recovery: nothing lost or new left to send, the
  // highest segment not SACKed goes again. A tail lost during recovery is found by no
  // later delivery (RACK) and gets no loss probe (RFC 8985 §7.2): without this, an RTO.
  if (!fresh && t.ca[c] === CA_RECOVERY && bareFin(tcp, c) && t.cwnd[c] > pipe && paced(tcp, c) && tcp.rack.takeRescue(c)) {
    if (retransmitBareFin(tcp, c, RXT_RACK)) {
      tcp.counters.rescueRetransmits++;
      sent = true;
    }
  } else if (!fresh && t.ca[c] === CA_RECOVERY && rtx.count[c] > 0 && paced(tcp, c)) {
    const k = rtx.highestUnsacked(c);
    if (rtx.valid(c, k)) {
      const p = rtx.pos(c, k);
      const len = (rtx.end[p] - rtx.start[p]) >>> 0;
      if ((rtx.flags[p] & (R_LOST | R_RETRANS)) === 0 && t.cwnd[c] - pipe >= len && tcp.rack.takeRescue(c)) {
        if (retransmitRecord(tcp, c, k, RXT_RACK) > 0) {
          tcp.counters.rescueRetransmits++;
          sent = true;
        }
      }
    }
  }
  return sent;
}

/**
 * Retransmits the segment of record `k` (its exact range, with the FIN when
 * the record holds it) and notes it in the scoreboard and the counters by
 * `cause`. Returns the sequence space sent (0: no packet buffer).
 */
export function retransmitRecord(tcp: TcpLayer, c: number, k: number, cause: number): number {
  const t = tcp.t;
  const rtx = tcp.rtx;
  const p = rtx.pos(c, k);
  const s = rtx.start[p];
  const e = rtx.end[p];
  const una = t.sndUna[c];
  const bufEnd = (una + tcp.sb.len[c]) >>> 0;
  const dataEnd = seqGt(e, bufEnd) ? bufEnd : e;
  const len = seqGt(dataEnd, s) ? (dataEnd - s) >>> 0 : 0;
  const fin = seqGt(e, bufEnd);
  let flags = TCP_ACK;
  if (fin) flags |= TCP_FIN;
  else if (dataEnd === bufEnd && len > 0) flags |= TCP_PSH;
  if (!transmit(tcp, c, s, flags, (s - una) >>> 0, len)) return 0;
  const n = (e - s) >>> 0;
  if (seqLeq(t.rxtHi[c], una)) {
    // A new run of retransmissions: [rxtLo, rxtHi) tells a D-SACK of our own resend from a network duplicate.
    t.rxtLo[c] = s;
    t.rxtHi[c] = e;
  } else {
    if (seqLt(s, t.rxtLo[c])) t.rxtLo[c] = s;
    if (seqGt(e, t.rxtHi[c])) t.rxtHi[c] = e;
  }
  rtx.onRetransmit(c, p);
  countRetransmit(tcp, c, cause);
  sentBytes(tcp, c, n);
  return n;
}

/** Retransmits the recorded segment holding `seq` (RFC 6582 fast retransmit and partial ACKs). */
export function retransmitAt(tcp: TcpLayer, c: number, seq: number, cause: number): number {
  const rtx = tcp.rtx;
  if (rtx.count[c] === 0) return 0;
  const k = rtx.seek(c, seq, true);
  return rtx.valid(c, k) ? retransmitRecord(tcp, c, k, cause) : 0;
}
