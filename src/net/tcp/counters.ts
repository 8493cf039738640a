/** Per-worker TCP counters (plain numbers, one writer: the worker). */
export class TcpCounters {
  segsIn = 0;
  segsOut = 0;
  bytesIn = 0;
  bytesOut = 0;
  bytesAcked = 0;
  retransSegs = 0;
  rxBadHeader = 0;
  rxBadChecksum = 0;
  rxBadOption = 0;
  outOfWindow = 0;
  pawsDrops = 0;
  noConnResets = 0;
  rstIn = 0;
  rstOut = 0;
  challengeAcks = 0;
  challengeAcksSuppressed = 0;
  activeOpens = 0;
  passiveOpens = 0;
  established = 0;
  closed = 0;
  resets = 0;
  timeouts = 0;
  connRefused = 0;
  retryLimitAborts = 0;
  keepaliveAborts = 0;
  finWait2Timeouts = 0;
  synDropped = 0;
  tcbExhausted = 0;
  portExhausted = 0;
  /** connect() refused: no route to the destination / its next hop failed to resolve (ARP). */
  noRoute = 0;
  hopUnreachable = 0;
  /** SYNs moved to another source port because the peer still held the tuple (connect.ts moveSyn). */
  synMoves = 0;
  rtoFires = 0;
  /** RTOs of a SYN or SYN-ACK (counted in rtoFires too). */
  synRetransmits = 0;
  /** Fast recoveries entered: RACK found a loss (SACK), or three duplicate ACKs (RFC 6582). */
  fastRetransmits = 0;
  /** Retransmitted segments by cause: RACK's loss marks (RFC 8985 §6), the tail loss probe (§7), an RTO, duplicate ACKs without SACK. */
  rackRetransmits = 0;
  tlpRetransmits = 0;
  rtoRetransmits = 0;
  dupAckRetransmits = 0;
  /** RFC 6675 NextSeg rule 4 during recovery: the highest segment not SACKed, once per recovery (counted in rackRetransmits too). */
  rescueRetransmits = 0;
  /** RFC 8985 tail loss probes sent (a PTO that fired before the RTO), and those that were new data. */
  lossProbes = 0;
  tlpNewData = 0;
  /** Probes that retransmitted the tail and were acknowledged without a D-SACK: a loss they repaired (the window was reduced). */
  tlpRecoveries = 0;
  /** Segments RACK marked lost during recovery, among them retransmissions lost again. */
  rackLostMarks = 0;
  /** RACK's reordering timer fired. */
  reoTimeouts = 0;
  /** D-SACK blocks received (RFC 2883), and those reporting data we had retransmitted: spurious retransmissions. */
  dsacksIn = 0;
  spuriousRetransmits = 0;
  /** Window reductions undone: the episode's retransmissions all came back as D-SACKs, or its end echoed a timestamp from before them (reordering, not loss). */
  undoneReductions = 0;
  /** RTOs that found the first segment SACKed: the receiver dropped data it had SACKed (RFC 2018 §8). */
  sackReneging = 0;
  /** Segments held back because the scoreboard's arena had no room for their record. */
  rtxQueueFull = 0;
  dupAcksIn = 0;
  persistProbes = 0;
  keepaliveProbes = 0;
  oooSegs = 0;
  oooDropped = 0;
  /** ECN: data segments that arrived marked CE; window reductions for an ECE (ecn.ts). */
  ecnCeIn = 0;
  ecnReductions = 0;
  /** Receive windows grown by autotuning (rcv_space.ts). */
  rcvWindowGrowths = 0;
  txNoBuf = 0;
  twRecycled = 0;
  timeWaitEntered = 0;
  timeWaitEarly = 0;
  icmpSoftErrors = 0;
}
