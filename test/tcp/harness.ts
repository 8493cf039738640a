/**
 * Test rigs for the TCP layer: a vaigAI node (real NetStack + TcpLayer) on one
 * end of an in-memory ring pair, and on the other end either a scripted peer
 * that builds and parses raw segments ("send this segment, expect that one")
 * or a second vaigAI node. Faults between two nodes come from an impairment
 * wrapped around each ring queue (the engine of `vaigai impair`), seeded and on
 * the rig's clock.
 */
import assert from 'node:assert/strict';
import { type Clock, ManualClock } from '../../src/common/clock.js';
import { BufferPool } from '../../src/core/buffer_pool.js';
import { ARP_STATIC } from '../../src/net/arp_cache.js';
import { NetStack } from '../../src/net/stack.js';
import type { TcpHandler, TcpOptions } from '../../src/net/tcp/api.js';
import { TcpLayer } from '../../src/net/tcp/tcp_layer.js';
import type { PortQueue } from '../../src/port/port.js';
import { createImpairedRingPair } from '../../src/impair/ring.js';
import type { ImpairedPort } from '../../src/impair/queue.js';
import { createRingPair } from '../../src/port/ring.js';
import { ETH_HDR_LEN, ETH_TYPE_IPV4, emitEthernet, newEthernetRepr, parseEthernet } from '../../src/wire/ethernet.js';
import { IPV4_PROTO_TCP, emitIpv4, newIpv4Repr, parseIpv4 } from '../../src/wire/ipv4.js';
import { parseIp } from '../../src/wire/ipv4_addr.js';
import { emitTcp, newTcpRepr, parseTcp, tcpChecksumOk, tcpFinishChecksum } from '../../src/wire/tcp.js';
import { emitTcpOptions, newTcpOptionsRepr, parseTcpOptions } from '../../src/wire/tcp_options.js';

export const A_IP = parseIp('198.18.0.1');
export const B_IP = parseIp('198.18.0.2');
export const A_MAC = 0x027667000001;
export const B_MAC = 0x027667000002;

/** Mulberry32: small seeded PRNG for reproducible faults and payloads. */
export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let x = s;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/** A vaigAI node: NetStack + TcpLayer on a ring queue. */
export class Node {
  readonly stack: NetStack;
  readonly tcp: TcpLayer;
  private readonly rx = new Int32Array(256);

  constructor(
    readonly queue: PortQueue,
    readonly clock: Clock,
    mac: number,
    ip: number,
    peerIp: number,
    peerMac: number,
    opts: Partial<TcpOptions>,
    /** Consecutive addresses owned from `ip`, and reachable from `peerIp`. */
    ipCount = 1,
    peerCount = 1,
  ) {
    this.stack = new NetStack({ queue, clock, mac, addrs: [{ lo: ip, hi: ip + ipCount - 1, prefixLen: 24, vlan: -1 }], routes: [] });
    for (let i = 0; i < peerCount; i++) this.stack.arpCache.insert(peerIp + i, -1, peerMac, 0, ARP_STATIC);
    this.tcp = new TcpLayer(this.stack, { maxConns: 1024, isnKey: Uint32Array.of(1, 2), tsKey: Uint32Array.of(11, 12), portKey: Uint32Array.of(21, 22), ...opts });
    this.stack.registerL4(IPV4_PROTO_TCP, this.tcp);
  }

  /** Receives what is waiting, runs timers, transmits, all at `now` (a poll loop's burst time). Returns frames received. */
  poll(now = this.clock.nowUs()): number {
    let total = 0;
    for (;;) {
      const n = this.queue.rxBurst(this.rx, this.rx.length);
      if (n === 0) break;
      total += n;
      this.stack.input(this.rx, n, now);
      this.stack.flush();
    }
    this.stack.tick(now);
    this.stack.flush();
    return total;
  }
}

/** A TCP segment as the scripted peer sends or sees it. */
export interface Seg {
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  flags: number;
  win: number;
  mss?: number;
  ws?: number;
  sackOk?: boolean;
  ts?: [number, number];
  sack?: [number, number][];
  data?: Uint8Array;
  /** The IPv4 TOS byte (DSCP << 2 | ECN); received segments always carry it. */
  tos?: number;
}

/** The other end of the wire, driven by the test: raw segments in and out. */
export class ScriptPeer {
  private readonly rx = new Int32Array(64);
  private readonly eth = newEthernetRepr();
  private readonly ip = newIpv4Repr();
  private readonly tcp = newTcpRepr();
  private readonly opt = newTcpOptionsRepr();

  constructor(
    readonly queue: PortQueue,
    readonly mac: number,
    readonly addr: number,
    readonly nodeMac: number,
    readonly nodeIp: number,
  ) {}

  send(s: Seg): void {
    const pool = this.queue.pool;
    const slot = pool.alloc();
    assert.ok(slot >= 0, 'peer pool exhausted');
    const dv = pool.dv;
    const base = pool.base(slot);
    const l4 = base + ETH_HDR_LEN + 20;
    const o = this.opt;
    o.mss = s.mss ?? -1;
    o.wscale = s.ws ?? -1;
    o.sackPermitted = s.sackOk ?? false;
    o.hasTimestamps = s.ts !== undefined;
    o.tsVal = s.ts?.[0] ?? 0;
    o.tsEcr = s.ts?.[1] ?? 0;
    o.sackCount = s.sack?.length ?? 0;
    s.sack?.forEach(([l, r], i) => {
      o.sackBlocks[2 * i] = l >>> 0;
      o.sackBlocks[2 * i + 1] = r >>> 0;
    });
    const optLen = emitTcpOptions(o, dv, l4 + 20);
    const t = this.tcp;
    t.srcPort = s.sport;
    t.dstPort = s.dport;
    t.seq = s.seq >>> 0;
    t.ack = s.ack >>> 0;
    t.dataOff = 20 + optLen;
    t.flags = s.flags;
    t.window = s.win;
    t.urgent = 0;
    emitTcp(t, dv, l4);
    const data = s.data ?? new Uint8Array(0);
    pool.u8.set(data, l4 + t.dataOff);
    const l4Len = t.dataOff + data.length;
    tcpFinishChecksum(dv, l4, l4Len, this.addr, this.nodeIp);
    const ip = this.ip;
    ip.ihl = 20;
    ip.tos = s.tos ?? 0;
    ip.totalLen = 20 + l4Len;
    ip.ident = 0;
    ip.df = true;
    ip.mf = false;
    ip.fragOff = 0;
    ip.ttl = 64;
    ip.proto = IPV4_PROTO_TCP;
    ip.src = this.addr;
    ip.dst = this.nodeIp;
    emitIpv4(ip, dv, base + ETH_HDR_LEN);
    const e = this.eth;
    e.dst = this.nodeMac;
    e.src = this.mac;
    e.ethertype = ETH_TYPE_IPV4;
    e.vlanId = -1;
    emitEthernet(e, dv, base);
    pool.dataLen[slot] = ETH_HDR_LEN + 20 + l4Len;
    assert.equal(this.queue.txBurst(Int32Array.of(slot), 1), 1);
  }

  /** Every TCP segment waiting for the peer, checked (IPv4 and TCP checksums) and decoded. */
  recv(): Seg[] {
    const out: Seg[] = [];
    const pool = this.queue.pool;
    for (;;) {
      const n = this.queue.rxBurst(this.rx, this.rx.length);
      if (n === 0) break;
      for (let i = 0; i < n; i++) {
        const slot = this.rx[i];
        const dv = pool.dv;
        const base = pool.base(slot);
        const len = pool.dataLen[slot];
        assert.equal(parseEthernet(dv, base, len, this.eth), 0);
        if (this.eth.ethertype !== ETH_TYPE_IPV4) {
          pool.free(slot);
          continue;
        }
        assert.equal(parseIpv4(dv, base + this.eth.hdrLen, len - this.eth.hdrLen, this.ip), 0, 'bad IPv4 header');
        const l4 = base + this.eth.hdrLen + this.ip.ihl;
        const l4Len = this.ip.totalLen - this.ip.ihl;
        assert.equal(parseTcp(dv, l4, l4Len, this.tcp), 0, 'bad TCP header');
        assert.ok(tcpChecksumOk(dv, l4, l4Len, this.ip.src, this.ip.dst), 'bad TCP checksum');
        assert.equal(parseTcpOptions(dv, this.tcp.optOff, this.tcp.optLen, this.opt), 0, 'bad TCP options');
        const t = this.tcp;
        const o = this.opt;
        const s: Seg = { sport: t.srcPort, dport: t.dstPort, seq: t.seq, ack: t.ack, flags: t.flags, win: t.window, tos: this.ip.tos };
        if (o.mss >= 0) s.mss = o.mss;
        if (o.wscale >= 0) s.ws = o.wscale;
        if (o.sackPermitted) s.sackOk = true;
        if (o.hasTimestamps) s.ts = [o.tsVal, o.tsEcr];
        if (o.sackCount > 0) {
          s.sack = [];
          for (let k = 0; k < o.sackCount; k++) s.sack.push([o.sackBlocks[2 * k], o.sackBlocks[2 * k + 1]]);
        }
        if (t.payloadLen > 0) s.data = pool.u8.slice(t.payloadOff, t.payloadOff + t.payloadLen);
        out.push(s);
        pool.free(slot);
      }
    }
    return out;
  }
}

/** Records every callback of a TcpHandler. */
export class Recorder implements TcpHandler {
  readonly events: string[] = [];
  readonly data = new Map<number, number[]>();
  connected: number[] = [];
  closed = new Map<number, number>();
  onConnectedHook: ((c: number) => void) | null = null;
  onConnected(c: number): void {
    this.events.push(`connected ${c}`);
    this.connected.push(c);
    this.onConnectedHook?.(c);
  }
  onData(c: number, u8: Uint8Array, off: number, len: number): void {
    this.events.push(`data ${c} ${len}`);
    let d = this.data.get(c);
    if (d === undefined) this.data.set(c, (d = []));
    for (let i = 0; i < len; i++) d.push(u8[off + i]);
  }
  onWritable(c: number): void {
    this.events.push(`writable ${c}`);
  }
  onPeerClosed(c: number): void {
    this.events.push(`peerclosed ${c}`);
  }
  onClosed(c: number, reason: number): void {
    this.events.push(`closed ${c} ${reason}`);
    this.closed.set(c, reason);
  }
  bytes(c: number): Uint8Array {
    return Uint8Array.from(this.data.get(c) ?? []);
  }
}

/** One vaigAI node against a scripted peer, on a manual clock. */
export class ScriptRig {
  readonly clock = new ManualClock(1_000_000);
  readonly node: Node;
  readonly peer: ScriptPeer;

  constructor(opts: Partial<TcpOptions> = {}) {
    const [pa, pb] = createRingPair({ capacity: 1024 });
    this.node = new Node(pa.openQueue(0, new BufferPool(2048)), this.clock, A_MAC, A_IP, B_IP, B_MAC, opts);
    this.peer = new ScriptPeer(pb.openQueue(0, new BufferPool(512)), B_MAC, B_IP, A_MAC, A_IP);
  }

  get tcp(): TcpLayer {
    return this.node.tcp;
  }

  /** Peer sends `s`; the node processes it; returns what the node sent back. */
  exchange(s: Seg): Seg[] {
    this.peer.send(s);
    this.node.poll();
    return this.peer.recv();
  }

  /** Lets `us` of time pass (in 1 ms steps so timers fire on time); returns what the node sent. */
  advance(us: number): Seg[] {
    const end = this.clock.nowUs() + us;
    while (this.clock.nowUs() < end) {
      const step = Math.min(1000, end - this.clock.nowUs());
      this.clock.advance(step);
      this.node.poll();
    }
    return this.peer.recv();
  }

  /** What the node sent since the last look. */
  sent(): Seg[] {
    this.node.poll();
    return this.peer.recv();
  }
}

/**
 * Two vaigAI nodes back to back on a ring pair, one manual clock. Each
 * direction may carry a ring impairment spec (`loss=1%,delay=1ms,...`), seeded
 * by `seed` so a run repeats exactly.
 */
export class PairRig {
  readonly clock = new ManualClock(1_000_000);
  readonly client: Node;
  readonly server: Node;
  /** The client's port: its impairCounters() are the faults on frames towards the server. */
  readonly clientPort: ImpairedPort;
  readonly serverPort: ImpairedPort;

  constructor(opts: Partial<TcpOptions> = {}, toServer?: string, toClient?: string, seed = 1) {
    const [pa, pb] = createImpairedRingPair({ capacity: 4096, aToB: toServer, bToA: toClient, seed, clock: this.clock });
    this.clientPort = pa;
    this.serverPort = pb;
    this.client = new Node(pa.openQueue(0, new BufferPool(8192)), this.clock, A_MAC, A_IP, B_IP, B_MAC, { isnKey: Uint32Array.of(3, 4), ...opts });
    this.server = new Node(pb.openQueue(0, new BufferPool(8192)), this.clock, B_MAC, B_IP, A_IP, A_MAC, { isnKey: Uint32Array.of(5, 6), ...opts });
  }

  /** Polls both nodes; when nothing moved, lets 1 ms pass. Returns frames moved. */
  step(): number {
    const n = this.server.poll() + this.client.poll();
    if (n === 0) this.clock.advance(1000);
    return n;
  }
}

/** An established connection between the node (client) and the scripted peer (server at port 80). */
export interface Conn {
  rig: ScriptRig;
  app: Recorder;
  c: number;
  /** The node's port, and next sequence numbers of each side. */
  port: number;
  sndNxt: number;
  peerNxt: number;
  /** Last timestamp the node sent (for the peer's echo) when timestamps are on. */
  nodeTs: number;
}

/** Active open from the node; the peer answers with `peerOpts` (no options by default). */
export function openConn(rig: ScriptRig, peerOpts: Partial<Seg> = {}, peerWin = 65535): Conn {
  const app = new Recorder();
  const c = rig.tcp.connect(A_IP, B_IP, 80, app);
  assert.ok(c >= 0);
  const [syn] = rig.sent();
  const out = rig.exchange({ sport: 80, dport: syn.sport, seq: 7000, ack: syn.seq + 1, flags: 0x12, win: peerWin, ...peerOpts, ...(peerOpts.ts ? { ts: [peerOpts.ts[0], syn.ts![0]] as [number, number] } : {}) });
  assert.equal(out.length, 1);
  return { rig, app, c, port: syn.sport, sndNxt: syn.seq + 1, peerNxt: 7001, nodeTs: out[0].ts?.[0] ?? 0 };
}

/** An open connection whose peer allows SACK and an MSS of 1000, timestamps off; `base` is its first data sequence number. */
export function sackConn(opts: Partial<TcpOptions> = {}): { rig: ScriptRig; k: Conn; base: number } {
  const rig = new ScriptRig({ timestamps: false, ...opts });
  const k = openConn(rig, { mss: 1000, sackOk: true });
  return { rig, k, base: k.sndNxt };
}

/** An open connection (peer MSS 1000, SACK, no timestamps) whose handshake took `rttUs`: min_RTT and SRTT start there. */
export function rackConn(rttUs: number, opts: Partial<TcpOptions> = {}): { rig: ScriptRig; k: Conn; base: number } {
  const rig = new ScriptRig({ timestamps: false, cc: 'newreno', ...opts });
  const app = new Recorder();
  const c = rig.tcp.connect(A_IP, B_IP, 80, app);
  const [syn] = rig.sent();
  rig.advance(rttUs);
  const out = rig.exchange({ sport: 80, dport: syn.sport, seq: 7000, ack: syn.seq + 1, flags: 0x12, win: 65535, mss: 1000, sackOk: true });
  assert.equal(out.length, 1);
  const k: Conn = { rig, app, c, port: syn.sport, sndNxt: syn.seq + 1, peerNxt: 7001, nodeTs: 0 };
  return { rig, k, base: k.sndNxt };
}

/** A segment from the peer on `k` (defaults: ACK of everything sent, window 65535). */
export function fromPeer(k: Conn, s: Partial<Seg>): Seg {
  return { sport: 80, dport: k.port, seq: k.peerNxt, ack: k.sndNxt, flags: 0x10, win: 65535, ...s };
}

export function bytes(n: number, seed = 1): Uint8Array {
  const r = prng(seed);
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(r() * 256);
  return b;
}
