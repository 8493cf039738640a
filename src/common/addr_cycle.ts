/**
 * Source addresses lo..hi (u32, inclusive) handed out in turn: a client
 * opens each connection, or sends each datagram, from the next one.
 */
export class AddrCycle {
  private at = 0;

  /** hi <= lo: always lo. */
  constructor(
    private readonly lo: number,
    private readonly hi: number,
  ) {}

  next(): number {
    if (this.hi <= this.lo) return this.lo;
    const ip = this.lo + this.at;
    this.at = ip >= this.hi ? 0 : this.at + 1;
    return ip;
  }
}
