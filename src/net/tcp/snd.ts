/**
 * The send path: building segments from the send buffer (segmentation to the
 * peer's MSS, RFC 9293 §3.8.6), the usable window min(SND.WND, cwnd), FIN after
 * the queued data, retransmission of one segment, and pure ACKs.
 */
import { IPV4_PROTO_TCP } from '../../wire/ipv4.js';
import { TCP_ACK, TCP_FIN, TCP_HDR_LEN, TCP_PSH, TCP_RST, TCP_SYN, emitTcp, tcpFinishChecksum } from '../../wire/tcp.js';
import { TCP_MAX_SACK_BLOCKS, emitTcpOptions } from '../../wire/tcp_options.js';
import { L4_OFF } from '../layout.js';
import { fillOptions } from './options.js';
import { armPersist, armRto } from './rto.js';
import { buildSackBlocks } from './sack.js';
import { seqGt, seqLeq, seqLt } from './seq.js';
import {
  CLOSE_WAIT, CLOSING, ESTABLISHED, F_ACK_NOW, F_DACK, F_DEFERRED, F_FIN_QUEUED, F_RTT, F_SACK, FIN_WAIT_1, LAST_ACK, SYN_SENT,
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
  fillOptions(t, tcp.cfg, c, syn, t.state[c] === SYN_SENT, tcp.tsVal(), o);
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
 * as min(SND.WND, cwnd) allows; no Nagle delay (a generator wants writes on
 * the wire at once). Arms the RTO, or the persist timer on a zero window.
 */
export function output(tcp: TcpLayer, c: number): void {
  const t = tcp.t;
  // Written to inside this received burst: TcpLayer.burstEnd sends it all at once.
  if (!canSend(t.state[c]) || (t.flags[c] & F_DEFERRED) !== 0) return;
  const una = t.sndUna[c];
  let nxt = t.sndNxt[c];
  const bufLen = tcp.sb.len[c];
  const finQueued = (t.flags[c] & F_FIN_QUEUED) !== 0;
  const end = (una + bufLen) >>> 0;
  const mss = t.sndMss[c];
  const wnd = t.sndWnd[c] < t.cwnd[c] ? t.sndWnd[c] : t.cwnd[c];
  let sent = false;
  while (!(finQueued && seqGt(nxt, end))) {
    const off = (nxt - una) >>> 0;
    const avail = bufLen - off;
    const room = wnd - off;
    let len = avail < mss ? avail : mss;
    if (len > room) len = room > 0 ? room : 0;
    const fin = finQueued && off + len === bufLen;
    if (len === 0 && !(fin && avail === 0)) break;
    let flags = TCP_ACK;
    if (fin) flags |= TCP_FIN;
    if (len > 0 && off + len === bufLen) flags |= TCP_PSH;
    if (!transmit(tcp, c, nxt, flags, off, len)) break;
    if ((t.flags[c] & F_RTT) === 0 && seqLeq(t.sndMax[c], nxt)) {
      // Karn: time only new data; the timestamp option makes this redundant but is not always there.
      t.flags[c] |= F_RTT;
      t.rttSeq[c] = nxt;
      t.rttStartMs[c] = tcp.nowUs;
    }
    nxt = (nxt + len + (fin ? 1 : 0)) >>> 0;
    sent = true;
    if (seqGt(nxt, t.sndMax[c])) t.sndMax[c] = nxt;
    if (fin) break;
  }
  t.sndNxt[c] = nxt;
  if (sent && t.rtoAt[c] === 0) armRto(tcp, c);
  // RFC 9293 §3.8.6.1: data waiting behind a zero window and nothing in flight to elicit an ACK: probe.
  if (t.sndWnd[c] === 0 && bufLen > 0 && t.sndMax[c] === una && t.rtoAt[c] === 0) armPersist(tcp, c);
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
  // Karn's rule (RFC 6298 §3): a retransmitted segment gives no RTT sample.
  if ((t.flags[c] & F_RTT) !== 0 && seqLeq(seq, t.rttSeq[c])) t.flags[c] &= ~F_RTT;
  return len + (fin ? 1 : 0);
}
