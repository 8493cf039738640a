/**
 * Retransmission timer per RFC 6298: SRTT/RTTVAR estimator, RTO bounds,
 * exponential backoff, Karn's rule (samples only from segments sent once, or
 * from timestamp echoes, RFC 7323 §4), and the retry limit that aborts the
 * connection. The persist timer (zero-window probing, RFC 9293 §3.8.6.1)
 * shares the deadline, as in BSD.
 */
import { CloseReason } from './api.js';
import { TCP_ACK, TCP_SYN } from '../../wire/tcp.js';
import { rtoMarkLost } from './recovery.js';
import { RXT_RTO, bareFin, output, retransmitBareFin, retransmitRecord, sendProbe, transmit } from './snd.js';
import { CA_OPEN, F_PERSIST, F_RTT, F_SACK, SYN_RECEIVED, SYN_SENT, TLP_ARMED, TLP_NONE } from './tcb.js';
import type { TcpLayer } from './tcp_layer.js';

/** Clock granularity G of RFC 6298 §2 (the wheel ticks in ms). */
const GRANULARITY_US = 1000;
/** Backoff exponent ceiling (the RTO is capped at rtoMax anyway). */
const MAX_BACKOFF_SHIFT = 16;
/**
 * Slack added to the timers that guess an ACK is late, as Linux's TCP_TIMEOUT_MIN
 * (2 jiffies): to 2 SRTT in the probe timeout (room for the peer's burst-end
 * ACK), and to RACK's reordering timer (recovery.ts).
 */
export const TIMER_SLACK_MS = 2;
/** RFC 8985 §7.2 WCDelAckT: a lone segment in flight may wait for the peer's delayed ACK. */
const PTO_DELACK_MS = 200;

/** Feeds one RTT measurement (µs) into the estimator (RFC 6298 §2.2-2.3). */
export function rttSample(tcp: TcpLayer, c: number, r: number): void {
  const t = tcp.t;
  if (r < 1) r = 1;
  if (t.srtt[c] < 0) {
    t.srtt[c] = r;
    t.rttvar[c] = r >> 1;
  } else {
    const err = t.srtt[c] - r;
    t.rttvar[c] = (3 * t.rttvar[c] + (err < 0 ? -err : err)) >> 2;
    t.srtt[c] = (7 * t.srtt[c] + r) >> 3;
  }
  const k = 4 * t.rttvar[c];
  let rto = t.srtt[c] + (k > GRANULARITY_US ? k : GRANULARITY_US);
  if (rto < tcp.cfg.rtoMinUs) rto = tcp.cfg.rtoMinUs;
  if (rto > tcp.cfg.rtoMaxUs) rto = tcp.cfg.rtoMaxUs;
  t.rto[c] = rto;
  tcp.stats.sample(t.cwnd[c], t.srtt[c]);
}

/** The RTO with the current backoff applied (RFC 6298 §5.5), capped at rtoMax. */
export function currentRtoUs(tcp: TcpLayer, c: number): number {
  const b = tcp.t.backoff[c];
  const v = tcp.t.rto[c] * 2 ** (b < MAX_BACKOFF_SHIFT ? b : MAX_BACKOFF_SHIFT);
  return v < tcp.cfg.rtoMaxUs ? v : tcp.cfg.rtoMaxUs;
}

/** (Re)starts the retransmission timer (RFC 6298 §5.1, §5.3). */
export function armRto(tcp: TcpLayer, c: number): void {
  const at = tcp.nowMs + Math.ceil(currentRtoUs(tcp, c) / 1000);
  tcp.t.rtoAt[c] = at;
  tcp.wheel.schedule(c, at);
}

/**
 * Arms the timer that watches data in flight: the loss probe timeout (RFC 8985
 * §7.2, PTO = 2 SRTT + 2 ms, or + WCDelAckT with one segment in flight, at most the RTO)
 * when SACK is on, an RTT is known, no recovery and no probe episode is open;
 * the RTO otherwise.
 */
export function armDataTimer(tcp: TcpLayer, c: number): void {
  const t = tcp.t;
  if ((t.flags[c] & F_SACK) === 0 || t.ca[c] !== CA_OPEN || tcp.rack.tlpOpen(c) || t.srtt[c] < 0 || t.backoff[c] !== 0) {
    if (t.tlp[c] === TLP_ARMED) t.tlp[c] = TLP_NONE;
    armRto(tcp, c);
    return;
  }
  const lone = ((t.sndMax[c] - t.sndUna[c]) >>> 0) <= t.sndMss[c];
  const pto = Math.ceil((2 * t.srtt[c]) / 1000) + (lone ? PTO_DELACK_MS : TIMER_SLACK_MS);
  const rto = Math.ceil(currentRtoUs(tcp, c) / 1000);
  t.tlp[c] = TLP_ARMED;
  const at = tcp.nowMs + (pto < rto ? pto : rto);
  t.rtoAt[c] = at;
  tcp.wheel.schedule(c, at);
}

/**
 * RFC 8985 §7.2: new data sent restarts an armed PTO, so it is computed on the
 * flight that now waits for an ACK (a PTO armed with one segment in flight
 * carries the 200 ms delayed-ACK allowance, which two segments do not need).
 */
export function rearmProbe(tcp: TcpLayer, c: number): void {
  if (tcp.t.tlp[c] === TLP_ARMED) armDataTimer(tcp, c);
}

export function armPersist(tcp: TcpLayer, c: number): void {
  tcp.t.flags[c] |= F_PERSIST;
  armRto(tcp, c);
}

/** The retransmission (or persist) deadline passed. */
export function rtoExpired(tcp: TcpLayer, c: number): void {
  const t = tcp.t;
  const k = tcp.counters;
  const st = t.state[c];
  if ((t.flags[c] & F_PERSIST) !== 0) {
    // RFC 1122 §4.2.2.17: probe for as long as the receiver keeps answering.
    if (tcp.sb.len[c] === 0 || t.sndWnd[c] !== 0) {
      t.flags[c] &= ~F_PERSIST;
      output(tcp, c);
      return;
    }
    // As Linux (tcp_xmit_probe_skb): a segment at SND.UNA-1 is unacceptable to the
    // receiver, which must answer with an ACK carrying its current window
    // (RFC 9293 §3.10.7.4), without us pushing a byte beyond the window.
    k.persistProbes++;
    transmit(tcp, c, (t.sndUna[c] - 1) >>> 0, TCP_ACK, 0, 0);
    if (t.backoff[c] < MAX_BACKOFF_SHIFT) t.backoff[c]++;
    armRto(tcp, c);
    return;
  }
  if (t.tlp[c] === TLP_ARMED) {
    // RFC 8985 §7.3: the probe (new data, or the last segment again) draws an ACK whose
    // SACK blocks let RACK find the losses, or that acknowledges a tail whose ACK was lost.
    t.tlp[c] = TLP_NONE;
    if (sendProbe(tcp, c)) k.lossProbes++;
    armRto(tcp, c);
    return;
  }
  const syn = st === SYN_SENT || st === SYN_RECEIVED;
  if (!syn && t.sndMax[c] === t.sndUna[c]) {
    // Nothing in flight: the timer was armed for data that found no room in the scoreboard's arena (snd.ts).
    output(tcp, c);
    if (t.rtoAt[c] === 0 && tcp.sb.len[c] > 0) armRto(tcp, c);
    return;
  }
  const limit = syn ? tcp.cfg.synRetries : tcp.cfg.retries;
  if (t.backoff[c] >= limit) {
    k.retryLimitAborts++;
    tcp.closeConn(c, CloseReason.TIMEOUT);
    return;
  }
  t.backoff[c]++;
  k.rtoFires++;
  t.flags[c] &= ~F_RTT; // Karn: the timed segment is being resent
  if (syn) {
    k.synRetransmits++;
    transmit(tcp, c, t.iss[c], st === SYN_SENT ? TCP_SYN : TCP_SYN | TCP_ACK, 0, 0);
    armRto(tcp, c);
    return;
  }
  // An RTO during recovery extends its episode (what undo restores is the window before it).
  if (t.ca[c] === CA_OPEN) tcp.undo.begin(t, c, t.sndUna[c]);
  // RFC 5681 §3.1: collapse the window; RFC 6582 §4: no fast retransmit for what was in flight.
  tcp.ccOf(c).onRto(c);
  t.dupAcks[c] = 0;
  // The loss state: the segments not SACKed go again, lowest first, under slow start.
  rtoMarkLost(tcp, c);
  // The first one whatever the pipe says (segments sent within the last RTT are not deemed lost yet).
  const rtx = tcp.rtx;
  if (rtx.count[c] > 0) retransmitRecord(tcp, c, rtx.head[c], RXT_RTO);
  else if (bareFin(tcp, c)) retransmitBareFin(tcp, c, RXT_RTO);
  output(tcp, c);
  if (t.rtoAt[c] === 0) armRto(tcp, c);
}
