/**
 * ARP (RFC 826) for one worker: answers requests for every owned address,
 * learns neighbours into the shared ArpCache, resolves next hops with
 * rate-limited requests and a bounded queue of frames per unresolved
 * destination, and announces owned addresses with gratuitous ARP at start.
 *
 * Where the neighbour table lives. A per-worker cache fed by each worker's own
 * RX does not fit: ARP frames carry no ports, so PACKET_FANOUT_HASH / RSS
 * steers a reply by its L2/L3 fields to one queue that is usually not the
 * queue of the worker that asked; that worker would never learn the MAC, every
 * worker would send its own requests (N times the ARP traffic towards one
 * gateway) and keep its own copy. So the table is one SharedArrayBuffer per
 * port (arp_cache.ts): readers (every worker's TX path) are lock-free under a
 * per-entry seqlock, and the rare writers (whichever worker receives an ARP
 * frame, the aging sweep, the management side's static entries) serialize on
 * one Atomics lock word. This keeps the architecture's "workers read,
 * management writes" cost profile without an IPC hop between an ARP reply and
 * the frames waiting for it. What stays per worker is what refers to the
 * worker's own slots: the queue of frames waiting for a destination and the
 * request rate limiter. A worker re-checks its waiting destinations against
 * the shared table every tick, so a reply received by another worker releases
 * them within a millisecond.
 */
import {
  ARP_OP_REPLY,
  ARP_OP_REQUEST,
  ARP_HDR_LEN,
  emitArp,
  newArpRepr,
  parseArp,
} from '../wire/arp.js';
import { ETH_TYPE_ARP, newEthernetRepr } from '../wire/ethernet.js';
import { BROADCAST_MAC, writeMac } from '../wire/mac.js';
import { HEADROOM, type BufferPool } from '../core/buffer_pool.js';
import type { ArpCache } from './arp_cache.js';
import type { NetCounters } from './counters.js';
import { writeEthHeader } from './ethernet.js';
import { HOP_FAILED, HOP_PENDING } from './l4.js';
import { L3_OFF } from './layout.js';

/** What ARP needs from the stack it serves. */
export interface ArpHost {
  readonly pool: BufferPool;
  readonly mac: number;
  readonly counters: NetCounters;
  /** Index of the owned range holding `ip` on `vlan`, or -1. */
  ownedOn(ip: number, vlan: number): number;
  /** Owned ranges, for gratuitous ARP. */
  readonly addrLo: Uint32Array;
  readonly addrHi: Uint32Array;
  readonly addrVlan: Int32Array;
  transmit(slot: number): void;
  /** A queued frame whose next hop did not resolve: report it and free it. */
  unreachable(slot: number): void;
}

export interface ArpOptions {
  /** Destinations resolving at once (per worker). */
  pendingDests: number;
  /**
   * Frames queued per resolving destination. A client load's connections all
   * go to one next hop at first, so the default (stack.ts) is a quarter of
   * the buffer pool: no SYN of a burst is dropped while the hop resolves.
   */
  pendingPerDest: number;
  /** Interval between requests for one destination (RFC 1122 §2.3.2.1: at most 1/s recommended). */
  retransUs: number;
  /** Requests before a destination is declared unreachable (Linux mcast_solicit). */
  maxTries: number;
  /** Dynamic entries not confirmed for this long are removed. */
  ageMs: number;
  /** Whether this worker runs the aging sweep (one per shared table). */
  ager: boolean;
  /** Announce owned addresses at start. */
  gratuitous: boolean;
  /** Gratuitous announcements sent per tick (large ranges are paced). */
  gratuitousPerTick: number;
}

export const DEFAULT_ARP_OPTIONS: ArpOptions = {
  pendingDests: 256,
  pendingPerDest: 16,
  retransUs: 1_000_000,
  maxTries: 3,
  ageMs: 300_000,
  ager: true,
  gratuitous: true,
  gratuitousPerTick: 32,
};

const P_FREE = 0;
const P_RESOLVING = 1;
/** Resolution failed; frames for it are dropped until the hold-off ends (flood protection). */
const P_FAILED = 2;

export class Arp {
  private readonly arp = newArpRepr();
  private readonly eth = newEthernetRepr();
  // Per-destination resolution state, scanned linearly: the set is small and
  // only the miss path and the tick touch it.
  private readonly pIp: Int32Array;
  private readonly pVlan: Int32Array;
  private readonly pSpa: Int32Array;
  private readonly pState: Uint8Array;
  private readonly pTries: Uint8Array;
  private readonly pLastUs: Float64Array;
  private readonly pHead: Int32Array;
  private readonly pTail: Int32Array;
  private readonly pCount: Int32Array;
  /** Next frame in a destination's queue, indexed by slot. */
  private readonly nextSlot: Int32Array;
  private pUsed = 0;
  private pActive = 0;
  private garpRange = 0;
  private garpIp = 0;
  private lastSweepUs = 0;

  constructor(
    private readonly host: ArpHost,
    readonly cache: ArpCache,
    private readonly opts: ArpOptions,
  ) {
    const n = opts.pendingDests;
    this.pIp = new Int32Array(n);
    this.pVlan = new Int32Array(n);
    this.pSpa = new Int32Array(n);
    this.pState = new Uint8Array(n);
    this.pTries = new Uint8Array(n);
    this.pLastUs = new Float64Array(n);
    this.pHead = new Int32Array(n).fill(-1);
    this.pTail = new Int32Array(n).fill(-1);
    this.pCount = new Int32Array(n);
    this.nextSlot = new Int32Array(host.pool.count).fill(-1);
    this.garpRange = opts.gratuitous ? 0 : host.addrLo.length;
    this.garpIp = host.addrLo.length > 0 ? host.addrLo[0] : 0;
  }

  /** Work left that must not wait for RX: announcements or resolutions. */
  busy(): boolean {
    return this.pActive > 0 || this.garpRange < this.host.addrLo.length;
  }

  /** An ARP packet at `off` (`len` bytes) received on `vlan`. Frees or reuses `slot`. */
  input(slot: number, vlan: number, off: number, len: number, nowUs: number): void {
    const h = this.host;
    const c = h.counters;
    const a = this.arp;
    if (parseArp(h.pool.dv, off, len, a) !== 0) {
      c.arpDropMalformed++;
      h.pool.free(slot);
      return;
    }
    if (a.op === ARP_OP_REQUEST) c.arpRxRequests++;
    else c.arpRxReplies++;
    const nowMs = Math.floor(nowUs / 1000);
    const spa = a.spa >>> 0;
    const tpa = a.tpa >>> 0;
    // Someone else claims one of our addresses: count it, learn nothing from it.
    if (spa !== 0 && h.ownedOn(spa, vlan) >= 0) {
      c.arpConflicts++;
      h.pool.free(slot);
      return;
    }
    // RFC 826 "Packet Reception": merge the sender into an existing entry first,
    // then add it if the request is for us. Probes (spa 0.0.0.0, RFC 5227) teach nothing.
    const merged = spa !== 0 && this.cache.refresh(spa, vlan, a.sha, nowMs);
    const forUs = h.ownedOn(tpa, vlan) >= 0;
    if (forUs && spa !== 0 && !merged && !this.cache.insert(spa, vlan, a.sha, nowMs)) c.arpCacheFull++;
    if (spa !== 0 && (merged || forUs)) this.released(spa, vlan, a.sha);
    if (!forUs) {
      if (!merged) c.arpDropNotForUs++;
      h.pool.free(slot);
      return;
    }
    if (a.op !== ARP_OP_REQUEST) {
      h.pool.free(slot);
      return;
    }
    // Answer in the request's own slot, on the VLAN it came from.
    const reqSha = a.sha;
    a.op = ARP_OP_REPLY;
    a.tha = reqSha;
    a.tpa = spa;
    a.sha = h.mac;
    a.spa = tpa;
    this.sendArp(slot, reqSha, vlan);
    c.arpTxReplies++;
  }

  /**
   * Queues `slot` (a complete frame, destination MAC to be filled) until
   * `nextHop` on `vlan` resolves; `spa` is the owned address to ask from.
   */
  enqueue(slot: number, nextHop: number, vlan: number, spa: number, nowUs: number): void {
    const c = this.host.counters;
    let p = this.findPending(nextHop, vlan);
    if (p >= 0 && this.pState[p] === P_FAILED) {
      c.arpHoldDrops++;
      this.host.pool.free(slot);
      return;
    }
    if (p < 0) {
      p = this.allocPending(nextHop, vlan, spa);
      if (p < 0) {
        c.arpQueueDrops++;
        this.host.pool.free(slot);
        return;
      }
      this.request(p, nowUs);
    }
    if (this.pCount[p] >= this.opts.pendingPerDest) {
      c.arpQueueDrops++;
      this.host.pool.free(slot);
      return;
    }
    this.nextSlot[slot] = -1;
    if (this.pTail[p] < 0) this.pHead[p] = slot;
    else this.nextSlot[this.pTail[p]] = slot;
    this.pTail[p] = slot;
    this.pCount[p]++;
    c.arpQueued++;
  }

  /**
   * Starts resolving `nextHop` (asking from `spa`) if nothing does yet, with
   * no frame waiting. Returns HOP_PENDING, or HOP_FAILED while a failed
   * resolution is held off.
   */
  resolve(nextHop: number, vlan: number, spa: number, nowUs: number): number {
    const p = this.findPending(nextHop, vlan);
    if (p >= 0) return this.pState[p] === P_FAILED ? HOP_FAILED : HOP_PENDING;
    const q = this.allocPending(nextHop, vlan, spa);
    if (q >= 0) this.request(q, nowUs);
    return HOP_PENDING;
  }

  tick(nowUs: number): void {
    if (this.pActive > 0) this.tickPending(nowUs);
    if (this.garpRange < this.host.addrLo.length) this.announce();
    if (this.opts.ager && nowUs - this.lastSweepUs >= 1_000_000) {
      this.lastSweepUs = nowUs;
      this.host.counters.arpAged += this.cache.sweep(Math.floor(nowUs / 1000), this.opts.ageMs);
    }
  }

  /** Frees every queued frame (shutdown). */
  close(): void {
    for (let p = 0; p < this.pUsed; p++) {
      for (let s = this.pHead[p]; s >= 0; ) {
        const next = this.nextSlot[s];
        this.host.pool.free(s);
        s = next;
      }
      this.clearPending(p);
    }
  }

  private tickPending(nowUs: number): void {
    for (let p = 0; p < this.pUsed; p++) {
      const st = this.pState[p];
      if (st === P_FREE) continue;
      if (st === P_FAILED) {
        if (nowUs - this.pLastUs[p] >= this.opts.retransUs) this.clearPending(p);
        continue;
      }
      // Another worker may have received the reply into the shared table.
      const mac = this.cache.lookup(this.pIp[p], this.pVlan[p]);
      if (mac >= 0) {
        this.flush(p, mac);
        continue;
      }
      if (nowUs - this.pLastUs[p] < this.opts.retransUs) continue;
      if (this.pTries[p] < this.opts.maxTries) {
        this.request(p, nowUs);
        continue;
      }
      this.host.counters.arpResolveFailed++;
      for (let s = this.pHead[p]; s >= 0; ) {
        const next = this.nextSlot[s];
        this.host.unreachable(s);
        s = next;
      }
      this.pHead[p] = this.pTail[p] = -1;
      this.pCount[p] = 0;
      this.pState[p] = P_FAILED;
      this.pLastUs[p] = nowUs;
    }
  }

  /** A MAC became known for `ip`: send what waits for it. */
  private released(ip: number, vlan: number, mac: number): void {
    if (this.pActive === 0) return;
    const p = this.findPending(ip, vlan);
    if (p >= 0) this.flush(p, mac);
  }

  private flush(p: number, mac: number): void {
    const h = this.host;
    const dv = h.pool.dv;
    for (let s = this.pHead[p]; s >= 0; ) {
      const next = this.nextSlot[s];
      writeMac(dv, h.pool.base(s), mac);
      h.transmit(s);
      s = next;
    }
    h.counters.arpResolved++;
    this.clearPending(p);
  }

  private request(p: number, nowUs: number): void {
    this.pTries[p]++;
    this.pLastUs[p] = nowUs;
    const a = this.arp;
    a.op = ARP_OP_REQUEST;
    a.sha = this.host.mac;
    a.spa = this.pSpa[p] >>> 0;
    a.tha = 0;
    a.tpa = this.pIp[p] >>> 0;
    if (this.sendNew(this.pVlan[p])) this.host.counters.arpTxRequests++;
  }

  /** Gratuitous ARP (RFC 5227 §3 announcement: a request with spa = tpa), paced per tick. */
  private announce(): void {
    const h = this.host;
    const a = this.arp;
    for (let k = 0; k < this.opts.gratuitousPerTick && this.garpRange < h.addrLo.length; k++) {
      const ip = this.garpIp;
      a.op = ARP_OP_REQUEST;
      a.sha = h.mac;
      a.spa = ip;
      a.tha = 0;
      a.tpa = ip;
      if (!this.sendNew(h.addrVlan[this.garpRange])) return;
      h.counters.arpTxGratuitous++;
      if (ip >= h.addrHi[this.garpRange]) {
        this.garpRange++;
        if (this.garpRange < h.addrLo.length) this.garpIp = h.addrLo[this.garpRange];
      } else {
        this.garpIp = ip + 1;
      }
    }
  }

  /** Broadcasts the ARP packet in `this.arp` from a new slot. */
  private sendNew(vlan: number): boolean {
    const pool = this.host.pool;
    const slot = pool.alloc();
    if (slot < 0) {
      this.host.counters.noBufs++;
      return false;
    }
    this.sendArp(slot, BROADCAST_MAC, vlan);
    return true;
  }

  private sendArp(slot: number, dstMac: number, vlan: number): void {
    const h = this.host;
    const pool = h.pool;
    // Built from the Repr, so a reused RX slot starts over at the default headroom.
    pool.dataOff[slot] = HEADROOM;
    emitArp(this.arp, pool.dv, pool.base(slot) + L3_OFF);
    pool.dataLen[slot] = L3_OFF + ARP_HDR_LEN;
    writeEthHeader(pool, slot, this.eth, dstMac, h.mac, ETH_TYPE_ARP, vlan);
    h.transmit(slot);
  }

  private findPending(ip: number, vlan: number): number {
    const key = ip | 0;
    for (let p = 0; p < this.pUsed; p++) {
      if (this.pState[p] !== P_FREE && this.pIp[p] === key && this.pVlan[p] === vlan) return p;
    }
    return -1;
  }

  private allocPending(ip: number, vlan: number, spa: number): number {
    let p = 0;
    while (p < this.pUsed && this.pState[p] !== P_FREE) p++;
    if (p === this.pIp.length) return -1;
    if (p === this.pUsed) this.pUsed++;
    this.pIp[p] = ip | 0;
    this.pVlan[p] = vlan;
    this.pSpa[p] = spa | 0;
    this.pState[p] = P_RESOLVING;
    this.pTries[p] = 0;
    this.pHead[p] = this.pTail[p] = -1;
    this.pCount[p] = 0;
    this.pActive++;
    return p;
  }

  private clearPending(p: number): void {
    if (this.pState[p] === P_FREE) return;
    this.pState[p] = P_FREE;
    this.pHead[p] = this.pTail[p] = -1;
    this.pCount[p] = 0;
    this.pActive--;
    while (this.pUsed > 0 && this.pState[this.pUsed - 1] === P_FREE) this.pUsed--;
  }
}
