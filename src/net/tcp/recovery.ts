/**
 * Loss recovery of a SACK connection, run once per ACK after its SACK blocks
 * and cumulative ACK reached the scoreboard (and when RACK's reordering timer
 * fires): RACK-TLP (rack.ts) updates its state and marks lost segments; the
 * tail loss probe's episode is settled; recovery starts when something is
 * lost (ssthresh from the congestion controller, RecoverFS for PRR) and ends
 * when SND.UNA passes the recovery point; during recovery PRR (prr.ts) sets
 * cwnd = pipe + sndcnt, outside it the controller grows cwnd by what was
 * delivered. After an RTO (the loss state) the segments not SACKed are
 * deemed lost and go again under slow start.
 */
import { TIMER_SLACK_MS, armDataTimer } from './rto.js';
import { R_SACKED } from './rtx_queue.js';
import { seqGeq } from './seq.js';
import { CA_LOSS, CA_OPEN, CA_RECOVERY } from './tcb.js';
import type { TcpLayer } from './tcp_layer.js';

/**
 * The ACK processing of a SACK connection after the scoreboard took its
 * blocks and cumulative ACK (tcp.rtx holds what it delivered). `advanced`:
 * SND.UNA moved.
 */
export function sackAck(tcp: TcpLayer, c: number, advanced: boolean, tsEcr: number): void {
  const t = tcp.t;
  const rtx = tcp.rtx;
  const rack = tcp.rack;
  const undo = tcp.undo;
  let caRtt = -1;
  if (rtx.caRttXmit >= 0) {
    caRtt = (tcp.nowUs - rtx.caRttXmit) | 0;
    const m = rack.minRtt[c];
    if (caRtt < m || m < 0) rack.minRtt[c] = caRtt > 0 ? caRtt : 0;
  }
  const una = t.sndUna[c] | 0;
  if (t.ca[c] === CA_OPEN) undo.expire(c, una, t.sndMax[c] | 0);
  if ((rtx.sacked[c] | rtx.lost[c] | rtx.retrans[c]) === 0 && t.ca[c] === CA_OPEN && !rack.tlpOpen(c) && undo.armed[c] === 0) {
    // Nothing SACKed, lost or resent, and no episode open: the ACK delivered in order what
    // was sent first, so no segment was sent before a delivered one and is missing; nothing
    // to detect or settle. RACK.fack moves to SND.UNA.
    rack.allAcked(c, rtx, una);
    if (rtx.delivered > 0) tcp.ccOf(c).onAck(c, rtx.delivered, una, caRtt);
    return;
  }
  rack.ensure(c, una);
  rack.update(c, rtx);
  // RFC 8985 §7.4: a retransmitted tail probe acknowledged without a D-SACK repaired a loss: reduce once.
  if (rack.tlpOpen(c) && rack.tlpAck(c, una, advanced, rtx.delivered > 0) && t.ca[c] === CA_OPEN) {
    const cc = tcp.ccOf(c);
    cc.enterRecovery(c, true);
    cc.exitRecovery(c, true);
    tcp.counters.tlpRecoveries++;
  }
  // Every retransmission of the episode came back as a D-SACK, and nothing else is deemed lost: no loss happened.
  if (undo.allDsacked(c) && rtx.lost[c] === 0) {
    undoReduction(tcp, c);
    if (t.ca[c] !== CA_OPEN) {
      t.ca[c] = CA_OPEN;
      rack.onRecoveryEnd(c);
    }
  }
  detect(tcp, c);
  const ca = t.ca[c];
  if (ca !== CA_OPEN && seqGeq(t.sndUna[c], t.recover[c])) {
    // The recovery point is acknowledged (RFC 6675 §5 (A)): PRR leaves cwnd at ssthresh,
    // unless the episode was spurious (its ACK echoes a timestamp from before the first
    // retransmission, or all retransmissions came back as D-SACKs): then the window returns.
    if (undo.mayUndo(c, tsEcr)) {
      undoReduction(tcp, c);
    } else {
      if (ca === CA_RECOVERY) tcp.ccOf(c).exitRecovery(c, true);
      undo.linger(c, t.sndMax[c]);
    }
    t.ca[c] = CA_OPEN;
    rack.onRecoveryEnd(c);
  }
  if (t.ca[c] === CA_OPEN && rtx.lost[c] > 0) enterRecovery(tcp, c);
  if (t.ca[c] === CA_RECOVERY) {
    prrWindow(tcp, c, rtx.delivered, advanced);
  } else if (rtx.delivered > 0) {
    tcp.ccOf(c).onAck(c, rtx.delivered, una, caRtt);
  }
}

/** The episode's reduction was spurious: the window of before it returns, and the controller's state with it. */
function undoReduction(tcp: TcpLayer, c: number): void {
  tcp.undo.undo(tcp.t, c);
  tcp.ccOf(c).onUndo(c);
  tcp.counters.undoneReductions++;
}

/** RACK_detect_loss with the current reordering window; arms or clears the reordering timer. */
function detect(tcp: TcpLayer, c: number): void {
  const t = tcp.t;
  const rack = tcp.rack;
  const rtx = tcp.rtx;
  const reo = rack.reoWnd(c, t.ca[c] !== CA_OPEN, rtx.sackedSegs[c], t.srtt[c]);
  const timeout = rack.detectLoss(c, rtx, reo);
  if (rack.newlyLost > 0 && t.ca[c] !== CA_OPEN) tcp.counters.rackLostMarks += rack.newlyLost;
  if (timeout > 0) {
    // RFC 8985 §6.3 arms the timer at the earliest time a segment may be deemed lost; as Linux
    // (tcp_rack_reo_timeout) it fires a little later, so ACKs that the sender's own scheduling or a
    // burst of reordered ACKs held back are read first, rather than a spurious recovery started.
    const at = Math.ceil((tcp.nowUs + timeout) / 1000) + TIMER_SLACK_MS;
    rack.reoAt[c] = at;
    tcp.wheel.schedule(c, at);
  } else {
    rack.reoAt[c] = 0;
  }
}

/** PRR: cwnd = pipe + sndcnt for an ACK that delivered `delivered` bytes. */
function prrWindow(tcp: TcpLayer, c: number, delivered: number, advanced: boolean): void {
  const t = tcp.t;
  const pipe = tcp.rtx.pipe(c, (t.sndMax[c] - t.sndUna[c]) >>> 0);
  const n = tcp.prr.sndcnt(c, delivered, pipe, t.ssthresh[c], t.sndMss[c], advanced, tcp.rack.newlyLost > 0);
  t.cwnd[c] = pipe + n;
}

/** Losses found outside recovery: the congestion controller sets ssthresh, PRR starts from the flight. */
function enterRecovery(tcp: TcpLayer, c: number): void {
  const t = tcp.t;
  t.recover[c] = t.sndMax[c];
  tcp.undo.begin(t, c, t.sndUna[c]);
  tcp.ccOf(c).enterRecovery(c, true);
  tcp.prr.init(c, (t.sndMax[c] - t.sndUna[c]) >>> 0);
  tcp.rack.onRecoveryStart(c);
  t.ca[c] = CA_RECOVERY;
  tcp.counters.fastRetransmits++;
}

/**
 * RACK's reordering timer fired (RFC 8985 §6.3): segments whose reordering
 * window ran out are lost now; recovery starts if needed (with one segment's
 * worth of PRR so the retransmission leaves), and the RTO or probe is re-armed.
 */
export function reoTimeout(tcp: TcpLayer, c: number): void {
  const t = tcp.t;
  const rtx = tcp.rtx;
  rtx.beginAck(tcp.rack.minRtt[c]);
  tcp.rack.ensure(c, t.sndUna[c] | 0);
  detect(tcp, c);
  if (tcp.rack.newlyLost > 0) {
    if (t.ca[c] === CA_OPEN) enterRecovery(tcp, c);
    if (t.ca[c] === CA_RECOVERY) prrWindow(tcp, c, t.sndMss[c], false);
  }
  if (t.sndMax[c] !== t.sndUna[c]) armDataTimer(tcp, c);
}

/**
 * An RTO: the loss state. As Linux (tcp_timeout_mark_lost): a SACKed first
 * segment means the receiver reneged (RFC 2018 §8), and every SACK mark goes;
 * otherwise SACKed data stays delivered. The first segment and every
 * un-SACKed one sent longer than RACK.rtt ago are lost; the rest RACK judges
 * when ACKs come.
 */
export function rtoMarkLost(tcp: TcpLayer, c: number): void {
  const t = tcp.t;
  const rtx = tcp.rtx;
  t.ca[c] = CA_LOSS;
  t.recover[c] = t.sndMax[c];
  tcp.rack.tlpReset(c);
  tcp.rack.reoAt[c] = 0;
  if (rtx.count[c] === 0) return;
  if ((rtx.flags[rtx.pos(c, rtx.head[c])] & R_SACKED) !== 0) {
    tcp.counters.sackReneging++;
    rtx.unsackAll(c);
  }
  const now = tcp.nowUs;
  tcp.rack.ensure(c, t.sndUna[c] | 0);
  const rtt = tcp.rack.rtt[c];
  let k = rtx.head[c];
  for (let i = rtx.count[c]; i > 0; i--, k = (k + 1) >>> 0) {
    const p = rtx.pos(c, k);
    if ((rtx.flags[p] & R_SACKED) !== 0) continue;
    if (k !== rtx.head[c] && rtx.xmit[p] + rtt > now) continue;
    rtx.markLost(c, p);
  }
}
