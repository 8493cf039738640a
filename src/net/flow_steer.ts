/**
 * Flow steering between the workers of one port, for connections they open
 * themselves (the HTTP client load).
 *
 * af_packet fanout (PACKET_FANOUT_HASH) and RSS pick a queue from a hash of
 * the 4-tuple. The hash is symmetric, so both directions of a flow meet in one
 * queue, but which queue is a function of a secret per-boot key: a worker that
 * opens a connection cannot choose a source port whose replies come back to
 * its own queue. Accepted connections have no such problem (the worker that
 * got the SYN owns the flow); opened ones need this.
 *
 * So each worker owns a share of the ephemeral ports [EPHEMERAL_LO,
 * EPHEMERAL_HI) of every client source address (`portShare`: its TCP layer's
 * pool of (address, port) pairs covers that share of each address), and a TCP
 * frame to a client address and a port of another worker's share is copied
 * into that worker's inbound FrameRing and freed; the owner takes it from its ring into one of its own
 * slots and feeds it to its stack as if its queue had received it. The frame
 * is captured (--pcap) by the worker whose queue received it. A destination
 * unreachable about a client flow goes to the flow's owner too: fanout hashes
 * the ICMP packet's own addresses, the owner is the quoted segment's source
 * port (RFC 792: the error quotes the IP header and 8 bytes of the datagram).
 *
 * UDP flows are steered as TCP ones, by the destination port (each worker
 * sends from a port of its share). ICMP echo replies carry no port: a worker
 * probes with identifiers `id` such that `id % workers` is its index
 * (`echoIdent`), and a reply goes to the worker its identifier names.
 */
import { HEADROOM, SLOT_DATA_MAX, SLOT_SIZE, type BufferPool } from '../core/buffer_pool.js';
import { FrameRing, type FrameRingShared } from '../core/frame_ring.js';
import { ICMP_DEST_UNREACH, ICMP_ECHO_REPLY, ICMP_HDR_LEN } from '../wire/icmp.js';
import { EPHEMERAL_HI, EPHEMERAL_LO } from './tcp/port_pool.js';

const SPAN = EPHEMERAL_HI - EPHEMERAL_LO;
const ETH_HLEN = 14;
const ETHERTYPE_VLAN = 0x8100;
const ETHERTYPE_IPV4 = 0x0800;
const IPPROTO_ICMP = 1;
const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;
/** IPv4 flags/fragment-offset word: MF and the offset (RFC 791 §3.1). */
const IP_FRAG_MASK = 0x3fff;

/** The worker that owns ephemeral `port` of every client address, out of `workers`. */
export function portOwner(port: number, workers: number): number {
  return Math.floor(((port - EPHEMERAL_LO) * workers) / SPAN);
}

/** The ephemeral ports [lo, hi) worker `workerIdx` of `workers` owns: exactly those portOwner gives it. */
export function portShare(workerIdx: number, workers: number): { lo: number; hi: number } {
  return {
    lo: EPHEMERAL_LO + Math.ceil((workerIdx * SPAN) / workers),
    hi: EPHEMERAL_LO + Math.ceil(((workerIdx + 1) * SPAN) / workers),
  };
}

/** The echo identifier worker `workerIdx` of `workers` probes with, from a per-run `base` (0..65535): the one ownerOf maps back to it. */
export function echoIdent(base: number, workerIdx: number, workers: number): number {
  const b = base % (65536 - workers);
  return b - (b % workers) + workerIdx;
}

/** What every worker gets: one inbound ring per worker, the client's source address ranges (inclusive). */
export interface SteerConfig {
  rings: FrameRingShared[];
  addrs: { lo: number; hi: number }[];
}

export class FlowSteer {
  /** Frames copied to another worker, taken from other workers, and dropped because the owner's ring was full. */
  out = 0;
  in = 0;
  drops = 0;
  private readonly rings: FrameRing[];
  private readonly inbound: FrameRing;
  private readonly u8: Buffer;
  private readonly dv: DataView;
  private readonly addrLo: Uint32Array;
  private readonly addrHi: Uint32Array;
  /** Workers of the port. */
  readonly n: number;
  private readonly drained: Int32Array;
  /** Workers handed frames during the current steer() call (a flag per worker). */
  private readonly handed: Uint8Array;

  constructor(
    cfg: SteerConfig,
    private readonly self: number,
    private readonly pool: BufferPool,
    burst: number,
    /** Ends worker w's park, so that it takes the frames now rather than after its park (up to 1 ms). */
    private readonly wake: (w: number) => void,
  ) {
    this.rings = cfg.rings.map((r) => new FrameRing(r));
    this.inbound = this.rings[self];
    this.n = cfg.rings.length;
    this.addrLo = Uint32Array.from(cfg.addrs, (a) => a.lo);
    this.addrHi = Uint32Array.from(cfg.addrs, (a) => a.hi);
    this.u8 = Buffer.from(pool.buffer);
    this.dv = pool.dv;
    this.drained = new Int32Array(burst);
    this.handed = new Uint8Array(this.n);
  }

  /** The worker owning the flow of the frame in `slot`, or -1 when it is this worker's (or no client flow at all). */
  ownerOf(slot: number): number {
    const dv = this.dv;
    let off = this.pool.base(slot);
    const end = off + this.pool.dataLen[slot];
    if (end - off < ETH_HLEN + 20 + 4) return -1;
    let type = dv.getUint16(off + 12);
    if (type === ETHERTYPE_VLAN) {
      off += 4;
      type = dv.getUint16(off + 12);
    }
    const ip = off + ETH_HLEN;
    if (type !== ETHERTYPE_IPV4 || ip + 20 > end) return -1;
    const vihl = dv.getUint8(ip);
    if (vihl >>> 4 !== 4) return -1;
    // A fragment past the first has no ports; the stack drops fragments anyway.
    if ((dv.getUint16(ip + 6) & IP_FRAG_MASK) !== 0 || !this.isClient(dv.getUint32(ip + 16))) return -1;
    const proto = dv.getUint8(ip + 9);
    const l4 = ip + (vihl & 15) * 4;
    let port: number;
    if (proto === IPPROTO_TCP || proto === IPPROTO_UDP) {
      if (l4 + 4 > end) return -1;
      port = dv.getUint16(l4 + 2);
    } else if (proto === IPPROTO_ICMP) {
      if (l4 + ICMP_HDR_LEN > end) return -1;
      const type = dv.getUint8(l4);
      if (type === ICMP_ECHO_REPLY) {
        const w = dv.getUint16(l4 + 4) % this.n;
        return w === this.self ? -1 : w;
      }
      // A destination unreachable quoting a TCP or UDP datagram this address sent: its source port.
      const q = l4 + ICMP_HDR_LEN;
      if (q + 20 > end || type !== ICMP_DEST_UNREACH) return -1;
      const qvihl = dv.getUint8(q);
      const qproto = dv.getUint8(q + 9);
      if (qvihl >>> 4 !== 4 || (qproto !== IPPROTO_TCP && qproto !== IPPROTO_UDP) || !this.isClient(dv.getUint32(q + 12))) return -1;
      const qtcp = q + (qvihl & 15) * 4;
      if (qtcp + 2 > end) return -1;
      port = dv.getUint16(qtcp);
    } else {
      return -1;
    }
    if (port < EPHEMERAL_LO || port >= EPHEMERAL_HI) return -1;
    const w = portOwner(port, this.n);
    return w === this.self ? -1 : w;
  }

  /** True when `ip` is one of the client's source addresses. */
  private isClient(ip: number): boolean {
    const lo = this.addrLo;
    for (let i = 0; i < lo.length; i++) if (ip >= lo[i] && ip <= this.addrHi[i]) return true;
    return false;
  }

  /**
   * Passes the frames of other workers' flows to them and compacts the rest
   * to the front of `slots`; returns how many stay here.
   */
  steer(slots: Int32Array, n: number): number {
    let k = 0;
    let handed = false;
    const pool = this.pool;
    for (let i = 0; i < n; i++) {
      const s = slots[i];
      const w = this.ownerOf(s);
      if (w < 0) {
        slots[k++] = s;
        continue;
      }
      const len = pool.dataLen[s];
      // The owner copies it behind its own headroom, so it must fit there.
      if (len <= SLOT_DATA_MAX && this.rings[w].push(this.u8, pool.base(s), len)) {
        this.out++;
        this.handed[w] = 1;
        handed = true;
      } else {
        this.drops++;
      }
      pool.free(s);
    }
    // One wake per worker and burst, not per frame.
    if (handed) {
      for (let w = 0; w < this.n; w++) {
        if (this.handed[w] === 0) continue;
        this.handed[w] = 0;
        this.wake(w);
      }
    }
    return k;
  }

  /** True when another worker left frames for this one. */
  get pending(): boolean {
    return this.inbound.ready;
  }

  /** Takes up to a burst of frames other workers passed here into own slots; returns the slots (in `drained`) and their count. */
  take(): number {
    const pool = this.pool;
    const ring = this.inbound;
    let k = 0;
    while (k < this.drained.length && ring.ready) {
      const s = pool.alloc();
      if (s < 0) break;
      const len = ring.pop(this.u8, s * SLOT_SIZE + HEADROOM);
      pool.dataLen[s] = len;
      this.drained[k++] = s;
    }
    this.in += k;
    return k;
  }

  get slots(): Int32Array {
    return this.drained;
  }
}
