/**
 * The network layer's two figures, each beside a peer measured in the same run:
 * - LPM lookups/s with 10k routes: the DIR-24-8 table vs a Map per prefix
 *   length probed longest first (what a JS program would write first);
 * - ICMP echo turnaround on the in-memory ring, one core: requests from a
 *   pinger on the peer end, replies built in place by the NetStack, vs a
 *   naive responder that allocates per packet (copy, new DataView, full
 *   checksums), driven by the same loop.
 *
 * - with root and the native addon: the kernel's `ping -f` rate from a peer
 *   namespace to vaigai (af_packet, its own poll loop) vs to a kernel
 *   namespace across an identical veth, in the same run.
 *
 * Usage: node dist/bench/net.js [seconds per figure = 1]
 */
import { ManualClock } from '../src/common/clock.js';
import { BufferPool } from '../src/core/buffer_pool.js';
import { TxBatch } from '../src/port/tx_batch.js';
import { Lpm } from '../src/net/lpm.js';
import { NetStack } from '../src/net/stack.js';
import { createRingPair } from '../src/port/ring.js';
import type { PortQueue } from '../src/port/port.js';
import { internetChecksum } from '../src/wire/checksum.js';
import { prefixMask } from '../src/wire/ipv4_addr.js';
import { nativeDrivers } from '../src/port/native.js';
import { NetnsLab, netTestSkipReason } from '../test/helpers/netns.js';
import { echoRequest, ip, PEER_MAC, STACK_MAC } from '../test/net/harness.js';
import { VaigaiProc } from '../test/net/vaigai_proc.js';

const seconds = Number(process.argv[2] ?? 1);

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0);
}

/** Lookups per second of `lookup` over `addrs`, repeated for `seconds`; the checksum keeps results live. */
function rate(addrs: Uint32Array, lookup: (a: number) => number): [number, number] {
  let n = 0;
  let sum = 0;
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  while (performance.now() < end) {
    for (let i = 0; i < addrs.length; i++) sum = (sum + lookup(addrs[i])) | 0;
    n += addrs.length;
  }
  return [n / ((performance.now() - t0) / 1000), sum];
}

function benchLpm(): void {
  const r = rng(42);
  const lpm = new Lpm(16384, 4096);
  const maps = new Map<number, Map<number, number>>();
  for (let i = 0; i < 10_000; i++) {
    // Mostly /16../24 with some longer, as a routing table towards many sites.
    const len = i % 10 === 0 ? 25 + (r() % 8) : 16 + (r() % 9);
    const p = ((r() & 0x3fffffff) & prefixMask(len)) >>> 0;
    lpm.add(p, len, i);
    let m = maps.get(len);
    if (m === undefined) maps.set(len, (m = new Map()));
    m.set(p, i);
  }
  lpm.add(0, 0, 10_000);
  maps.set(0, new Map([[0, 10_000]]));
  const lens = [...maps.keys()].sort((a, b) => b - a);
  const masks = lens.map(prefixMask);
  const tables = lens.map((l) => maps.get(l) as Map<number, number>);
  const mapLookup = (a: number): number => {
    for (let k = 0; k < tables.length; k++) {
      const v = tables[k].get((a & masks[k]) >>> 0);
      if (v !== undefined) return v;
    }
    return -1;
  };
  const addrs = new Uint32Array(1 << 16);
  for (let i = 0; i < addrs.length; i++) addrs[i] = r() & 0x3fffffff;
  for (let i = 0; i < addrs.length; i++) {
    if (lpm.lookup(addrs[i]) !== mapLookup(addrs[i])) throw new Error(`lookup mismatch at ${addrs[i]}`);
  }
  const [dir] = rate(addrs, (a) => lpm.lookup(a));
  const [map] = rate(addrs, mapLookup);
  console.log(`lpm 10k routes: DIR-24-8 ${(dir / 1e6).toFixed(1)} M lookups/s, Map per length ${(map / 1e6).toFixed(1)} M/s, ratio ${(dir / map).toFixed(1)}x`);
}

/** Something that answers echo requests arriving on a queue. */
interface Responder {
  input(slots: Int32Array, n: number, nowUs: number): void;
  flush(): void;
}

/** The peer: parses with fresh objects and rebuilds the reply in a new buffer, as straightforward JS would. */
class NaiveResponder implements Responder {
  private readonly tx: TxBatch;
  constructor(private readonly q: PortQueue) {
    this.tx = new TxBatch(q);
  }
  input(slots: Int32Array, n: number): void {
    const pool = this.q.pool;
    for (let i = 0; i < n; i++) {
      const f = pool.read(slots[i]);
      pool.free(slots[i]);
      const dv = new DataView(f.buffer);
      if (dv.getUint16(12) !== 0x0800 || f[23] !== 1 || f[34] !== 8) continue;
      const reply = Uint8Array.from(f);
      const rv = new DataView(reply.buffer);
      reply.set(f.subarray(6, 12), 0);
      reply.set([0x02, 0x76, 0x67, 0, 0, 1], 6);
      reply.set(f.subarray(30, 34), 26);
      reply.set(f.subarray(26, 30), 30);
      rv.setUint16(24, 0);
      rv.setUint16(24, internetChecksum(reply, 14, 20));
      reply[34] = 0;
      rv.setUint16(36, 0);
      rv.setUint16(36, internetChecksum(reply, 34, dv.getUint16(16) - 20));
      const s = pool.alloc();
      pool.write(s, reply);
      this.tx.push(s);
    }
  }
  flush(): void {
    this.tx.flush();
  }
}

/** Echo replies per second through `make`'s responder, the pinger keeping 64 requests in flight. */
function echoRate(make: (q: PortQueue) => Responder): number {
  const [a, b] = createRingPair({ capacity: 1024 });
  // One pool for both ends: the ring hands slots over instead of copying them.
  const pool = new BufferPool(4096);
  const qa = a.openQueue(0, pool);
  const pinger = b.openQueue(0, pool);
  const resp = make(qa);
  const req = echoRequest(ip('198.18.0.1'), ip('198.18.0.10'), 1, 1);
  const slots = new Int32Array(64);
  const rx = new Int32Array(64);
  let replies = 0;
  let inFlight = 0;
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  let now = 0;
  while (performance.now() < end) {
    for (let round = 0; round < 100; round++) {
      let k = 0;
      while (inFlight + k < 64) {
        const s = pinger.pool.alloc();
        pinger.pool.write(s, req);
        slots[k++] = s;
      }
      inFlight += pinger.txBurst(slots, k);
      const n = qa.rxBurst(rx, 64);
      resp.input(rx, n, now++);
      resp.flush();
      const m = pinger.rxBurst(rx, 64);
      for (let i = 0; i < m; i++) pinger.pool.free(rx[i]);
      replies += m;
      inFlight -= m;
    }
  }
  return replies / ((performance.now() - t0) / 1000);
}

function benchEcho(): void {
  const stackRate = echoRate((q) => {
    const s = new NetStack({
      queue: q,
      clock: new ManualClock(),
      mac: STACK_MAC,
      addrs: [{ lo: ip('198.18.0.10'), hi: ip('198.18.0.12'), prefixLen: 24, vlan: -1 }],
      routes: [],
      arp: { gratuitous: false },
    });
    s.arpCache.insert(ip('198.18.0.1'), -1, PEER_MAC, 0);
    return s;
  });
  const naive = echoRate((q) => new NaiveResponder(q));
  console.log(`icmp echo on the ring, one core: NetStack ${(stackRate / 1e6).toFixed(2)} M replies/s, naive allocating responder ${(naive / 1e6).toFixed(2)} M/s, ratio ${(stackRate / naive).toFixed(1)}x`);
}

/** Replies per second `ping -f -c count` got (count / ping's own elapsed time). */
function floodRate(lab: NetnsLab, ns: string, dst: string, count: number): number {
  const out = lab.run(ns, 'ping', ['-f', '-q', '-n', '-c', String(count), '-W', '1', dst]);
  const m = /(\d+) received.*time (\d+)ms/s.exec(out);
  if (m === null) throw new Error(`unexpected ping output: ${out}`);
  return Number(m[1]) / (Number(m[2]) / 1000);
}

async function benchFlood(): Promise<void> {
  const skip = netTestSkipReason(['ping']) ?? (nativeDrivers().includes('af_packet') ? null : 'af_packet driver not built');
  if (skip !== null) {
    console.log(`ping -f across veth: skipped (${skip})`);
    return;
  }
  const lab = new NetnsLab('vgnetb-');
  try {
    const peer = lab.addNs('peer');
    const gen = lab.addNs('gen');
    const kern = lab.addNs('kern');
    lab.addVeth({ name: 'vgnetb-g', ns: gen }, { name: 'vgnetb-p0', ns: peer });
    lab.addVeth({ name: 'vgnetb-k', ns: kern }, { name: 'vgnetb-p1', ns: peer });
    lab.run(peer, 'ip', ['addr', 'add', '198.18.0.1/24', 'dev', 'vgnetb-p0']);
    lab.run(peer, 'ip', ['addr', 'add', '198.18.1.1/24', 'dev', 'vgnetb-p1']);
    lab.run(kern, 'ip', ['addr', 'add', '198.18.1.2/24', 'dev', 'vgnetb-k']);
    const v = await VaigaiProc.start(lab, gen, ['--port', 'af_packet:iface=vgnetb-g', '--src-ip', '198.18.0.10']);
    const count = Math.max(2000, Math.round(20_000 * seconds));
    try {
      const ours = floodRate(lab, peer, '198.18.0.10', count);
      const kernel = floodRate(lab, peer, '198.18.1.2', count);
      console.log(`ping -f across veth (one in flight): vaigai ${(ours / 1e3).toFixed(1)} k replies/s, kernel ${(kernel / 1e3).toFixed(1)} k/s, ratio ${(ours / kernel).toFixed(2)}x`);
    } finally {
      await v.stop();
    }
  } finally {
    lab.cleanup();
  }
}

benchLpm();
benchEcho();
await benchFlood();
