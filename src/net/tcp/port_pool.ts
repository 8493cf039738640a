/**
 * Source (address, port) pairs for the connections a worker opens, as
 * Linux's connect() picks them: the pool spans every owned address and the
 * ephemeral ports [lo, hi) (in a client load, this worker's share of them,
 * src/net/flow_steer.ts). Consecutive picks go round-robin over the
 * addresses; each address walks its ports in rising order from a start that
 * a keyed hash of the address and a per-run random key sets (RFC 6056 §3.3.3,
 * "simple hash-based port selection"), so two runs do not replay the same
 * 4-tuples in the same order, and a port comes back to an address only
 * after every other port of it did (a late segment of an old connection
 * meets its successor as late as possible).
 *
 * The pool holds no in-use state: a pair is free towards a destination when
 * no TCB holds that 4-tuple, which the caller (connect.ts) asks the TCB hash.
 */
import { randomFillSync } from 'node:crypto';

export const EPHEMERAL_LO = 10000;
export const EPHEMERAL_HI = 60000;

export class PortPool {
  readonly lo: number;
  readonly span: number;
  private readonly stride: number;
  private readonly k0: number;
  private readonly k1: number;
  private rangeLo = new Uint32Array(0);
  private rangeHi = new Uint32Array(0);
  /** The next pair: address `ip` of range `r`, in round `round` of the walk over every address. */
  private r = 0;
  private ip = 0;
  private round = 0;
  /** Picks on a given address (connect with a source address but no port). */
  private fixedPicks = 0;
  /** Addresses in the ranges. */
  addresses = 0;
  /** The pair the last next() gave. */
  srcIp = 0;
  srcPort = 0;

  /** `key` (two 32-bit words) fixes the start ports for reproducible tests; by default it is random per run. */
  constructor(lo = EPHEMERAL_LO, hi = EPHEMERAL_HI, key?: Uint32Array) {
    if (!Number.isInteger(lo) || !Number.isInteger(hi) || lo < 1024 || hi > 65536 || lo >= hi) {
      throw new RangeError(`ephemeral ports must be a range within 1024..65535, got [${lo}, ${hi})`);
    }
    this.lo = lo;
    this.span = hi - lo;
    this.stride = Math.floor(this.span * 0.381966);
    const k = key ?? randomFillSync(new Uint32Array(2));
    this.k0 = k[0] | 0;
    this.k1 = k[1] | 0;
  }

  /** The owned address ranges (inclusive bounds) the pool spans. */
  setAddresses(lo: Uint32Array, hi: Uint32Array): void {
    this.rangeLo = Uint32Array.from(lo);
    this.rangeHi = Uint32Array.from(hi);
    let n = 0;
    for (let i = 0; i < lo.length; i++) n += hi[i] - lo[i] + 1;
    this.addresses = n;
    this.r = 0;
    this.ip = lo.length > 0 ? lo[0] : 0;
    this.round = 0;
  }

  /** Pairs the pool has towards one destination. */
  get pairs(): number {
    return this.addresses * this.span;
  }

  /** The next pair of the walk, into srcIp and srcPort. */
  next(): void {
    const ip = this.ip;
    this.srcIp = ip;
    this.srcPort = this.portOf(ip, this.round);
    if (ip < this.rangeHi[this.r]) {
      this.ip = ip + 1;
      return;
    }
    this.r++;
    if (this.r === this.rangeLo.length) {
      this.r = 0;
      this.round++;
    }
    this.ip = this.rangeLo[this.r];
  }

  /** The next port to try on address `ip`. */
  nextOn(ip: number): number {
    return this.portOf(ip, this.fixedPicks++);
  }

  /**
   * The `k`-th port after the one 0.38 of the range (the golden section)
   * away from `port`: a tuple the peer still holds tends to sit in a run of
   * them (an earlier run walked the same ports), so a SYN that must leave one
   * goes far, and a few such steps in a row never land where an earlier one was.
   */
  across(port: number, k: number): number {
    return this.lo + ((port - this.lo + this.stride + k) % this.span);
  }

  private portOf(ip: number, k: number): number {
    return this.lo + ((this.start(ip) + k) % this.span);
  }

  /** The address's start port (offset in the range): a keyed multiply-xorshift of it. */
  start(ip: number): number {
    let h = Math.imul(ip ^ this.k0, 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13) ^ this.k1, 0xc2b2ae35);
    return ((h ^ (h >>> 16)) >>> 0) % this.span;
  }
}
