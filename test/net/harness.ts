/**
 * A NetStack on one end of an in-memory ring, the test on the other end:
 * the test builds frames with the wire emitters, pumps the stack with a
 * ManualClock and reads back what it transmitted.
 */
import { ManualClock } from '../../src/common/clock.js';
import { BufferPool } from '../../src/core/buffer_pool.js';
import { createRingPair } from '../../src/port/ring.js';
import type { PortQueue } from '../../src/port/port.js';
import { NetStack, type NetStackConfig } from '../../src/net/stack.js';
import { L4_OFF } from '../../src/net/layout.js';
import type { L4Handler } from '../../src/net/l4.js';
import { emitArp, ARP_HDR_LEN, type ArpRepr } from '../../src/wire/arp.js';
import { emitEthernet, newEthernetRepr, ETH_TYPE_ARP, ETH_TYPE_IPV4, parseEthernet, type EthernetRepr } from '../../src/wire/ethernet.js';
import { emitIpv4, newIpv4Repr, IPV4_HDR_LEN } from '../../src/wire/ipv4.js';
import { emitIcmp, newIcmpRepr, ICMP_ECHO_REQUEST, ICMP_HDR_LEN } from '../../src/wire/icmp.js';
import { parseIp } from '../../src/wire/ipv4_addr.js';

export const STACK_MAC = 0x027667000001;
export const PEER_MAC = 0x02aabbccdd01;
export const ip = (s: string): number => parseIp(s);

export class Harness {
  readonly clock = new ManualClock(1_000_000);
  readonly stack: NetStack;
  readonly peerPool = new BufferPool(256);
  readonly peer: PortQueue;
  readonly queue: PortQueue;
  private readonly rx = new Int32Array(256);

  constructor(cfg: Partial<NetStackConfig> = {}) {
    const [a, b] = createRingPair({ capacity: 512 });
    const q = a.openQueue(0, new BufferPool(1024));
    this.queue = q;
    this.peer = b.openQueue(0, this.peerPool);
    this.stack = new NetStack({
      queue: q,
      clock: this.clock,
      mac: STACK_MAC,
      addrs: [{ lo: ip('198.18.0.10'), hi: ip('198.18.0.12'), prefixLen: 24, vlan: -1 }],
      routes: [],
      arp: { gratuitous: false },
      ...cfg,
    });
  }

  /** Sends `frame` from the peer side, then runs the stack (one RX burst, a tick, a flush). */
  send(...frames: Uint8Array[]): void {
    for (const f of frames) {
      const s = this.peerPool.alloc();
      this.peerPool.write(s, f);
      this.peer.txBurst(Int32Array.of(s), 1);
    }
    this.pump();
  }

  pump(): void {
    const n = this.queue.rxBurst(this.rx, this.rx.length);
    this.stack.input(this.rx, n, this.clock.nowUs());
    this.stack.tick(this.clock.nowUs());
    this.stack.flush();
  }

  /** Frames the stack transmitted since the last call. */
  received(): Uint8Array[] {
    const out: Uint8Array[] = [];
    const buf = new Int32Array(256);
    for (;;) {
      const n = this.peer.rxBurst(buf, buf.length);
      if (n === 0) return out;
      for (let i = 0; i < n; i++) {
        out.push(this.peerPool.read(buf[i]));
        this.peerPool.free(buf[i]);
      }
    }
  }
}

export function dvOf(f: Uint8Array): DataView {
  return new DataView(f.buffer, f.byteOffset, f.byteLength);
}

export function parseEth(f: Uint8Array): EthernetRepr {
  const e = newEthernetRepr();
  const err = parseEthernet(dvOf(f), 0, f.length, e);
  if (err !== 0) throw new Error(`stack sent a bad Ethernet frame (${err})`);
  return e;
}

function ethFrame(l3Len: number, ethertype: number, dst: number, vlan: number, src = PEER_MAC): [Uint8Array, DataView, number] {
  const hdr = vlan >= 0 ? 18 : 14;
  const f = new Uint8Array(Math.max(hdr + l3Len, 60));
  const dv = dvOf(f);
  const e = newEthernetRepr();
  e.dst = dst;
  e.src = src;
  e.ethertype = ethertype;
  e.vlanId = vlan;
  emitEthernet(e, dv, 0);
  return [f, dv, hdr];
}

export function arpFrame(a: ArpRepr, dst = 0xffffffffffff, vlan = -1): Uint8Array {
  const [f, dv, hdr] = ethFrame(ARP_HDR_LEN, ETH_TYPE_ARP, dst, vlan, a.sha);
  emitArp(a, dv, hdr);
  return f;
}

/** An IPv4 datagram with `payload` (L4 bytes as given). */
export function ipv4Frame(src: number, dst: number, proto: number, payload: Uint8Array, vlan = -1, dstMac = STACK_MAC): Uint8Array {
  const [f, dv, hdr] = ethFrame(IPV4_HDR_LEN + payload.length, ETH_TYPE_IPV4, dstMac, vlan);
  const r = newIpv4Repr();
  r.totalLen = IPV4_HDR_LEN + payload.length;
  r.ttl = 64;
  r.proto = proto;
  r.src = src;
  r.dst = dst;
  r.ident = 0x1234;
  f.set(payload, hdr + IPV4_HDR_LEN);
  emitIpv4(r, dv, hdr);
  return f;
}

export function echoRequest(src: number, dst: number, ident: number, seq: number, data = 56, vlan = -1): Uint8Array {
  const p = new Uint8Array(ICMP_HDR_LEN + data);
  for (let i = 0; i < data; i++) p[ICMP_HDR_LEN + i] = (i * 13) & 0xff;
  const m = newIcmpRepr();
  m.type = ICMP_ECHO_REQUEST;
  m.ident = ident;
  m.seq = seq;
  m.payloadLen = data;
  emitIcmp(m, dvOf(p), 0);
  return ipv4Frame(src, dst, 1, p, vlan);
}

/** Records what the stack reports to a transport. */
export class Recorder implements L4Handler {
  readonly errors: number[][] = [];
  readonly inputs: number[][] = [];
  constructor(private readonly h: Harness) {}
  input(slot: number, _l3: number, _l4Off: number, l4Len: number, src: number, dst: number): void {
    this.inputs.push([l4Len, src, dst]);
    this.h.stack.pool.free(slot);
  }
  icmpError(code: number, src: number, dst: number, proto: number, sp: number, dp: number): void {
    this.errors.push([code, src, dst, proto, sp, dp]);
  }
  burstEnd(): void {}
  tick(): void {}
  busy(): boolean {
    return false;
  }
}

/** Sends a 20-byte fake TCP segment from `src:1234` to `dst:80`. */
export function sendSegment(h: Harness, src: number, dst: number): void {
  const pool = h.stack.pool;
  const s = pool.alloc();
  const l4 = pool.base(s) + L4_OFF;
  pool.u8.fill(0, l4, l4 + 20);
  pool.dv.setUint16(l4, 1234);
  pool.dv.setUint16(l4 + 2, 80);
  h.stack.outputIpv4(s, src, dst, 6, 20);
  h.stack.flush();
}

