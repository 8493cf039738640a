/**
 * The neighbour table: IPv4 (+ VLAN) → MAC, shared by every worker of a port.
 * Why shared and not per worker is argued at the top of arp.ts.
 *
 * Layout: one Int32Array (over a SharedArrayBuffer when workers share it) of
 * a 4-word header and `capacity` entries of 8 words, open addressing with
 * linear probing and backward-shift deletion (no tombstones).
 *
 * Concurrency: readers take no lock. Each entry has a sequence word that a
 * writer makes odd before changing the entry and even after (a seqlock), so a
 * reader that saw the same even value before and after its reads got a
 * consistent entry. Writers are rare (ARP frames, aging sweeps) and serialize
 * on one lock word with Atomics.compareExchange. A reader racing a deletion's
 * backward shift may miss an entry for an instant; that costs one queued
 * packet and a rate-limited request, never a wrong MAC.
 */
const H_LOCK = 0;
const H_COUNT = 1;
const HDR_WORDS = 4;
const STRIDE = 8;
const E_SEQ = 0;
const E_IP = 1;
const E_VLAN = 2;
const E_MAC_HI = 3;
const E_MAC_LO = 4;
const E_STATE = 5;
const E_CONFIRMED_MS = 6;

export const ARP_EMPTY = 0;
export const ARP_REACHABLE = 1;
/** Configured by hand; never aged. */
export const ARP_STATIC = 2;

const TWO32 = 4294967296;

export class ArpCache {
  readonly capacity: number;
  /** Entries allowed before inserts are refused (load factor 3/4). */
  readonly maxEntries: number;
  readonly words: Int32Array;
  private readonly mask: number;
  /** The MAC and sequence word of the entry the last successful `find` read. */
  foundMac = 0;
  foundSeq = 0;

  /**
   * `maxEntries` neighbours at most. Pass `shared` (the `words.buffer` of
   * another ArpCache, e.g. received by a worker) to attach to an existing table.
   */
  constructor(maxEntries: number, shared?: SharedArrayBuffer | ArrayBuffer) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1 || maxEntries > 1 << 22) {
      throw new RangeError(`ARP cache size must be 1..${1 << 22}, got ${maxEntries}`);
    }
    let cap = 4;
    while (cap * 3 < maxEntries * 4) cap <<= 1;
    this.capacity = cap;
    this.maxEntries = maxEntries;
    this.mask = cap - 1;
    const bytes = (HDR_WORDS + cap * STRIDE) * 4;
    if (shared !== undefined && shared.byteLength !== bytes) {
      throw new RangeError(`shared ARP table is ${shared.byteLength} bytes, expected ${bytes}`);
    }
    this.words = new Int32Array(shared ?? new SharedArrayBuffer(bytes));
  }

  get size(): number {
    return Atomics.load(this.words, H_COUNT);
  }

  /** The MAC of `ip` on `vlan` (-1 = untagged), or -1 when unknown. Lock-free. */
  lookup(ip: number, vlan: number): number {
    return this.find(ip, vlan) < 0 ? -1 : this.foundMac;
  }

  /**
   * Index of the entry of `ip` on `vlan`, or -1. Lock-free: on success
   * `foundMac` and `foundSeq` hold the entry as read under its seqlock, so a
   * caller may keep the MAC while `seqAt(index)` still equals `foundSeq`
   * (every change to an entry, a move or a deletion included, bumps it).
   */
  find(ip: number, vlan: number): number {
    const w = this.words;
    const key = ip | 0;
    let i = this.home(key, vlan);
    for (let probes = 0; probes <= this.mask; probes++) {
      const b = HDR_WORDS + i * STRIDE;
      const s1 = Atomics.load(w, b + E_SEQ);
      if ((s1 & 1) === 0) {
        if (Atomics.load(w, b + E_STATE) === ARP_EMPTY) return -1;
        if (Atomics.load(w, b + E_IP) === key && Atomics.load(w, b + E_VLAN) === vlan) {
          const hi = Atomics.load(w, b + E_MAC_HI);
          const lo = Atomics.load(w, b + E_MAC_LO);
          if (Atomics.load(w, b + E_SEQ) === s1) {
            this.foundMac = hi * TWO32 + (lo >>> 0);
            this.foundSeq = s1;
            return i;
          }
          // Changed under us: read the slot again.
          probes--;
          continue;
        }
      } else {
        probes--;
        continue;
      }
      i = (i + 1) & this.mask;
    }
    return -1;
  }

  /** Every entry, read lock-free (an entry changing meanwhile is read again); for display, not the hot path. */
  entries(): { ip: number; vlan: number; mac: number; state: number; confirmedMs: number }[] {
    const w = this.words;
    const out: { ip: number; vlan: number; mac: number; state: number; confirmedMs: number }[] = [];
    for (let i = 0; i < this.capacity; i++) {
      const b = HDR_WORDS + i * STRIDE;
      for (;;) {
        const s1 = Atomics.load(w, b + E_SEQ);
        if ((s1 & 1) !== 0) continue;
        const state = Atomics.load(w, b + E_STATE);
        const e = { ip: Atomics.load(w, b + E_IP) >>> 0, vlan: Atomics.load(w, b + E_VLAN), mac: Atomics.load(w, b + E_MAC_HI) * TWO32 + (Atomics.load(w, b + E_MAC_LO) >>> 0), state, confirmedMs: Atomics.load(w, b + E_CONFIRMED_MS) };
        if (Atomics.load(w, b + E_SEQ) !== s1) continue;
        if (state !== ARP_EMPTY) out.push(e);
        break;
      }
    }
    return out;
  }

  /** The sequence word of entry `i` (odd while a writer is changing it). */
  seqAt(i: number): number {
    return Atomics.load(this.words, HDR_WORDS + i * STRIDE + E_SEQ);
  }

  /**
   * RFC 826 "merge": updates the entry of `ip` if it exists. Returns whether
   * it did. Static entries are not overwritten.
   */
  refresh(ip: number, vlan: number, mac: number, nowMs: number): boolean {
    this.lock();
    const i = this.findLocked(ip | 0, vlan);
    if (i >= 0 && this.words[HDR_WORDS + i * STRIDE + E_STATE] !== ARP_STATIC) {
      this.writeEntry(i, ip | 0, vlan, mac, ARP_REACHABLE, nowMs);
    }
    this.unlock();
    return i >= 0;
  }

  /** Inserts or updates an entry. Returns false when the table is full. */
  insert(ip: number, vlan: number, mac: number, nowMs: number, state = ARP_REACHABLE): boolean {
    const key = ip | 0;
    this.lock();
    let i = this.findLocked(key, vlan);
    if (i < 0) {
      if (this.words[H_COUNT] >= this.maxEntries) {
        this.unlock();
        return false;
      }
      i = this.home(key, vlan);
      while (this.words[HDR_WORDS + i * STRIDE + E_STATE] !== ARP_EMPTY) i = (i + 1) & this.mask;
      Atomics.add(this.words, H_COUNT, 1);
    }
    this.writeEntry(i, key, vlan, mac, state, nowMs);
    this.unlock();
    return true;
  }

  /** Removes the entry of `ip`; returns whether it existed. */
  remove(ip: number, vlan: number): boolean {
    this.lock();
    const i = this.findLocked(ip | 0, vlan);
    if (i >= 0) this.deleteLocked(i);
    this.unlock();
    return i >= 0;
  }

  /**
   * Ages out dynamic entries not confirmed for `ageMs` (times are ms modulo
   * 2^32, compared in wrap-around arithmetic). Returns how many went.
   */
  sweep(nowMs: number, ageMs: number): number {
    const w = this.words;
    let removed = 0;
    this.lock();
    for (let i = 0; i <= this.mask; i++) {
      const b = HDR_WORDS + i * STRIDE;
      // A backward shift can move a later entry into slot i: look at i again.
      while (w[b + E_STATE] === ARP_REACHABLE && (((nowMs | 0) - w[b + E_CONFIRMED_MS]) | 0) >= ageMs) {
        this.deleteLocked(i);
        removed++;
      }
    }
    this.unlock();
    return removed;
  }

  private home(key: number, vlan: number): number {
    return (Math.imul(key ^ (vlan << 20), 0x9e3779b1) >>> 12) & this.mask;
  }

  private findLocked(key: number, vlan: number): number {
    const w = this.words;
    let i = this.home(key, vlan);
    for (let probes = 0; probes <= this.mask; probes++) {
      const b = HDR_WORDS + i * STRIDE;
      if (w[b + E_STATE] === ARP_EMPTY) return -1;
      if (w[b + E_IP] === key && w[b + E_VLAN] === vlan) return i;
      i = (i + 1) & this.mask;
    }
    return -1;
  }

  private writeEntry(i: number, key: number, vlan: number, mac: number, state: number, nowMs: number): void {
    const w = this.words;
    const b = HDR_WORDS + i * STRIDE;
    Atomics.add(w, b + E_SEQ, 1);
    Atomics.store(w, b + E_IP, key);
    Atomics.store(w, b + E_VLAN, vlan);
    Atomics.store(w, b + E_MAC_HI, Math.floor(mac / TWO32));
    Atomics.store(w, b + E_MAC_LO, mac | 0);
    Atomics.store(w, b + E_CONFIRMED_MS, nowMs | 0);
    Atomics.store(w, b + E_STATE, state);
    Atomics.add(w, b + E_SEQ, 1);
  }

  /** Backward-shift deletion (Knuth 6.4 algorithm R): keeps probe chains unbroken. */
  private deleteLocked(hole: number): void {
    const w = this.words;
    let i = hole;
    let j = hole;
    for (;;) {
      j = (j + 1) & this.mask;
      const bj = HDR_WORDS + j * STRIDE;
      if (w[bj + E_STATE] === ARP_EMPTY) break;
      const k = this.home(w[bj + E_IP], w[bj + E_VLAN]);
      // Entry j may stay if its home lies cyclically in (i, j].
      if (i <= j ? i < k && k <= j : i < k || k <= j) continue;
      this.writeEntry(i, w[bj + E_IP], w[bj + E_VLAN], w[bj + E_MAC_HI] * TWO32 + (w[bj + E_MAC_LO] >>> 0), w[bj + E_STATE], w[bj + E_CONFIRMED_MS]);
      i = j;
    }
    const b = HDR_WORDS + i * STRIDE;
    Atomics.add(w, b + E_SEQ, 1);
    Atomics.store(w, b + E_STATE, ARP_EMPTY);
    Atomics.add(w, b + E_SEQ, 1);
    Atomics.sub(w, H_COUNT, 1);
  }

  private lock(): void {
    while (Atomics.compareExchange(this.words, H_LOCK, 0, 1) !== 0) {
      // Writers hold the lock for a few hundred ns; spin.
    }
  }

  private unlock(): void {
    Atomics.store(this.words, H_LOCK, 0);
  }
}
