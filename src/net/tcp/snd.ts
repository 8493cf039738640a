/**
 * The send path: building segments from the send buffer (segmentation to the
 * peer's MSS, RFC 9293 §3.8.6), the usable window min(SND.WND, cwnd) or, in
 * SACK-based loss recovery, RFC 6675's pipe and NextSeg, FIN after the queued
 * data, retransmission of one segment, and pure ACKs.
 */
import { IPV4_PROTO_TCP } from '../../wire/ipv4.js';
import { TCP_ACK, TCP_FIN, TCP_HDR_LEN, TCP_PSH, TCP_RST, TCP_SYN, emitTcp, tcpFinishChecksum } from '../../wire/tcp.js';
import { TCP_MAX_SACK_BLOCKS, emitTcpOptions } from '../../wire/tcp_options.js';
import { L4_OFF } from '../layout.js';
import { fillOptions } from './options.js';
import { armDataTimer, armPersist, rearmProbe } from './rto.js';
import { buildSackBlocks } from './sack.js';
import { seqGeq, seqGt, seqLeq, seqLt, seqMax } from './seq.js';
import {
  CLOSE_WAIT, CLOSING, ESTABLISHED, F_ACK_NOW, F_DACK, F_DEFERRED, F_FIN_QUEUED, F_PIPE, F_RTT, F_SACK, FIN_WAIT_1, LAST_ACK, SYN_SENT,
} from './tcb.js';
import type { TcpLayer } from './tcp_layer.js';

/** The window we offer: the receive buffer, bounded by what 16 bits and our scale can say. */
export function rcvWnd(tcp: TcpLayer, c: number): number {
  const max = 65535 << tcp.t.rcvWs[c];
  return tcp.cfg.rcvBuf < max ? tcp.cfg.rcvBuf : max;
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
  const o = tcp.txOpt;
  fillOptions(t, tcp.cfg, c, syn, t.state[c] === SYN_SENT, tcp.tsVal(c), o);
  if (!syn && (t.flags[c] & F_SACK) !== 0 && t.oooHead[c] >= 0) {
    o.sackCount = buildSackBlocks(t, tcp.chunks, c, o.sackBlocks, TCP_MAX_SACK_BLOCKS);
  }
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
  if (len > 0) {
    k.bytesOut += len;
    if (seqLt(seq, t.sndMax[c])) k.retransSegs++;
  }
  tcp.stack.outputIpv4(slot, src, dst, IPV4_PROTO_TCP, l4Len);
  return true;
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
 * Sends new data (and the FIN once the queue is drained) from SND.NXT as far
 * as min(SND.WND, cwnd) allows, or during RFC 6675 recovery as far as the pipe
 * allows; no Nagle delay (a generator wants writes on the wire at once). Arms
 * the RTO, or the persist timer on a zero window.
 */
export function output(tcp: TcpLayer, c: number): void {
  const t = tcp.t;
  // Written to inside this received burst: TcpLayer.burstEnd sends it all at once.
  if (!canSend(t.state[c]) || (t.flags[c] & F_DEFERRED) !== 0) return;
  let sent = false;
  if ((t.flags[c] & F_PIPE) !== 0) {
    sent = pipeOutput(tcp, c);
  } else {
    const wnd = t.sndWnd[c] < t.cwnd[c] ? t.sndWnd[c] : t.cwnd[c];
    while (sendNew(tcp, c, wnd) > 0) sent = true;
  }
  if (sent) {
    if (t.rtoAt[c] === 0) armDataTimer(tcp, c);
    else rearmProbe(tcp, c);
  }
  // RFC 9293 §3.8.6.1: data waiting behind a zero window and nothing in flight to elicit an ACK: probe.
  if (t.sndWnd[c] === 0 && tcp.sb.len[c] > 0 && t.sndMax[c] === t.sndUna[c] && t.rtoAt[c] === 0) armPersist(tcp, c);
}

/**
 * Sends the segment at SND.NXT (one MSS at most, with the FIN once the queue
 * is drained) that fits in `wnd` bytes past SND.UNA. Returns the sequence
 * space sent, 0 when nothing could go.
 */
function sendNew(tcp: TcpLayer, c: number, wnd: number): number {
  const t = tcp.t;
  const una = t.sndUna[c];
  const nxt = t.sndNxt[c];
  const bufLen = tcp.sb.len[c];
  const finQueued = (t.flags[c] & F_FIN_QUEUED) !== 0;
  if (finQueued && seqGt(nxt, (una + bufLen) >>> 0)) return 0;
  const mss = t.sndMss[c];
  const off = (nxt - una) >>> 0;
  const avail = bufLen - off;
  const room = wnd - off;
  let len = avail < mss ? avail : mss;
  if (len > room) len = room > 0 ? room : 0;
  const fin = finQueued && off + len === bufLen;
  if (len === 0 && !(fin && avail === 0)) return 0;
  let flags = TCP_ACK;
  if (fin) flags |= TCP_FIN;
  if (len > 0 && off + len === bufLen) flags |= TCP_PSH;
  if (!transmit(tcp, c, nxt, flags, off, len)) return 0;
  if ((t.flags[c] & F_RTT) === 0 && seqLeq(t.sndMax[c], nxt)) {
    // Karn: time only new data; the timestamp option makes this redundant but is not always there.
    t.flags[c] |= F_RTT;
    t.rttSeq[c] = nxt;
    t.rttStartMs[c] = tcp.nowUs;
  }
  const n = len + (fin ? 1 : 0);
  const end = (nxt + n) >>> 0;
  t.sndNxt[c] = end;
  if (seqGt(end, t.sndMax[c])) t.sndMax[c] = end;
  return n;
}

/**
 * RFC 8985 §7.3 loss probe: the highest segment sent, again. The RFC prefers a
 * new segment, but a receiver answers a duplicate at once (with a D-SACK)
 * while it may hold the ACK of one new in-order segment for its delayed-ACK
 * time (Linux: 40 ms and up), and the probe is sent because an ACK is missing.
 * Against Linux at 5% loss each way a resent tail moved an upload 1.3-1.5x as
 * fast as new data did. Returns whether one went out.
 */
export function sendProbe(tcp: TcpLayer, c: number): boolean {
  const t = tcp.t;
  const una = t.sndUna[c];
  const end = t.sndMax[c];
  const from = seqGt((end - t.sndMss[c]) >>> 0, una) ? (end - t.sndMss[c]) >>> 0 : una;
  return seqLt(from, end) && retransmit(tcp, c, from, (end - from) >>> 0) > 0;
}

/**
 * RFC 3042 limited transmit: each of the first two duplicate ACKs sends one
 * new segment, as long as the flight stays within cwnd + 2 SMSS, so that a
 * small window still draws the duplicates that trigger fast retransmit.
 */
export function limitedTransmit(tcp: TcpLayer, c: number): void {
  const t = tcp.t;
  if (!canSend(t.state[c]) || t.dupAcks[c] > 2) return;
  const lim = t.cwnd[c] + 2 * t.sndMss[c];
  if (sendNew(tcp, c, t.sndWnd[c] < lim ? t.sndWnd[c] : lim) > 0) rearmProbe(tcp, c);
}

/**
 * RFC 6675 §5 step (C): while cwnd - pipe >= 1 SMSS, send what NextSeg (§4)
 * names: (1) the lowest lost hole above HighRxt, (2) new data the peer's
 * window allows, (3) the lowest un-SACKed hole above HighRxt, (4) once per
 * recovery, a rescue retransmission of the highest un-SACKed segment.
 * Returns whether anything was sent.
 */
function pipeOutput(tcp: TcpLayer, c: number): boolean {
  const t = tcp.t;
  const sack = tcp.sack;
  const mss = t.sndMss[c];
  const una = t.sndUna[c];
  // Lost retransmissions (as RACK, RFC 8985, would find them; RFC 6675 leaves them to
  // the RTO): data sent after the last one was SACKed, so holes still below HighRxt
  // were retransmitted in vain. Walk the holes from SND.UNA again.
  if (seqGt(t.highRxt[c], una) && sack.n[c] > 0 && seqGt(sack.highestSacked(c), t.rxtMark[c])) {
    const first = sack.nextHole(c, una);
    if (first >= 0 && seqLt(first, t.highRxt[c])) {
      t.highRxt[c] = una;
      tcp.counters.lostRetransmits++;
    }
  }
  let pipe = sack.pipe(c, una, t.sndMax[c], t.highRxt[c], mss);
  let sent = false;
  while (t.cwnd[c] - pipe >= mss) {
    const hole = sack.nextHole(c, seqMax(t.highRxt[c], una));
    // Rule 1 first, then rule 2 (new data), then rule 3: the same hole, not yet deemed lost.
    const lost = hole >= 0 && sack.isLost(c, hole, mss);
    let n = lost ? 0 : sendNew(tcp, c, t.sndWnd[c]);
    if (hole >= 0 && n === 0) {
      n = retransmit(tcp, c, hole, (sack.holeEnd - hole) >>> 0);
      if (n > 0) t.highRxt[c] = (hole + n) >>> 0;
    } else if (n === 0 && seqGeq(una, t.rescueRxt[c])) {
      // Rule 4: HighRxt stays; RescueRxt = RecoveryPoint allows no second one.
      const end = sack.highestUnsacked(c, una, t.sndMax[c]);
      const from = seqGt((end - mss) >>> 0, una) ? (end - mss) >>> 0 : una;
      if (seqLt(from, end)) n = retransmit(tcp, c, from, (end - from) >>> 0);
      if (n > 0) {
        t.rescueRxt[c] = t.recover[c];
        tcp.counters.rescueRetransmits++;
      }
    }
    if (n === 0) break;
    pipe += n;
    sent = true;
  }
  return sent;
}

/**
 * Retransmits up to `maxLen` bytes (one MSS at most) from `seq`, with the FIN
 * when the segment reaches it and it was sent before. Returns the sequence
 * space covered (0 when nothing was sent).
 */
export function retransmit(tcp: TcpLayer, c: number, seq: number, maxLen: number): number {
  const t = tcp.t;
  const una = t.sndUna[c];
  const bufLen = tcp.sb.len[c];
  const rel = (seq - una) >>> 0;
  if (rel > bufLen) return 0;
  let len = bufLen - rel;
  if (len > t.sndMss[c]) len = t.sndMss[c];
  if (len > maxLen) len = maxLen;
  const fin = (t.flags[c] & F_FIN_QUEUED) !== 0 && rel + len === bufLen && seqGt(t.sndMax[c], (una + bufLen) >>> 0);
  if (len === 0 && !fin) return 0;
  if (!transmit(tcp, c, seq, fin ? TCP_ACK | TCP_FIN : TCP_ACK, rel, len)) return 0;
  t.rxtMark[c] = t.sndMax[c];
  // Karn's rule (RFC 6298 §3): a retransmitted segment gives no RTT sample.
  if ((t.flags[c] & F_RTT) !== 0 && seqLeq(seq, t.rttSeq[c])) t.flags[c] &= ~F_RTT;
  return len + (fin ? 1 : 0);
}
