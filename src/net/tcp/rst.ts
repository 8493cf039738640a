/**
 * Resets: answering segments that match no connection (RFC 9293 §3.10.7.1),
 * accepting a RST only at exactly RCV.NXT and answering an in-window one with
 * a challenge ACK (RFC 5961 §3.2), rate-limited (RFC 5961 §7).
 */
import { IPV4_PROTO_TCP } from '../../wire/ipv4.js';
import { TCP_ACK, TCP_FIN, TCP_HDR_LEN, TCP_RST, TCP_SYN, emitTcp, tcpFinishChecksum } from '../../wire/tcp.js';
import { L4_OFF } from '../layout.js';
import { CloseReason } from './api.js';
import { sendAck } from './snd.js';
import { F_PASSIVE, SYN_RECEIVED, TIME_WAIT } from './tcb.js';
import type { TcpLayer } from './tcp_layer.js';

/**
 * RST for the segment in `tcp.rx` that came from `remoteIp` to `localIp`:
 * <SEQ=SEG.ACK><CTL=RST> if it had ACK, else <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
 */
export function sendResetFor(tcp: TcpLayer, remoteIp: number, localIp: number): void {
  const r = tcp.rx;
  if ((r.flags & TCP_RST) !== 0) return; // never answer a RST
  const pool = tcp.pool;
  const slot = pool.alloc();
  if (slot < 0) {
    tcp.counters.txNoBuf++;
    return;
  }
  const h = tcp.txRepr;
  h.srcPort = r.dstPort;
  h.dstPort = r.srcPort;
  if ((r.flags & TCP_ACK) !== 0) {
    h.seq = r.ack;
    h.ack = 0;
    h.flags = TCP_RST;
  } else {
    const segLen = r.payloadLen + ((r.flags & TCP_SYN) !== 0 ? 1 : 0) + ((r.flags & TCP_FIN) !== 0 ? 1 : 0);
    h.seq = 0;
    h.ack = (r.seq + segLen) >>> 0;
    h.flags = TCP_RST | TCP_ACK;
  }
  h.dataOff = TCP_HDR_LEN;
  h.window = 0;
  h.urgent = 0;
  const l4 = pool.base(slot) + L4_OFF;
  emitTcp(h, pool.dv, l4);
  tcpFinishChecksum(pool.dv, l4, TCP_HDR_LEN, localIp, remoteIp);
  pool.dataLen[slot] = L4_OFF + TCP_HDR_LEN;
  tcp.counters.rstOut++;
  tcp.counters.segsOut++;
  tcp.stack.outputIpv4(slot, localIp, remoteIp, IPV4_PROTO_TCP, TCP_HDR_LEN);
}

/** A RST passed the window check on `c` (RFC 5961 §3.2). */
export function rstArrives(tcp: TcpLayer, c: number): void {
  const t = tcp.t;
  if (tcp.rx.seq !== t.rcvNxt[c]) {
    challengeAck(tcp, c);
    return;
  }
  tcp.counters.rstIn++;
  const st = t.state[c];
  // RFC 1337: ignore RSTs in TIME_WAIT (no assassination); the timer ends it.
  if (st === TIME_WAIT) return;
  if (st === SYN_RECEIVED && (t.flags[c] & F_PASSIVE) !== 0) {
    tcp.release(c); // RFC 9293: back to LISTEN; the application never saw it
    return;
  }
  tcp.closeConn(c, CloseReason.RESET);
}

/** RFC 5961 §3.2/§4.2/§5.2 challenge ACK, at most challengeAckLimit per second per worker. */
export function challengeAck(tcp: TcpLayer, c: number): void {
  const sec = Math.floor(tcp.nowMs / 1000);
  if (sec !== tcp.challengeSecond) {
    tcp.challengeSecond = sec;
    tcp.challengeCount = 0;
  }
  if (tcp.challengeCount >= tcp.cfg.challengeAckLimit) {
    tcp.counters.challengeAcksSuppressed++;
    return;
  }
  tcp.challengeCount++;
  tcp.counters.challengeAcks++;
  sendAck(tcp, c);
}
