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
  fastRetransmits = 0;
  /** RFC 6675 NextSeg rule 4: the one tail retransmission per recovery. */
  rescueRetransmits = 0;
  /** RFC 8985 tail loss probes sent (a PTO that fired before the RTO). */
  lossProbes = 0;
  /** Recoveries that found their retransmissions lost (data sent after them was SACKed) and resent them. */
  lostRetransmits = 0;
  dupAcksIn = 0;
  persistProbes = 0;
  keepaliveProbes = 0;
  oooSegs = 0;
  oooDropped = 0;
  txNoBuf = 0;
  twRecycled = 0;
  timeWaitEntered = 0;
  timeWaitEarly = 0;
  icmpSoftErrors = 0;
}
