/**
 * The contract between the network layer and a transport protocol (TCP, UDP
 * apps): the stack hands up validated datagrams addressed to an owned IP and
 * reports ICMP errors that quote one of the handler's datagrams.
 */
export interface L4Handler {
  /**
   * A datagram for this protocol. Takes ownership of `slot`; the L4 header
   * starts at absolute pool offset `l4Off` and runs `l4Len` bytes (Ethernet
   * padding removed). The L4 checksum is not yet verified.
   */
  input(slot: number, l3Off: number, l4Off: number, l4Len: number, srcIp: number, dstIp: number, nowUs: number): void;
  /**
   * An ICMP error (`type << 8 | code`, e.g. 0x0303 port unreachable) quoting a
   * datagram we sent from `srcIp:srcPort` to `dstIp:dstPort`, or a local
   * failure reported the same way (ARP resolution failed: host unreachable).
   */
  icmpError(code: number, srcIp: number, dstIp: number, proto: number, srcPort: number, dstPort: number): void;
  /** The end of a received burst: send what the burst's deliveries left queued. */
  burstEnd(): void;
  tick(nowUs: number): void;
  busy(): boolean;
}

/** What the network layer says of a destination's next hop (NetStack.nextHop). */
export const HOP_READY = 0;
/** ARP is resolving it: frames wait in ARP's queue. */
export const HOP_PENDING = 1;
/** ARP gave up on it and holds it off for a while. */
export const HOP_FAILED = 2;
export const HOP_NO_ROUTE = 3;
