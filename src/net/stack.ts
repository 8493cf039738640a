/**
 * The per-worker network layer: one NetStack per port queue. It classifies
 * received frames (Ethernet, 802.1Q, ARP, IPv4), answers ARP and ping for
 * every owned address, hands transport datagrams to registered L4 handlers,
 * and routes what they send (LPM next hop, MAC from the shared ARP cache,
 * frames queued while ARP resolves).
 */
import type { Clock } from '../common/clock.js';
import type { BufferPool } from '../core/buffer_pool.js';
import type { Pipeline } from '../core/pipeline.js';
import { TxBatch } from '../port/tx_batch.js';
import type { WireStamps } from '../port/wire_stamps.js';
import type { PortQueue } from '../port/port.js';
import { ETH_TYPE_ARP, ETH_TYPE_IPV4, ETH_TYPE_VLAN, newEthernetRepr, parseEthernet } from '../wire/ethernet.js';
import { IPV4_DST_OFF, IPV4_HDR_LEN, IPV4_PROTO_OFF, IPV4_PROTO_TCP, IPV4_PROTO_UDP, IPV4_SRC_OFF } from '../wire/ipv4.js';
import { ICMP_DEST_UNREACH, ICMP_UNREACH_HOST } from '../wire/icmp.js';
import { ipToString, prefixMask } from '../wire/ipv4_addr.js';
import { BROADCAST_MAC, isMulticastMac } from '../wire/mac.js';
import { VLAN_HDR_LEN } from '../wire/vlan.js';
import { Arp, DEFAULT_ARP_OPTIONS, type ArpOptions } from './arp.js';
import { ArpCache } from './arp_cache.js';
import { NetCounters } from './counters.js';
import { writeEthHeader } from './ethernet.js';
import { Icmp, type EchoReplyHandler } from './icmp.js';
import { Ipv4 } from './ipv4.js';
import { HOP_NO_ROUTE, HOP_READY, type L4Handler } from './l4.js';
import { L3_OFF, L4_OFF } from './layout.js';
import { Lpm } from './lpm.js';

/** Owned addresses `lo..hi` (inclusive) in a `/prefixLen` subnet on `vlan` (-1 = untagged). */
export interface AddrRange {
  lo: number;
  hi: number;
  prefixLen: number;
  vlan: number;
}

/** `prefix/len` via `gateway` (0 = connected). */
export interface RouteConfig {
  prefix: number;
  len: number;
  gateway: number;
}

export interface NetStackConfig {
  queue: PortQueue;
  clock: Clock;
  /** Our MAC, 48-bit number. */
  mac: number;
  addrs: AddrRange[];
  routes: RouteConfig[];
  /** Shared neighbour table (one per port); a private one when absent. */
  arpCache?: ArpCache;
  /** Neighbours in a private table. */
  arpCacheSize?: number;
  arp?: Partial<ArpOptions>;
  /** TX batch the poll loop flushes; a new one when absent. */
  tx?: TxBatch;
  /** ICMP errors per second at most. */
  icmpErrorsPerSec?: number;
}

export class NetConfigError extends Error {}

const VLAN_SLOTS = 4097;

export class NetStack implements Pipeline {
  readonly pool: BufferPool;
  readonly clock: Clock;
  readonly mac: number;
  readonly tx: TxBatch;
  /** The queue's wire stamps (native queues), for the transport's wire-level timing. */
  readonly wire: WireStamps | undefined;
  readonly counters = new NetCounters();
  readonly handlers: (L4Handler | null)[] = new Array<L4Handler | null>(256).fill(null);
  readonly addrLo: Uint32Array;
  readonly addrHi: Uint32Array;
  readonly addrVlan: Int32Array;
  readonly arpCache: ArpCache;
  private readonly lpm: Lpm;
  private readonly arp: Arp;
  private readonly icmp: Icmp;
  private readonly ipv4: Ipv4;
  private readonly eth = newEthernetRepr();
  private readonly ethTx = newEthernetRepr();
  /** VLAN ids (+1; 0 = untagged) that carry owned addresses. */
  private readonly vlanUsed = new Uint8Array(VLAN_SLOTS);
  // Next hops by route index: gateway (0 = the destination itself), VLAN, and
  // the owned address ARP asks from on that segment.
  private readonly rtGateway: Uint32Array;
  private readonly rtVlan: Int32Array;
  private readonly rtSrc: Uint32Array;
  /**
   * Per route, the next hop last resolved and where its ARP entry was: the
   * MAC stays good while that entry's sequence word is unchanged, which saves
   * the hash probe and the seqlock reads of a full ARP lookup per packet.
   */
  private readonly rtHop: Int32Array;
  private readonly rtArpEntry: Int32Array;
  private readonly rtArpSeq: Int32Array;
  private readonly rtMac: Float64Array;
  private l4Count = 0;
  /** The registered handlers, for the per-burst call. */
  private readonly l4List: L4Handler[] = [];

  constructor(cfg: NetStackConfig) {
    this.pool = cfg.queue.pool;
    this.clock = cfg.clock;
    this.mac = cfg.mac;
    this.tx = cfg.tx ?? new TxBatch(cfg.queue);
    this.wire = cfg.queue.wire;
    if (!Number.isInteger(cfg.mac) || cfg.mac <= 0 || cfg.mac > BROADCAST_MAC || isMulticastMac(cfg.mac)) {
      throw new NetConfigError(`MAC ${cfg.mac} is not a unicast address`);
    }
    if (cfg.addrs.length === 0) throw new NetConfigError('no owned addresses');
    const n = cfg.addrs.length;
    this.addrLo = new Uint32Array(n);
    this.addrHi = new Uint32Array(n);
    this.addrVlan = new Int32Array(n);
    cfg.addrs.forEach((a, i) => {
      if (a.hi < a.lo) throw new NetConfigError(`address range ${ipToString(a.lo)}-${ipToString(a.hi)} is empty`);
      if (!(a.prefixLen >= 1 && a.prefixLen <= 32)) throw new NetConfigError(`prefix length ${a.prefixLen} is not 1..32`);
      if (!(a.vlan >= -1 && a.vlan <= 4094)) throw new NetConfigError(`VLAN ${a.vlan} is not 0..4094`);
      const m = prefixMask(a.prefixLen);
      if (((a.lo & m) >>> 0) !== ((a.hi & m) >>> 0)) {
        throw new NetConfigError(`address range ${ipToString(a.lo)}-${ipToString(a.hi)} spans more than one /${a.prefixLen}`);
      }
      for (let j = 0; j < i; j++) {
        if (a.lo <= this.addrHi[j] && this.addrLo[j] <= a.hi) throw new NetConfigError(`address range ${ipToString(a.lo)}-${ipToString(a.hi)} overlaps another`);
      }
      this.addrLo[i] = a.lo;
      this.addrHi[i] = a.hi;
      this.addrVlan[i] = a.vlan;
      this.vlanUsed[a.vlan + 1] = 1;
    });

    const nr = n + cfg.routes.length;
    this.rtGateway = new Uint32Array(nr);
    this.rtVlan = new Int32Array(nr);
    this.rtSrc = new Uint32Array(nr);
    this.rtHop = new Int32Array(nr);
    this.rtArpEntry = new Int32Array(nr).fill(-1);
    this.rtArpSeq = new Int32Array(nr);
    this.rtMac = new Float64Array(nr);
    this.lpm = new Lpm(Math.max(nr, 1));
    this.buildRoutes(cfg.addrs, cfg.routes);

    const ao = { ...DEFAULT_ARP_OPTIONS, pendingPerDest: Math.max(DEFAULT_ARP_OPTIONS.pendingPerDest, this.pool.count >>> 2), ...cfg.arp };
    for (const k of ['pendingDests', 'pendingPerDest', 'retransUs', 'maxTries', 'ageMs', 'gratuitousPerTick'] as const) {
      if (!(Number.isInteger(ao[k]) && ao[k] >= 1)) throw new NetConfigError(`ARP option ${k} must be a positive integer, got ${ao[k]}`);
    }
    if (ao.maxTries > 255) throw new NetConfigError(`ARP option maxTries must be at most 255, got ${ao.maxTries}`);
    this.arpCache = cfg.arpCache ?? new ArpCache(cfg.arpCacheSize ?? 4096);
    this.arp = new Arp(this, this.arpCache, ao);
    this.icmp = new Icmp(this, cfg.icmpErrorsPerSec ?? 1000);
    this.ipv4 = new Ipv4(this, this.icmp);
  }

  /** Routes datagrams of IP protocol `proto` to `h`. */
  registerL4(proto: number, h: L4Handler): void {
    if (!Number.isInteger(proto) || proto < 0 || proto > 255 || proto === 1) throw new NetConfigError(`cannot register IP protocol ${proto}`);
    if (this.handlers[proto] !== null) throw new NetConfigError(`IP protocol ${proto} already has a handler`);
    this.handlers[proto] = h;
    this.l4List.push(h);
    this.l4Count++;
  }

  /** Destination unreachable `code` about the datagram at `l3Off` of `slot` (rate-limited); frees `slot`. */
  sendUnreachable(slot: number, l3Off: number, code: number, srcIp: number, dstIp: number): void {
    this.icmp.sendUnreachable(slot, l3Off, code, srcIp, dstIp);
  }

  /** An echo request with `len` bytes of data already at the slot's L4 offset + 8; takes ownership of `slot`. */
  sendEcho(slot: number, srcIp: number, dstIp: number, ident: number, seq: number, len: number, tos = 0): void {
    this.icmp.sendEcho(slot, srcIp, dstIp, ident, seq, len, tos);
  }

  /** Where echo replies addressed to us go (one prober per worker). */
  setEchoHandler(h: EchoReplyHandler | null): void {
    this.icmp.echoHandler = h;
  }

  ownsAddress(ip: number): boolean {
    const lo = this.addrLo;
    for (let i = 0; i < lo.length; i++) if (ip >= lo[i] && ip <= this.addrHi[i]) return true;
    return false;
  }

  /** Index of the owned range holding `ip` on `vlan`, or -1. */
  ownedOn(ip: number, vlan: number): number {
    const lo = this.addrLo;
    for (let i = 0; i < lo.length; i++) {
      if (ip >= lo[i] && ip <= this.addrHi[i]) return this.addrVlan[i] === vlan ? i : -1;
    }
    return -1;
  }

  input(slots: Int32Array, n: number, nowUs: number): void {
    for (let i = 0; i < n; i++) this.frame(slots[i], nowUs);
    const l4 = this.l4List;
    for (let i = 0; i < l4.length; i++) l4[i].burstEnd();
  }

  /**
   * Sends the L4 segment of `l4Len` bytes at `base + L4_OFF` of `slot`: writes
   * IPv4 (with TOS byte `tos`) and Ethernet headers, picks the next hop and
   * transmits or queues it behind ARP. Takes ownership of `slot`.
   */
  outputIpv4(slot: number, srcIp: number, dstIp: number, proto: number, l4Len: number, tos = 0): void {
    const pool = this.pool;
    const c = this.counters;
    const r = this.lpm.lookup(dstIp);
    if (r < 0) {
      c.ipv4TxNoRoute++;
      pool.free(slot);
      return;
    }
    this.ipv4.writeHeader(pool.base(slot) + L3_OFF, srcIp, dstIp, proto, l4Len, tos);
    pool.dataLen[slot] = L4_OFF + l4Len;
    const gw = this.rtGateway[r];
    const nextHop = gw === 0 ? dstIp : gw;
    const vlan = this.rtVlan[r];
    const mac = this.nextHopMac(r, nextHop, vlan);
    writeEthHeader(pool, slot, this.ethTx, mac < 0 ? 0 : mac, this.mac, ETH_TYPE_IPV4, vlan);
    c.ipv4Tx++;
    if (mac < 0) this.arp.enqueue(slot, nextHop, vlan, this.rtSrc[r], this.clock.nowUs());
    else this.transmit(slot);
  }

  /** The state of `dstIp`'s next hop (HOP_* of l4.ts); an unknown one starts resolving now. */
  nextHop(dstIp: number): number {
    const r = this.lpm.lookup(dstIp);
    if (r < 0) return HOP_NO_ROUTE;
    const gw = this.rtGateway[r];
    const hop = gw === 0 ? dstIp : gw;
    const vlan = this.rtVlan[r];
    if (this.nextHopMac(r, hop, vlan) >= 0) return HOP_READY;
    return this.arp.resolve(hop, vlan, this.rtSrc[r], this.clock.nowUs());
  }

  /** The MAC of `nextHop` on route `r`'s VLAN `vlan`, or -1 when ARP has none. */
  private nextHopMac(r: number, nextHop: number, vlan: number): number {
    const e = this.rtArpEntry[r];
    const cache = this.arpCache;
    if (e >= 0 && this.rtHop[r] === (nextHop | 0) && cache.seqAt(e) === this.rtArpSeq[r]) {
      return this.rtMac[r];
    }
    const i = cache.find(nextHop, vlan);
    this.rtArpEntry[r] = i;
    if (i < 0) return -1;
    this.rtHop[r] = nextHop;
    this.rtArpSeq[r] = cache.foundSeq;
    this.rtMac[r] = cache.foundMac;
    return cache.foundMac;
  }

  transmit(slot: number): void {
    this.counters.txFrames++;
    this.tx.push(slot);
  }

  /** A frame that waited for ARP in vain: RFC 1122 §2.3.2.2 says to report host unreachable to its transport. */
  unreachable(slot: number): void {
    const pool = this.pool;
    const dv = pool.dv;
    const base = pool.base(slot);
    const l3 = base + (dv.getUint16(base + 12) === ETH_TYPE_VLAN ? L3_OFF + VLAN_HDR_LEN : L3_OFF);
    const proto = dv.getUint8(l3 + IPV4_PROTO_OFF);
    const l4 = this.handlers[proto];
    if (l4 !== null) {
      const ported = proto === IPV4_PROTO_TCP || proto === IPV4_PROTO_UDP;
      l4.icmpError(
        (ICMP_DEST_UNREACH << 8) | ICMP_UNREACH_HOST,
        dv.getUint32(l3 + IPV4_SRC_OFF),
        dv.getUint32(l3 + IPV4_DST_OFF),
        proto,
        ported ? dv.getUint16(l3 + IPV4_HDR_LEN) : 0,
        ported ? dv.getUint16(l3 + IPV4_HDR_LEN + 2) : 0,
      );
    }
    pool.free(slot);
  }

  tick(nowUs: number): void {
    this.arp.tick(nowUs);
    this.icmp.tick(nowUs);
    if (this.l4Count > 0) {
      for (let p = 0; p < 256; p++) {
        const h = this.handlers[p];
        if (h !== null) h.tick(nowUs);
      }
    }
    this.counters.txBatchDrops = this.tx.dropped;
  }

  busy(): boolean {
    if (this.tx.pending > 0 || this.arp.busy()) return true;
    if (this.l4Count > 0) {
      for (let p = 0; p < 256; p++) {
        const h = this.handlers[p];
        if (h !== null && h.busy()) return true;
      }
    }
    return false;
  }

  flush(): void {
    this.tx.flush();
  }

  close(): void {
    this.arp.close();
  }

  private frame(slot: number, nowUs: number): void {
    const pool = this.pool;
    const c = this.counters;
    c.rxFrames++;
    const base = pool.base(slot);
    const len = pool.dataLen[slot];
    const e = this.eth;
    if (parseEthernet(pool.dv, base, len, e) !== 0) {
      c.ethDropTruncated++;
      pool.free(slot);
      return;
    }
    if (e.dst !== this.mac && e.dst !== BROADCAST_MAC) {
      c.ethDropNotForUs++;
      pool.free(slot);
      return;
    }
    if (this.vlanUsed[e.vlanId + 1] === 0) {
      c.ethDropVlan++;
      pool.free(slot);
      return;
    }
    const l3 = base + e.hdrLen;
    if (e.ethertype === ETH_TYPE_IPV4) this.ipv4.input(slot, e.vlanId, l3, len - e.hdrLen, nowUs);
    else if (e.ethertype === ETH_TYPE_ARP) this.arp.input(slot, e.vlanId, l3, len - e.hdrLen, nowUs);
    else {
      c.ethDropType++;
      pool.free(slot);
    }
  }

  /** Connected routes from the owned ranges, then the configured ones (a gateway must sit in a connected subnet). */
  private buildRoutes(addrs: AddrRange[], routes: RouteConfig[]): void {
    const connected: { k: number; prefix: number; len: number; vlan: number }[] = [];
    let k = 0;
    for (const a of addrs) {
      const prefix = (a.lo & prefixMask(a.prefixLen)) >>> 0;
      const same = connected.find((c) => c.prefix === prefix && c.len === a.prefixLen);
      if (same !== undefined) {
        if (same.vlan !== a.vlan) throw new NetConfigError(`subnet ${ipToString(prefix)}/${a.prefixLen} is on two VLANs`);
        continue;
      }
      this.rtGateway[k] = 0;
      this.rtVlan[k] = a.vlan;
      this.rtSrc[k] = a.lo;
      this.lpm.add(prefix, a.prefixLen, k);
      connected.push({ k: k++, prefix, len: a.prefixLen, vlan: a.vlan });
    }
    for (const r of routes) {
      if (!(Number.isInteger(r.len) && r.len >= 0 && r.len <= 32)) throw new NetConfigError(`route prefix length ${r.len} is not 0..32`);
      // The most specific connected subnet holding the gateway; a connected route
      // (gateway 0) is reached through the first owned range's segment.
      let via = connected[0];
      if (r.gateway !== 0) {
        const holding = connected.filter((c) => ((r.gateway & prefixMask(c.len)) >>> 0) === c.prefix).sort((a, b) => b.len - a.len);
        if (holding.length === 0) throw new NetConfigError(`gateway ${ipToString(r.gateway)} is not in a connected subnet of the owned addresses`);
        via = holding[0];
      }
      this.rtGateway[k] = r.gateway;
      this.rtVlan[k] = via.vlan;
      this.rtSrc[k] = this.rtSrc[via.k];
      this.lpm.add(r.prefix, r.len, k++);
    }
    this.lpm.rebuild();
    if (this.lpm.skipped > 0) throw new NetConfigError(`${this.lpm.skipped} routes longer than /24 did not fit the LPM table`);
  }
}
