/**
 * The network layer's counters, one field per event or drop reason. A class
 * with every field set in the constructor keeps the object monomorphic; the
 * hot path increments fields, the management side reads `snapshot()`.
 */
export class NetCounters {
  // L2
  rxFrames = 0;
  txFrames = 0;
  ethDropTruncated = 0;
  ethDropNotForUs = 0;
  ethDropVlan = 0;
  ethDropType = 0;
  noBufs = 0;
  txBatchDrops = 0;
  // ARP
  arpRxRequests = 0;
  arpRxReplies = 0;
  arpTxRequests = 0;
  arpTxReplies = 0;
  arpTxGratuitous = 0;
  arpDropMalformed = 0;
  arpDropNotForUs = 0;
  arpConflicts = 0;
  arpResolved = 0;
  arpResolveFailed = 0;
  arpQueued = 0;
  arpQueueDrops = 0;
  arpHoldDrops = 0;
  arpCacheFull = 0;
  arpAged = 0;
  // IPv4
  ipv4Rx = 0;
  ipv4Tx = 0;
  ipv4DropTruncated = 0;
  ipv4DropBadVersion = 0;
  ipv4DropBadHeaderLen = 0;
  ipv4DropBadTotalLen = 0;
  ipv4DropBadChecksum = 0;
  ipv4DropTtl = 0;
  ipv4DropFragment = 0;
  ipv4DropNotOurs = 0;
  ipv4DropNoProto = 0;
  ipv4TxNoRoute = 0;
  // ICMP
  icmpRxEchoRequests = 0;
  icmpTxEchoReplies = 0;
  icmpRxEchoReplies = 0;
  icmpTxEchoRequests = 0;
  icmpRxUnreach = 0;
  icmpTxUnreach = 0;
  icmpRxOther = 0;
  icmpDropTruncated = 0;
  icmpDropBadChecksum = 0;
  icmpDropMalformed = 0;
  icmpRateLimited = 0;

  /** A plain copy, for JSON export and summaries. */
  snapshot(): Record<string, number> {
    return { ...this } as unknown as Record<string, number>;
  }
}
