/**
 * IPv4 longest-prefix match, DIR-24-8 (Gupta, Lin, McKeown 1998; DPDK's
 * rte_lpm): a 2^24-entry first-level table indexed by the top 24 address bits,
 * and 256-entry second-level groups for prefixes longer than /24. A lookup is
 * one or two typed-array reads.
 *
 * Entries are u16: 0 = no route, 1..0x7fff = route slot + 1, 0x8000 | g =
 * "look in tbl8 group g". Routes change rarely (management side), so the
 * tables are rebuilt from the route list on the first lookup after a change,
 * painting prefixes shortest first so longer ones overwrite them; that keeps
 * delete correct without per-entry depth bookkeeping.
 */
import { prefixMask } from '../wire/ipv4_addr.js';

const EXT = 0x8000;
const MAX_ROUTES = 0x7fff;

export class LpmError extends Error {}

export class Lpm {
  private readonly tbl24 = new Uint16Array(1 << 24);
  private readonly tbl8: Uint16Array;
  private readonly maxGroups: number;
  private readonly prefixes: Uint32Array;
  private readonly lens: Uint8Array;
  private readonly values: Int32Array;
  private readonly order: Int32Array;
  private n = 0;
  private dirty = false;
  /** Routes the last rebuild could not place (tbl8 groups exhausted). */
  skipped = 0;

  constructor(
    readonly maxRoutes = 16384,
    tbl8Groups = 1024,
  ) {
    if (maxRoutes < 1 || maxRoutes > MAX_ROUTES) throw new LpmError(`maxRoutes must be 1..${MAX_ROUTES}`);
    if (tbl8Groups < 1 || tbl8Groups > 0x7fff) throw new LpmError('tbl8Groups must be 1..32767');
    this.maxGroups = tbl8Groups;
    this.tbl8 = new Uint16Array(tbl8Groups << 8);
    this.prefixes = new Uint32Array(maxRoutes);
    this.lens = new Uint8Array(maxRoutes);
    this.values = new Int32Array(maxRoutes);
    this.order = new Int32Array(maxRoutes);
  }

  get size(): number {
    return this.n;
  }

  /** Adds or replaces `prefix/len` → `value` (a caller's next-hop index, >= 0). */
  add(prefix: number, len: number, value: number): void {
    if (!Number.isInteger(len) || len < 0 || len > 32) throw new LpmError(`prefix length ${len} is not 0..32`);
    if (!Number.isInteger(value) || value < 0) throw new LpmError(`route value ${value} must be an integer >= 0`);
    const p = (prefix & prefixMask(len)) >>> 0;
    const i = this.find(p, len);
    if (i >= 0) {
      this.values[i] = value;
    } else {
      if (this.n === this.maxRoutes) throw new LpmError(`route table full (${this.maxRoutes} routes)`);
      this.prefixes[this.n] = p;
      this.lens[this.n] = len;
      this.values[this.n] = value;
      this.n++;
    }
    this.dirty = true;
  }

  /** Removes `prefix/len`; returns whether it was present. */
  remove(prefix: number, len: number): boolean {
    const i = this.find((prefix & prefixMask(len)) >>> 0, len);
    if (i < 0) return false;
    const last = --this.n;
    this.prefixes[i] = this.prefixes[last];
    this.lens[i] = this.lens[last];
    this.values[i] = this.values[last];
    this.dirty = true;
    return true;
  }

  /** The value of the longest prefix covering `ip`, or -1. */
  lookup(ip: number): number {
    if (this.dirty) this.rebuild();
    let e = this.tbl24[ip >>> 8];
    if (e & EXT) e = this.tbl8[((e & 0x7fff) << 8) | (ip & 0xff)];
    return e === 0 ? -1 : this.values[e - 1];
  }

  /**
   * Rebuilds the tables now (otherwise done lazily by the next lookup). Never
   * throws: routes longer than /24 that find no free tbl8 group are left out
   * and counted in `skipped`, which configuration code checks.
   */
  rebuild(): void {
    this.dirty = false;
    this.skipped = 0;
    this.tbl24.fill(0);
    const order = this.order.subarray(0, this.n);
    for (let i = 0; i < this.n; i++) order[i] = i;
    order.sort((a, b) => this.lens[a] - this.lens[b]);
    let groups = 0;
    for (let k = 0; k < order.length; k++) {
      const r = order[k];
      const p = this.prefixes[r];
      const len = this.lens[r];
      const v = r + 1;
      if (len <= 24) {
        const start = p >>> 8;
        this.tbl24.fill(v, start, start + 2 ** (24 - len));
        continue;
      }
      // Longer than /24: all shorter prefixes are painted already, so a fresh
      // group inherits the covering /<=24 route.
      const i24 = p >>> 8;
      let e = this.tbl24[i24];
      if ((e & EXT) === 0) {
        if (groups === this.maxGroups) {
          this.skipped++;
          continue;
        }
        this.tbl8.fill(e, groups << 8, (groups + 1) << 8);
        e = EXT | groups++;
        this.tbl24[i24] = e;
      }
      const start = ((e & 0x7fff) << 8) | (p & 0xff);
      this.tbl8.fill(v, start, start + 2 ** (32 - len));
    }
  }

  private find(p: number, len: number): number {
    for (let i = 0; i < this.n; i++) if (this.prefixes[i] === p && this.lens[i] === len) return i;
    return -1;
  }
}
