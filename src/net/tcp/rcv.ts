/**
 * Segment arrival on a synchronized connection (RFC 9293 §3.10.7.4, in its
 * order of checks): PAWS (RFC 7323 §5), sequence acceptability, RST, SYN,
 * ACK (SND.UNA advance, RTT, congestion control, duplicate ACKs and fast
 * recovery per RFC 5681/6582 with SACK-chosen retransmissions, window update),
 * then data (out-of-order queue, delayed ACK) and FIN.
 */
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from '../../wire/tcp.js';
import { CloseReason } from './api.js';
import { CHUNK_SIZE, copyBytes } from './chunk_pool.js';
import { synSentInput, establish, wireSample } from './connect.js';
import { challengeAck, rstArrives, sendResetFor } from './rst.js';
import { rcvSpaceOnData } from './rcv_space.js';
import { ecnOnAck, ecnOnData } from './ecn.js';
import { sackAck } from './recovery.js';
import { armDataTimer, rttSample } from './rto.js';
import { DUP_THRESH } from './sack.js';
import { RXT_DUPACK, ackNow, ackSoon, limitedTransmit, output, rcvWnd, retransmitAt, sendAck } from './snd.js';
import { seqGeq, seqGt, seqLeq, seqLt, seqMax } from './seq.js';
import {
  CA_LOSS, CA_OPEN, CA_RECOVERY, CLOSE_WAIT, CLOSING, ESTABLISHED, F_CLOSE, F_OOO_FIN, F_PASSIVE, F_PERSIST, F_SACK, F_TS,
  F_WANT_WRITABLE, FIN_WAIT_1, FIN_WAIT_2, LAST_ACK, SYN_RECEIVED, SYN_SENT, TLP_NONE,
} from './tcb.js';
import type { TcpLayer } from './tcp_layer.js';
import { refile, touchIdle } from './timers.js';

/** RFC 9293 §3.10.7.4 first check: does any of the segment fall in the receive window? */
export function seqAcceptable(rcvNxt: number, wnd: number, seq: number, segLen: number): boolean {
  const end = (rcvNxt + wnd) >>> 0;
  if (segLen === 0) return wnd === 0 ? seq === rcvNxt : seqGeq(seq, rcvNxt) && seqLt(seq, end);
  if (wnd === 0) return false;
  const last = (seq + segLen - 1) >>> 0;
  return (seqGeq(seq, rcvNxt) && seqLt(seq, end)) || (seqGeq(last, rcvNxt) && seqLt(last, end));
}

/** The segment in `tcp.rx` / `tcp.rxOpt` arrived for connection `c`. */
export function segmentArrives(tcp: TcpLayer, c: number): void {
  const t = tcp.t;
  const r = tcp.rx;
  const o = tcp.rxOpt;
  const flags = r.flags;
  const st = t.state[c];
  if (st === SYN_SENT) {
    synSentInput(tcp, c);
    return;
  }
  const k = tcp.counters;
  const segLen = r.payloadLen + ((flags & TCP_SYN) !== 0 ? 1 : 0) + ((flags & TCP_FIN) !== 0 ? 1 : 0);
  // RFC 7323 §5.3 R1: PAWS. (The 24-day idle exemption of R3 is not needed: idle TCBs are this young.)
  if ((t.flags[c] & F_TS) !== 0 && o.hasTimestamps && (flags & TCP_RST) === 0 && seqLt(o.tsVal, t.tsRecent[c])) {
    k.pawsDrops++;
    if (segLen === 0 && disorderedAck(tcp, c)) return;
    sendAck(tcp, c);
    return;
  }
  if (!seqAcceptable(t.rcvNxt[c], rcvWnd(tcp, c), r.seq, segLen)) {
    k.outOfWindow++;
    if ((flags & TCP_RST) === 0) {
      // RFC 2883: data we already have is reported back as a D-SACK block.
      const end = (r.seq + segLen) >>> 0;
      if (segLen > 0 && (t.flags[c] & F_SACK) !== 0 && seqLeq(end, t.rcvNxt[c])) tcp.dsack(c, r.seq, end);
      sendAck(tcp, c);
    }
    return;
  }
  // RFC 7323 §4.3 (3): remember the timestamp of the segment that covers Last.ACK.sent.
  if ((t.flags[c] & F_TS) !== 0 && o.hasTimestamps && seqLeq(r.seq, t.lastAckSent[c])) t.tsRecent[c] = o.tsVal;
  if ((flags & TCP_RST) !== 0) {
    rstArrives(tcp, c);
    return;
  }
  if ((flags & TCP_SYN) !== 0) {
    if (st === SYN_RECEIVED && (t.flags[c] & F_PASSIVE) !== 0) {
      tcp.release(c); // RFC 9293: a passive SYN_RECEIVED returns to LISTEN
      return;
    }
    challengeAck(tcp, c); // RFC 5961 §4.2
    return;
  }
  if ((flags & TCP_ACK) === 0) return;
  const g = t.gen[c];
  if (st === SYN_RECEIVED) {
    if (seqLeq(r.ack, t.sndUna[c]) || seqGt(r.ack, t.sndMax[c])) {
      sendResetFor(tcp, t.remoteIp[c], t.localIp[c]); // RFC 9293: unacceptable ACK in SYN_RECEIVED
      return;
    }
    t.sndUna[c] = r.ack;
    t.sndWnd[c] = (r.window << t.sndWs[c]) >>> 0;
    t.maxSndWnd[c] = t.sndWnd[c];
    t.sndWl1[c] = r.seq;
    t.sndWl2[c] = r.ack;
    if (!establish(tcp, c)) return;
  }
  if (!processAck(tcp, c)) return;
  const st2 = t.state[c];
  if (r.payloadLen > 0) ecnOnData(tcp, c, flags, tcp.rxCe);
  if ((r.payloadLen > 0 || (flags & TCP_FIN) !== 0) && (st2 === ESTABLISHED || st2 === FIN_WAIT_1 || st2 === FIN_WAIT_2)) {
    processData(tcp, c);
    if (!tcp.alive(c, g)) return;
  }
  output(tcp, c);
  touchIdle(tcp, c);
}

/**
 * A pure ACK that failed PAWS because a later ACK overtook it (ACKs reordered
 * on the way back): as Linux's tcp_disordered_ack, it is not answered, and
 * when it moves nothing (its ACK at or below SND.UNA, its sequence RCV.NXT)
 * and its timestamp is within an RTO of TS.Recent (no old duplicate from a
 * wrapped sequence space, what PAWS guards against, RFC 7323 §5.3), its SACK
 * blocks still reach the scoreboard: SACK is advisory (RFC 2018 §4) and a
 * D-SACK (RFC 2883) is sent once, so one dropped here is a spurious
 * retransmission never seen and a window reduction never undone. Returns
 * whether the ACK was taken so (no ACK in reply).
 */
function disorderedAck(tcp: TcpLayer, c: number): boolean {
  const t = tcp.t;
  const r = tcp.rx;
  const o = tcp.rxOpt;
  if ((r.flags & (TCP_ACK | TCP_SYN | TCP_FIN)) !== TCP_ACK || r.seq !== t.rcvNxt[c]) return false;
  if (seqGt(r.ack, t.sndUna[c]) || seqLt(r.ack, (t.sndUna[c] - t.maxSndWnd[c]) >>> 0)) return false;
  if (((t.tsRecent[c] - o.tsVal) | 0) * 1000 > t.rto[c]) return false;
  if ((t.flags[c] & F_SACK) === 0 || o.sackCount === 0) return true;
  tcp.rtx.beginAck(tcp.rack.minRtt[c]);
  dsackSeen = false;
  if (takeSack(tcp, c, r.ack) || dsackSeen) {
    // No timestamp echo: an older one than the ACKs already taken says nothing of the episode's end (Eifel).
    sackAck(tcp, c, false, 0);
    output(tcp, c);
  }
  return true;
}

/** Processes the ACK field; false when the segment must not be processed further (dropped, or the TCB is gone). */
function processAck(tcp: TcpLayer, c: number): boolean {
  const t = tcp.t;
  const r = tcp.rx;
  const o = tcp.rxOpt;
  const ack = r.ack;
  const una = t.sndUna[c];
  if (seqGt(ack, t.sndMax[c])) {
    // RFC 9293 §3.10.7.4: ACK for data never sent; RFC 5961 §5.2 applies the same answer.
    sendAck(tcp, c);
    return false;
  }
  if (seqLt(ack, (una - t.maxSndWnd[c]) >>> 0)) {
    challengeAck(tcp, c); // RFC 5961 §5.2: too old to be a plausible duplicate
    return false;
  }
  const sackOn = (t.flags[c] & F_SACK) !== 0;
  tcp.rtx.beginAck(tcp.rack.minRtt[c]);
  dsackSeen = false;
  const newSack = sackOn && o.sackCount > 0 && takeSack(tcp, c, ack);
  const wnd = (r.window << t.sndWs[c]) >>> 0;
  const g = t.gen[c];
  const advanced = seqGt(ack, una);
  if (advanced) {
    if (!newAck(tcp, c, ack)) return false;
  } else {
    if (
      // RFC 5681 §2 duplicate; RFC 6675 §2: one that SACKs new data counts though the window moved (Linux's grows).
      ack === una && r.payloadLen === 0 && (r.flags & (TCP_SYN | TCP_FIN)) === 0 &&
      (wnd === t.sndWnd[c] || newSack) && t.sndMax[c] !== una && (t.flags[c] & F_PERSIST) === 0
    ) {
      if (sackOn) tcp.counters.dupAcksIn++;
      else dupAck(tcp, c);
    }
    // RACK (RFC 8985) runs on every ACK that delivered something or reported a duplicate.
    if (sackOn && (newSack || dsackSeen)) sackAck(tcp, c, false, tsEcrOf(tcp, c));
  }
  ecnOnAck(tcp, c, r.flags);
  // RFC 9293 §3.10.7.4: window update only from a segment at least as new as the last one used.
  if (seqLt(t.sndWl1[c], r.seq) || (t.sndWl1[c] === r.seq && seqLeq(t.sndWl2[c], ack))) {
    t.sndWnd[c] = wnd;
    t.sndWl1[c] = r.seq;
    t.sndWl2[c] = ack;
    if (wnd > t.maxSndWnd[c]) t.maxSndWnd[c] = wnd;
    if (wnd > 0 && (t.flags[c] & F_PERSIST) !== 0) {
      t.flags[c] &= ~F_PERSIST;
      t.backoff[c] = 0;
      if (t.sndMax[c] === t.sndUna[c]) t.rtoAt[c] = 0;
    }
  }
  return tcp.alive(c, g);
}

/** The timestamp echo of the segment being processed, 0 when it has none. */
function tsEcrOf(tcp: TcpLayer, c: number): number {
  return (tcp.t.flags[c] & F_TS) !== 0 && tcp.rxOpt.hasTimestamps ? tcp.rxOpt.tsEcr : 0;
}

/** This ACK carried a D-SACK (RFC 2883). */
let dsackSeen = false;

/**
 * RFC 2018 §4: SACK blocks are advisory; those inside (SEG.ACK, SND.MAX] mark
 * the scoreboard. A first block below SEG.ACK or inside the second one is a
 * D-SACK (RFC 2883): it widens RACK's reordering window, and counts as a
 * spurious retransmission when it reports data we resent. Returns whether
 * new data was SACKed.
 */
function takeSack(tcp: TcpLayer, c: number, ack: number): boolean {
  const o = tcp.rxOpt;
  const b = o.sackBlocks;
  const t = tcp.t;
  const max = t.sndMax[c];
  let tagged = 0;
  for (let i = 0; i < o.sackCount; i++) {
    const l = b[2 * i];
    const r = b[2 * i + 1];
    if (!seqLt(l, r)) continue;
    if (i === 0 && (seqLeq(r, ack) || (o.sackCount > 1 && seqGeq(l, b[2]) && seqLeq(r, b[3])))) {
      dsackSeen = true;
      tcp.counters.dsacksIn++;
      const ours = seqGeq(l, t.rxtLo[c]) && seqLeq(r, t.rxtHi[c]);
      if (ours) tcp.counters.spuriousRetransmits++;
      tcp.rack.onDsack(c, t.sndUna[c] | 0, max | 0, ours);
      tcp.rack.tlpDsack(c, r >>> 0);
      tcp.undo.onDsack(c, l | 0, r | 0, t.sndMss[c]);
      continue;
    }
    if (seqLeq(r, ack) || seqGt(r, max)) continue;
    tagged += tcp.rtx.tagSacked(c, seqMax(l, ack) | 0, r | 0);
  }
  return tagged > 0;
}

/** SND.UNA advances to `ack`. */
function newAck(tcp: TcpLayer, c: number, ack: number): boolean {
  const t = tcp.t;
  const o = tcp.rxOpt;
  const rtx = tcp.rtx;
  const una = t.sndUna[c];
  const acked = (ack - una) >>> 0;
  const bufLen = tcp.sb.len[c];
  const finAcked = acked > bufLen;
  tcp.sb.consume(c, finAcked ? bufLen : acked);
  t.sndUna[c] = ack;
  if (seqLt(t.sndNxt[c], ack)) t.sndNxt[c] = ack;
  wireSample(tcp, c, ack);
  // The scoreboard's ring stays while more data waits to be sent (a bulk sender would take it again at once).
  rtx.cumAck(c, ack | 0, tcp.sb.len[c] > 0);
  tcp.counters.bytesAcked += finAcked ? bufLen : acked;
  // RTT (RFC 6298 with Karn's rule): the first segment acknowledged, when nothing this ACK covers
  // was retransmitted, in µs from its send time; else the timestamp echo (RFC 7323 §4.1), in ms.
  if (rtx.seqRttXmit >= 0 && !rtx.cumRetrans) {
    rttSample(tcp, c, (tcp.nowUs - rtx.seqRttXmit) | 0);
  } else if ((t.flags[c] & F_TS) !== 0 && o.hasTimestamps && o.tsEcr !== 0) {
    rttSample(tcp, c, ((tcp.tsVal(c) - o.tsEcr) | 0) * 1000);
  }
  t.backoff[c] = 0;
  if ((t.flags[c] & F_SACK) !== 0) {
    sackAck(tcp, c, true, tsEcrOf(tcp, c));
  } else {
    renoAck(tcp, c, ack, acked);
  }
  t.dupAcks[c] = 0;
  // RFC 6298 §5.2-5.3: stop the timer when all is acknowledged, else restart it.
  if (t.sndMax[c] === ack) t.rtoAt[c] = 0;
  else armDataTimer(tcp, c);
  if (finAcked) {
    const st = t.state[c];
    if (st === FIN_WAIT_1) {
      t.state[c] = FIN_WAIT_2;
      if ((t.flags[c] & F_CLOSE) !== 0) {
        t.kaAt[c] = tcp.nowMs + tcp.cfg.finWait2Ms;
        refile(tcp, c);
      }
    } else if (st === CLOSING) {
      tcp.enterTimeWait(c);
      return false;
    } else if (st === LAST_ACK) {
      tcp.closeConn(c, CloseReason.NORMAL);
      return false;
    }
  }
  if ((t.flags[c] & F_WANT_WRITABLE) !== 0 && tcp.sb.len[c] < tcp.cfg.sndBuf) {
    t.flags[c] &= ~F_WANT_WRITABLE;
    const h = t.handler[c];
    if (h !== null) {
      const g = t.gen[c];
      h.onWritable(c);
      return tcp.alive(c, g);
    }
  }
  return true;
}

/** Congestion control of a cumulative ACK without SACK: RFC 6582 recovery (partial and full ACKs), or growth. */
function renoAck(tcp: TcpLayer, c: number, ack: number, acked: number): void {
  const t = tcp.t;
  const cc = tcp.ccOf(c);
  const rtx = tcp.rtx;
  t.tlp[c] = TLP_NONE;
  const ca = t.ca[c];
  if (ca === CA_RECOVERY) {
    if (seqGeq(ack, t.recover[c])) {
      t.ca[c] = CA_OPEN; // RFC 6582 §3.2 step 4: full acknowledgment
      cc.exitRecovery(c, false);
    } else {
      cc.onPartialAck(c, acked); // step 5: partial acknowledgment, and the next hole goes at once
      retransmitAt(tcp, c, ack, RXT_DUPACK);
    }
    return;
  }
  if (ca === CA_LOSS && seqGeq(ack, t.recover[c])) t.ca[c] = CA_OPEN;
  const rtt = rtx.caRttXmit >= 0 ? (tcp.nowUs - rtx.caRttXmit) | 0 : -1;
  cc.onAck(c, acked, ack | 0, rtt);
}

/** RFC 5681 §3.2 / RFC 6582 §3.2 without SACK: duplicate ACK counting, fast retransmit, window inflation. */
function dupAck(tcp: TcpLayer, c: number): void {
  const t = tcp.t;
  tcp.counters.dupAcksIn++;
  const ca = t.ca[c];
  if (ca === CA_RECOVERY) {
    tcp.ccOf(c).onDupAck(c);
    return;
  }
  // RFC 6582 §4: after an RTO, no fast retransmit for what was in flight.
  if (ca === CA_LOSS) return;
  const una = t.sndUna[c];
  if (++t.dupAcks[c] < dupThresh(tcp, c)) {
    limitedTransmit(tcp, c);
    return;
  }
  // Step 1: only when the ACK covers more than `recover` (no second reduction for one loss episode).
  if (!seqGeq(una, t.recover[c])) return;
  t.recover[c] = t.sndMax[c];
  tcp.ccOf(c).enterRecovery(c, false);
  t.ca[c] = CA_RECOVERY;
  tcp.counters.fastRetransmits++;
  retransmitAt(tcp, c, una, RXT_DUPACK);
}

/**
 * RFC 5827 early retransmit: with fewer than four segments outstanding and no
 * new data that may be sent, fewer duplicates can ever come, so the threshold
 * is the outstanding segments less one.
 */
function dupThresh(tcp: TcpLayer, c: number): number {
  const t = tcp.t;
  const mss = t.sndMss[c];
  const flight = (t.sndMax[c] - t.sndUna[c]) >>> 0;
  if (flight >= (DUP_THRESH + 1) * mss) return DUP_THRESH;
  const unsent = tcp.sb.len[c] - ((t.sndNxt[c] - t.sndUna[c]) >>> 0);
  if (unsent > 0 && t.sndWnd[c] > flight) return DUP_THRESH;
  const oseg = Math.ceil(flight / mss);
  return oseg > 2 ? oseg - 1 : 1;
}

/** Data and FIN of an acceptable segment (RFC 9293 §3.10.7.4 seventh and eighth). */
function processData(tcp: TcpLayer, c: number): void {
  const t = tcp.t;
  const r = tcp.rx;
  const k = tcp.counters;
  let seq = r.seq;
  let off = r.payloadOff;
  let len = r.payloadLen;
  let fin = (r.flags & TCP_FIN) !== 0;
  const rcvNxt = t.rcvNxt[c];
  if (seqLt(seq, rcvNxt)) {
    const d = (rcvNxt - seq) >>> 0;
    if (d > len) fin = false; // an old FIN
    if (d >= len) {
      off += len;
      len = 0;
    } else {
      off += d;
      len -= d;
    }
    seq = rcvNxt;
  }
  const wEnd = (rcvNxt + rcvWnd(tcp, c)) >>> 0;
  if (seqGt((seq + len) >>> 0, wEnd)) {
    const room = (wEnd - seq) | 0;
    len = room > 0 ? room : 0;
    fin = false;
  }
  if (seq !== rcvNxt) {
    k.oooSegs++;
    if (len > 0) oooInsert(tcp, c, seq, off, len);
    if (fin) {
      // A duplicate reported as a D-SACK covers its FIN too.
      if (tcp.dsackConn === c && tcp.dsackR === ((seq + len) >>> 0) && (t.flags[c] & F_OOO_FIN) !== 0) tcp.dsackR = (tcp.dsackR + 1) >>> 0;
      // Kept, as Linux keeps it with the segment: SACK blocks cover it, and the sender need not resend it.
      t.oooFin[c] = (seq + len) >>> 0;
      t.flags[c] |= F_OOO_FIN;
    }
    sendAck(tcp, c); // RFC 5681 §4.2: out-of-order data is acknowledged at once
    return;
  }
  const g = t.gen[c];
  const hadOoo = t.oooHead[c] >= 0;
  if (len > 0) {
    t.rcvNxt[c] = (rcvNxt + len) >>> 0;
    k.bytesIn += len;
    rcvSpaceOnData(tcp, c, len);
    deliver(tcp, c, tcp.pool.u8, off, len);
    if (!tcp.alive(c, g)) return;
  }
  if (hadOoo) {
    drainOoo(tcp, c);
    if (!tcp.alive(c, g)) return;
  }
  if ((t.flags[c] & F_OOO_FIN) !== 0 && t.rcvNxt[c] === t.oooFin[c]) {
    t.flags[c] &= ~F_OOO_FIN;
    fin = true;
  }
  if (fin && t.oooHead[c] < 0) {
    finArrives(tcp, c);
    return;
  }
  if (hadOoo) sendAck(tcp, c); // RFC 5681 §4.2: a segment that fills a hole is acknowledged at once
  else if (len > 0) ackSoon(tcp, c);
}

function deliver(tcp: TcpLayer, c: number, u8: Uint8Array, off: number, len: number): void {
  tcp.wire.received(c);
  const h = tcp.t.handler[c];
  if (h !== null && (tcp.t.flags[c] & F_CLOSE) === 0) h.onData(c, u8, off, len);
}

/** Keeps out-of-order bytes in one chunk per segment, sorted by sequence (overlaps are trimmed when drained). */
function oooInsert(tcp: TcpLayer, c: number, seq: number, off: number, len: number): void {
  const t = tcp.t;
  const ch = tcp.chunks;
  if (len > CHUNK_SIZE) len = CHUNK_SIZE;
  const end = (seq + len) >>> 0;
  let prev = -1;
  let cur = t.oooHead[c];
  while (cur >= 0 && seqLeq(ch.seq[cur], seq)) {
    if (seqGeq((ch.seq[cur] + ch.len[cur]) >>> 0, end)) {
      t.oooLast[c] = seq; // a duplicate of what we hold: a D-SACK block in the ACK that follows (RFC 2883)
      if ((t.flags[c] & F_SACK) !== 0) tcp.dsack(c, seq, end);
      return;
    }
    prev = cur;
    cur = ch.next[cur];
  }
  // A window's worth of quarter-full chunks at most (tiny segments must not take the shared pool).
  const cap = Math.ceil(t.rcvSpace[c] / (CHUNK_SIZE / 4));
  const n = t.oooCount[c] < cap && t.oooCount[c] < 65535 ? ch.alloc() : -1;
  if (n < 0) {
    tcp.counters.oooDropped++;
    return;
  }
  t.oooCount[c]++;
  copyBytes(tcp.pool.u8, off, ch.u8, n * CHUNK_SIZE, len);
  ch.seq[n] = seq;
  ch.len[n] = len;
  ch.next[n] = cur;
  if (prev < 0) t.oooHead[c] = n;
  else ch.next[prev] = n;
  t.oooLast[c] = seq;
}

/** Delivers queued segments that RCV.NXT has reached. */
function drainOoo(tcp: TcpLayer, c: number): void {
  const t = tcp.t;
  const ch = tcp.chunks;
  const g = t.gen[c];
  let h = t.oooHead[c];
  while (h >= 0 && seqLeq(ch.seq[h], t.rcvNxt[c])) {
    t.oooHead[c] = ch.next[h];
    const rcvNxt = t.rcvNxt[c];
    const end = (ch.seq[h] + ch.len[h]) >>> 0;
    if (seqGt(end, rcvNxt)) {
      const d = (rcvNxt - ch.seq[h]) >>> 0;
      t.rcvNxt[c] = end;
      tcp.counters.bytesIn += ch.len[h] - d;
      rcvSpaceOnData(tcp, c, ch.len[h] - d);
      deliver(tcp, c, ch.u8, h * CHUNK_SIZE + d, ch.len[h] - d);
    }
    ch.free(h);
    if (!tcp.alive(c, g)) return;
    t.oooCount[c]--;
    h = t.oooHead[c];
  }
}

/** RFC 9293 §3.10.7.4 eighth: the FIN. */
function finArrives(tcp: TcpLayer, c: number): void {
  const t = tcp.t;
  t.rcvNxt[c] = (t.rcvNxt[c] + 1) >>> 0;
  t.flags[c] &= ~F_OOO_FIN;
  const st = t.state[c];
  if (st === FIN_WAIT_2) {
    sendAck(tcp, c);
    tcp.enterTimeWait(c);
    return;
  }
  t.state[c] = st === FIN_WAIT_1 ? CLOSING : CLOSE_WAIT;
  const h = t.handler[c];
  if (h !== null && (t.flags[c] & F_CLOSE) === 0) {
    const g = t.gen[c];
    h.onPeerClosed(c);
    if (!tcp.alive(c, g)) return;
  }
  // The FIN is acknowledged at once, by our own FIN when the application closed in onPeerClosed.
  if (t.lastAckSent[c] !== t.rcvNxt[c]) ackNow(tcp, c);
}
