/**
 * What happens when a TCB's wheel entry fires: the delayed ACK, RACK's
 * reordering timer, the RTO (or loss probe, or persist) deadline, paced data
 * whose time came, keepalive (RFC 1122 §4.2.3.6) and the orphaned FIN_WAIT_2
 * timeout; then the entry is re-filed at the earliest deadline left.
 */
import { CloseReason } from './api.js';
import { TCP_ACK } from '../../wire/tcp.js';
import { reoTimeout } from './recovery.js';
import { rtoExpired } from './rto.js';
import { output, sendAck, transmit } from './snd.js';
import { CLOSED, F_CLOSE, F_DACK, FIN_WAIT_2, TIME_WAIT } from './tcb.js';
import type { TcpLayer } from './tcp_layer.js';

export function onTimer(tcp: TcpLayer, c: number): void {
  const t = tcp.t;
  const st = t.state[c];
  if (st === CLOSED || st === TIME_WAIT) return;
  const now = tcp.nowMs;
  const g = t.gen[c];
  if (t.dackAt[c] !== 0 && t.dackAt[c] <= now) {
    t.dackAt[c] = 0;
    if ((t.flags[c] & F_DACK) !== 0) sendAck(tcp, c);
  }
  const reo = tcp.rack.reoAt;
  if (reo[c] !== 0 && reo[c] <= now) {
    reo[c] = 0;
    tcp.counters.reoTimeouts++;
    reoTimeout(tcp, c);
    output(tcp, c);
    if (!tcp.alive(c, g)) return;
  }
  if (t.rtoAt[c] !== 0 && t.rtoAt[c] <= now) {
    t.rtoAt[c] = 0;
    rtoExpired(tcp, c);
    if (!tcp.alive(c, g)) return;
  }
  const pace = tcp.pacer.at;
  if (pace[c] !== 0 && pace[c] <= now) {
    pace[c] = 0;
    output(tcp, c);
    if (!tcp.alive(c, g)) return;
  }
  if (t.kaAt[c] !== 0 && t.kaAt[c] <= now) {
    t.kaAt[c] = 0;
    idleExpired(tcp, c);
    if (!tcp.alive(c, g)) return;
  }
  refile(tcp, c);
}

/** Files `c` in the wheel at its earliest armed deadline. */
export function refile(tcp: TcpLayer, c: number): void {
  const t = tcp.t;
  let m = t.rtoAt[c];
  const d = t.dackAt[c];
  const k = t.kaAt[c];
  const r = tcp.rack.reoAt[c];
  const p = tcp.pacer.at[c];
  if (d !== 0 && (m === 0 || d < m)) m = d;
  if (k !== 0 && (m === 0 || k < m)) m = k;
  if (r !== 0 && (m === 0 || r < m)) m = r;
  if (p !== 0 && (m === 0 || p < m)) m = p;
  if (m !== 0) tcp.wheel.schedule(c, m);
}

/** Restarts the idle clock on traffic from the peer. */
export function touchIdle(tcp: TcpLayer, c: number): void {
  if (tcp.cfg.keepaliveMs === 0 || tcp.t.state[c] === FIN_WAIT_2) return;
  tcp.t.kaProbes[c] = 0;
  tcp.t.kaAt[c] = tcp.nowMs + tcp.cfg.keepaliveMs;
  tcp.wheel.schedule(c, tcp.t.kaAt[c]);
}

function idleExpired(tcp: TcpLayer, c: number): void {
  const t = tcp.t;
  const cfg = tcp.cfg;
  if (t.state[c] === FIN_WAIT_2) {
    if ((t.flags[c] & F_CLOSE) !== 0) {
      tcp.counters.finWait2Timeouts++;
      tcp.closeConn(c, CloseReason.NORMAL);
    }
    return;
  }
  if (cfg.keepaliveMs === 0) return;
  if (t.sndMax[c] !== t.sndUna[c]) {
    // Data in flight: the RTO watches the peer.
    t.kaAt[c] = tcp.nowMs + cfg.keepaliveMs;
    return;
  }
  if (t.kaProbes[c] >= cfg.keepaliveProbes) {
    tcp.counters.keepaliveAborts++;
    tcp.closeConn(c, CloseReason.TIMEOUT);
    return;
  }
  // RFC 1122 §4.2.3.6: a probe with SEG.SEQ = SND.NXT - 1 elicits an ACK.
  transmit(tcp, c, (t.sndUna[c] - 1) >>> 0, TCP_ACK, 0, 0);
  t.kaProbes[c]++;
  tcp.counters.keepaliveProbes++;
  t.kaAt[c] = tcp.nowMs + cfg.keepaliveIntervalMs;
}
