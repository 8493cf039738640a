/**
 * Frames and checks for port tests, on any queue that moves slot bursts.
 *
 * `probeFrame` builds a numbered 0x88b5 frame; `sendAll` / `rxAll` move frames
 * through a queue, bounded in count and time; `l4ChecksumOk` verifies a
 * received TCP/UDP checksum. `openTestQueue` opens a native port and its
 * queue 0 and closes both after the test. The two checks every driver's test
 * runs: `assertTxToPeer` (frames sent arrive at the kernel peer byte for byte,
 * as its counters and a tshark capture see them) and `assertFlowAffinity`
 * (UDP flows sent by the peer each stay on one queue and spread over all).
 */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { BufferPool } from '../../src/core/buffer_pool.js';
import { openNativePort, type NativePort, type NativeQueue } from '../../src/port/native.js';
import type { NetnsLab } from './netns.js';

/** Minimal view of a port queue, so the frame helpers do not depend on a driver. */
interface BurstQueue {
  readonly pool: { alloc(): number; free(s: number): void; write(s: number, b: Uint8Array): void; read(s: number): Uint8Array };
  rxBurst(out: Int32Array, max: number): number;
  txBurst(slots: Int32Array, n: number): number;
  stats(): { txFrames: number; txBytes: number };
}

/** "aa:bb:cc:dd:ee:ff" of a 6-byte MAC. */
export function macHex(mac: Uint8Array): string {
  return [...mac].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/**
 * A `len`-byte frame of the local experimental ethertype 0x88b5 (IEEE 802)
 * carrying `seq` (u16 little-endian) and a pattern derived from it.
 */
export function probeFrame(dst: Uint8Array, src: Uint8Array, seq: number, len: number): Uint8Array {
  const f = new Uint8Array(len);
  f.set(dst, 0);
  f.set(src, 6);
  f[12] = 0x88;
  f[13] = 0xb5;
  f[14] = seq & 0xff;
  f[15] = (seq >> 8) & 0xff;
  for (let i = 16; i < len; i++) f[i] = (seq + i) & 0xff;
  return f;
}

/** Sends all frames through the queue in bursts of 32 (retrying what the queue defers, for 5 s at most). */
export function sendAll(q: BurstQueue, frames: Uint8Array[]): number {
  const slots = new Int32Array(32);
  let sent = 0;
  const deadline = Date.now() + 5000;
  while (sent < frames.length && Date.now() < deadline) {
    const n = Math.min(32, frames.length - sent);
    for (let i = 0; i < n; i++) {
      slots[i] = q.pool.alloc();
      q.pool.write(slots[i], frames[sent + i]);
    }
    const k = q.txBurst(slots, n);
    for (let i = k; i < n; i++) q.pool.free(slots[i]);
    sent += k;
  }
  return sent;
}

/** Receives until `count` frames arrived or `ms` passed; returns copies, slots freed. */
export function rxAll(q: BurstQueue, count: number, ms: number): Uint8Array[] {
  const out = new Int32Array(64);
  const got: Uint8Array[] = [];
  const deadline = Date.now() + ms;
  while (got.length < count && Date.now() < deadline) {
    const n = q.rxBurst(out, 64);
    for (let i = 0; i < n; i++) {
      got.push(q.pool.read(out[i]));
      q.pool.free(out[i]);
    }
  }
  return got;
}

/** True when an untagged IPv4 TCP/UDP frame's L4 checksum verifies (RFC 1071 sum over pseudo-header). */
export function l4ChecksumOk(f: Uint8Array): boolean {
  const ihl = (f[14] & 0x0f) * 4;
  const total = (f[16] << 8) | f[17];
  const proto = f[23];
  const seg = total - ihl;
  let sum = proto + seg;
  for (let i = 26; i < 34; i += 2) sum += (f[i] << 8) | f[i + 1];
  const l4 = 14 + ihl;
  for (let i = 0; i < seg; i += 2) sum += (f[l4 + i] << 8) | (i + 1 < seg ? f[l4 + i + 1] : 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum === 0xffff;
}

/** A native port and its queue 0 over a fresh pool; both are closed after the test. */
export function openTestQueue(
  t: TestContext,
  driver: string,
  options: Record<string, string>,
  name: string,
  slots: number,
  burst: number,
  eal = '',
): { port: NativePort; pool: BufferPool; q: NativeQueue } {
  const port = openNativePort(driver, options, name, eal);
  t.after(() => port.close());
  const pool = new BufferPool(slots);
  const q = port.openQueue(0, pool, burst);
  t.after(() => q.close());
  return { port, pool, q };
}

/**
 * Sends `sent` through the queue and asserts that the kernel peer's interface
 * counted them, that tshark captured them byte for byte, and the queue's TX
 * counters.
 */
export async function assertTxToPeer(lab: NetnsLab, peerNs: string, peerIface: string, q: BurstQueue, sent: Uint8Array[]): Promise<void> {
  const n = sent.length;
  const rx0 = lab.counter(peerNs, peerIface, 'rx_packets');
  const cap = await lab.capture(peerNs, peerIface, 'ether proto 0x88b5', n);
  assert.equal(sendAll(q, sent), n, 'all frames accepted');
  const got = await cap.frames();
  assert.equal(lab.counter(peerNs, peerIface, 'rx_packets') - rx0, n, 'peer interface counted N frames');
  assert.equal(got.length, n, 'tshark captured N frames');
  for (let i = 0; i < n; i++) assert.deepEqual(got[i], sent[i], `frame ${i} identical on the wire`);
  const st = q.stats();
  assert.equal(st.txFrames, n);
  assert.equal(st.txBytes, sent.reduce((a, f) => a + f.length, 0));
}

export interface FlowSpec {
  flows: number;
  /** Frames per flow. */
  per: number;
  /** IPv4 source (the peer) and destination of the flows. */
  src: string;
  dst: string;
}

/**
 * The peer (scapy in `peerNs`, out of `peerIface`) sends `per` rounds of
 * `flows` UDP flows (source ports 20000..) to `dstMac`; asserts that every
 * frame arrived, each flow on one queue only, and that every queue got flows
 * (the flow hash of fanout, RSS or veth's TX queue choice).
 */
export function assertFlowAffinity(
  lab: NetnsLab,
  peerNs: string,
  peerIface: string,
  dstMac: Uint8Array,
  qs: BurstQueue[],
  f: FlowSpec,
): void {
  lab.scapy(
    peerNs,
    `sendp([Ether(dst='${macHex(dstMac)}')/IP(src='${f.src}', dst='${f.dst}')/UDP(sport=20000 + f, dport=9)/Raw(bytes(20))
      for _ in range(${f.per}) for f in range(${f.flows})], iface='${peerIface}')`,
  );
  const queuesOfFlow = new Map<number, Set<number>>();
  const out = new Int32Array(64);
  let total = 0;
  const deadline = Date.now() + 5000;
  while (total < f.flows * f.per && Date.now() < deadline) {
    for (let qi = 0; qi < qs.length; qi++) {
      const n = qs[qi].rxBurst(out, 64);
      for (let i = 0; i < n; i++) {
        const fr = qs[qi].pool.read(out[i]);
        qs[qi].pool.free(out[i]);
        if (fr[12] !== 0x08 || fr[13] !== 0x00 || fr[23] !== 17) continue; // IPv4 UDP from the peer only
        const sport = (fr[34] << 8) | fr[35];
        queuesOfFlow.set(sport, (queuesOfFlow.get(sport) ?? new Set<number>()).add(qi));
        total++;
      }
    }
  }
  assert.equal(total, f.flows * f.per, 'all frames arrived');
  assert.equal(queuesOfFlow.size, f.flows, 'every flow arrived');
  const split = [...queuesOfFlow].filter(([, s]) => s.size > 1).map(([sport]) => sport);
  assert.deepEqual(split, [], 'no flow split over queues');
  const used = new Set([...queuesOfFlow.values()].flatMap((s) => [...s]));
  assert.equal(used.size, qs.length, `${f.flows} flows spread over all ${qs.length} queues`);
}
