/**
 * What a worker's poll loop drives: the packet pipeline of one queue (the
 * stack, the impairment bridge, a benchmark). The loop calls `input` with each
 * received burst and `tick` every millisecond; the pipeline transmits through
 * the TxBatch it was given.
 */
export interface Pipeline {
  /** Takes ownership of the received slots `slots[0..n)`. */
  input(slots: Int32Array, n: number, nowUs: number): void;
  /** Timer work (retransmission, ARP aging, delayed frames); called at least every ms. */
  tick(nowUs: number): void;
  /** Work still pending that must not wait for the next received frame (keeps the loop from parking). */
  busy(): boolean;
  /**
   * Work in flight (a load running, a connection open): the loop keeps polling
   * rather than parking, as a DPDK lcore owns its core, so an answer is taken
   * when it arrives rather than up to a park later.
   */
  inFlight?(): boolean;
  /**
   * The clocks of its wire times ('kernel', 'kernel-rx': the driver's stamps):
   * the TCP layer's (connect, wire_rtt), and its responses' (ttfb, response,
   * server); null when it times nothing so.
   */
  wireClocks?(): { tcp: 'kernel' | 'kernel-rx' | 'stack' | null; http: 'kernel' | 'kernel-rx' | 'stack' | null };
  close(): void;
}
