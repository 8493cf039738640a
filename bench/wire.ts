/**
 * Wire layer cost per frame on one core: parse Ethernet + IPv4 + TCP with
 * options (with and without checksum verification) and emit a whole TCP/IPv4
 * frame with both checksums. The peer, run alternately in the same process, does
 * the same work with Node Buffer read/write methods. Prints ns per frame and
 * the ratio peer / wire (above 1: the wire layer is faster).
 *
 *   node dist/bench/wire.js [--frames N] [--rounds R]
 */
import { BufferPool } from '../src/core/buffer_pool.js';
import { fold, sum16Dv, pseudoHeaderSum } from '../src/wire/checksum.js';
import { WireError } from '../src/wire/error.js';
import { emitEthernet, newEthernetRepr, parseEthernet, ETH_TYPE_IPV4 } from '../src/wire/ethernet.js';
import { emitIpv4, newIpv4Repr, parseIpv4, IPV4_PROTO_TCP } from '../src/wire/ipv4.js';
import { emitTcp, newTcpRepr, parseTcp, tcpChecksumOk, tcpFinishChecksum, TCP_ACK, TCP_PSH } from '../src/wire/tcp.js';
import { emitTcpOptions, newTcpOptionsRepr, parseTcpOptions } from '../src/wire/tcp_options.js';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}
const FRAMES = arg('--frames', 1_000_000);
const ROUNDS = arg('--rounds', 5);
const SLOTS = 256;
const SRC = 0xc612fa01;
const DST = 0xc612fa02;

const eth = newEthernetRepr();
const ip = newIpv4Repr();
const tcp = newTcpRepr();
const opts = newTcpOptionsRepr();

// ---- the wire layer ----

/** Emits a frame into `off`: Ethernet, IPv4, TCP with timestamps (and `opts.sackCount` SACK blocks), `payload` bytes. */
function wireEmit(dv: DataView, off: number, seq: number, payload: number): number {
  const l3 = off + emitEthernet(eth, dv, off);
  const l4 = l3 + 20;
  const optLen = emitTcpOptions(opts, dv, l4 + 20);
  tcp.seq = seq;
  tcp.dataOff = 20 + optLen;
  emitTcp(tcp, dv, l4);
  const segLen = tcp.dataOff + payload;
  tcpFinishChecksum(dv, l4, segLen, SRC, DST);
  ip.totalLen = 20 + segLen;
  emitIpv4(ip, dv, l3);
  return 14 + ip.totalLen;
}

let sink = 0;

function wireParse(dv: DataView, off: number, len: number, verify: boolean): number {
  if (parseEthernet(dv, off, len, eth) !== WireError.OK || eth.ethertype !== ETH_TYPE_IPV4) return -1;
  const l3 = off + eth.hdrLen;
  if (parseIpv4(dv, l3, len - eth.hdrLen, ip, verify) !== WireError.OK || ip.proto !== IPV4_PROTO_TCP) return -1;
  const l4 = l3 + ip.ihl;
  const segLen = ip.totalLen - ip.ihl;
  if (parseTcp(dv, l4, segLen, tcp) !== WireError.OK) return -1;
  if (verify && !tcpChecksumOk(dv, l4, segLen, ip.src, ip.dst)) return -1;
  if (parseTcpOptions(dv, tcp.optOff, tcp.optLen, opts) !== WireError.OK) return -1;
  return tcp.seq + opts.tsVal + tcp.payloadLen;
}

// ---- the peer: the same work with Buffer methods ----

function bufSum(b: Buffer, off: number, len: number, acc: number): number {
  const end = off + (len & ~1);
  for (let i = off; i < end; i += 2) acc += b.readUInt16BE(i);
  if (len & 1) acc += b[end] << 8;
  return acc;
}
function bufCsum(acc: number): number {
  while (acc > 0xffff) acc = (acc & 0xffff) + (acc >>> 16);
  return acc;
}

function bufEmit(b: Buffer, off: number, seq: number, payload: number): number {
  b.writeUIntBE(eth.dst, off, 6);
  b.writeUIntBE(eth.src, off + 6, 6);
  b.writeUInt16BE(eth.ethertype, off + 12);
  const l3 = off + 14;
  const l4 = l3 + 20;
  const o = l4 + 20;
  b.writeUInt32BE(0x0101080a, o);
  b.writeUInt32BE(opts.tsVal, o + 4);
  b.writeUInt32BE(opts.tsEcr, o + 8);
  let dataOff = 20 + 12;
  if (opts.sackCount > 0) {
    b.writeUInt32BE(0x0101050a, o + 12);
    b.writeUInt32BE(opts.sackBlocks[0], o + 16);
    b.writeUInt32BE(opts.sackBlocks[1], o + 20);
    dataOff += 12;
  }
  b.writeUInt16BE(tcp.srcPort, l4);
  b.writeUInt16BE(tcp.dstPort, l4 + 2);
  b.writeUInt32BE(seq, l4 + 4);
  b.writeUInt32BE(tcp.ack, l4 + 8);
  b.writeUInt16BE(((dataOff >>> 2) << 12) | tcp.flags, l4 + 12);
  b.writeUInt16BE(tcp.window, l4 + 14);
  b.writeUInt16BE(0, l4 + 16);
  b.writeUInt16BE(tcp.urgent, l4 + 18);
  const segLen = dataOff + payload;
  b.writeUInt16BE(~bufCsum(bufSum(b, l4, segLen, pseudoHeaderSum(SRC, DST, IPV4_PROTO_TCP, segLen))) & 0xffff, l4 + 16);
  b.writeUInt8(0x45, l3);
  b.writeUInt8(ip.tos, l3 + 1);
  b.writeUInt16BE(20 + segLen, l3 + 2);
  b.writeUInt16BE(ip.ident, l3 + 4);
  b.writeUInt16BE(0x4000, l3 + 6);
  b.writeUInt8(ip.ttl, l3 + 8);
  b.writeUInt8(ip.proto, l3 + 9);
  b.writeUInt16BE(0, l3 + 10);
  b.writeUInt32BE(ip.src, l3 + 12);
  b.writeUInt32BE(ip.dst, l3 + 16);
  b.writeUInt16BE(~bufCsum(bufSum(b, l3, 20, 0)) & 0xffff, l3 + 10);
  return 14 + 20 + segLen;
}

function bufParse(b: Buffer, off: number, len: number, verify: boolean): number {
  if (len < 14 || b.readUInt16BE(off + 12) !== 0x0800) return -1;
  const l3 = off + 14;
  const l3Len = len - 14;
  if (l3Len < 20) return -1;
  const vi = b.readUInt8(l3);
  const ihl = (vi & 15) << 2;
  if (vi >>> 4 !== 4 || ihl < 20 || ihl > l3Len) return -1;
  const totalLen = b.readUInt16BE(l3 + 2);
  if (totalLen < ihl || totalLen > l3Len) return -1;
  if (verify && bufCsum(bufSum(b, l3, ihl, 0)) !== 0xffff) return -1;
  if (b.readUInt8(l3 + 9) !== 6) return -1;
  const srcIp = b.readUInt32BE(l3 + 12);
  const dstIp = b.readUInt32BE(l3 + 16);
  const l4 = l3 + ihl;
  const segLen = totalLen - ihl;
  if (segLen < 20) return -1;
  const dataOff = (b.readUInt8(l4 + 12) >>> 4) << 2;
  if (dataOff < 20 || dataOff > segLen) return -1;
  if (verify && bufCsum(bufSum(b, l4, segLen, pseudoHeaderSum(srcIp, dstIp, 6, segLen))) !== 0xffff) return -1;
  const seq = b.readUInt32BE(l4 + 4);
  b.readUInt32BE(l4 + 8);
  b.readUInt16BE(l4);
  b.readUInt16BE(l4 + 2);
  b.readUInt16BE(l4 + 14);
  let tsVal = 0;
  const end = l4 + dataOff;
  for (let i = l4 + 20; i < end; ) {
    const kind = b[i];
    if (kind === 0) break;
    if (kind === 1) {
      i++;
      continue;
    }
    if (i + 1 >= end) return -1;
    const l = b[i + 1];
    if (l < 2 || i + l > end) return -1;
    if (kind === 8) {
      if (l !== 10) return -1;
      tsVal = b.readUInt32BE(i + 2);
      b.readUInt32BE(i + 6);
    } else if (kind === 5) {
      for (let k = i + 2; k < i + l; k += 4) b.readUInt32BE(k);
    }
    i += l;
  }
  return seq + tsVal + (segLen - dataOff);
}

// ---- harness ----

function setup(): void {
  Object.assign(eth, { dst: 0x027667fa0002, src: 0x027667fa0001, ethertype: ETH_TYPE_IPV4, vlanId: -1 });
  Object.assign(ip, { ihl: 20, tos: 0, ident: 0x1234, df: true, mf: false, fragOff: 0, ttl: 64, proto: IPV4_PROTO_TCP, src: SRC, dst: DST });
  Object.assign(tcp, { srcPort: 40000, dstPort: 80, ack: 0x01020304, flags: TCP_ACK | TCP_PSH, window: 501, urgent: 0 });
  Object.assign(opts, { mss: -1, wscale: -1, sackPermitted: false, hasTimestamps: true, tsVal: 123456, tsEcr: 654321, sackCount: 0 });
  opts.sackBlocks.set([1000, 2000]);
}

type Body = (pool: BufferPool, buf: Buffer, n: number, payload: number) => void;

const bodies: Record<string, Body> = {
  'wire parse+verify': (pool, _b, n) => {
    for (let i = 0; i < n; i++) {
      const s = i & (SLOTS - 1);
      sink += wireParse(pool.dv, pool.base(s), pool.dataLen[s], true);
    }
  },
  'buffer parse+verify': (pool, b, n) => {
    for (let i = 0; i < n; i++) {
      const s = i & (SLOTS - 1);
      sink += bufParse(b, pool.base(s), pool.dataLen[s], true);
    }
  },
  'wire parse': (pool, _b, n) => {
    for (let i = 0; i < n; i++) {
      const s = i & (SLOTS - 1);
      sink += wireParse(pool.dv, pool.base(s), pool.dataLen[s], false);
    }
  },
  'buffer parse': (pool, b, n) => {
    for (let i = 0; i < n; i++) {
      const s = i & (SLOTS - 1);
      sink += bufParse(b, pool.base(s), pool.dataLen[s], false);
    }
  },
  'wire emit': (pool, _b, n, payload) => {
    for (let i = 0; i < n; i++) {
      const s = i & (SLOTS - 1);
      pool.dataLen[s] = wireEmit(pool.dv, pool.base(s), i, payload);
    }
  },
  'buffer emit': (pool, b, n, payload) => {
    for (let i = 0; i < n; i++) {
      const s = i & (SLOTS - 1);
      pool.dataLen[s] = bufEmit(b, pool.base(s), i, payload);
    }
  },
};

/**
 * CPU time (user + system) per frame rather than wall time: the machine is
 * shared, and time spent descheduled is not the code's cost.
 */
function nsPerFrame(body: Body, pool: BufferPool, buf: Buffer, n: number, payload: number): number {
  const t0 = process.cpuUsage();
  body(pool, buf, n, payload);
  const t = process.cpuUsage(t0);
  return ((t.user + t.system) * 1000) / n;
}

function fill(pool: BufferPool, payload: number): void {
  for (let s = 0; s < SLOTS; s++) pool.dataLen[s] = wireEmit(pool.dv, pool.base(s), s * 7919, payload);
}

/** Both implementations must produce the same bytes and accept each other's frames, or the comparison means nothing. */
function crossCheck(pool: BufferPool, buf: Buffer, payload: number): void {
  const a = pool.alloc();
  const b = pool.alloc();
  const la = wireEmit(pool.dv, pool.base(a), 77, payload);
  const lb = bufEmit(buf, pool.base(b), 77, payload);
  if (la !== lb || Buffer.compare(buf.subarray(pool.base(a), pool.base(a) + la), buf.subarray(pool.base(b), pool.base(b) + lb)) !== 0) {
    throw new Error('wire and Buffer emitters disagree');
  }
  const want = wireParse(pool.dv, pool.base(a), la, true);
  if (want < 0 || bufParse(buf, pool.base(a), la, true) !== want) throw new Error('wire and Buffer parsers disagree');
  if (fold(sum16Dv(pool.dv, pool.base(a) + 14, 20)) !== 0xffff) throw new Error('bad IPv4 checksum');
  pool.free(a);
  pool.free(b);
}

function main(): void {
  setup();
  const pool = new BufferPool(SLOTS + 2);
  for (let s = 0; s < SLOTS; s++) pool.alloc();
  const buf = Buffer.from(pool.buffer);
  console.log(`wire bench: ${FRAMES} frames x ${ROUNDS} rounds, best round's CPU time, node ${process.version}`);
  // An established connection's segments: timestamps only (the common case),
  // with a SACK block (during loss recovery), and full-size.
  const configs = [
    { sack: 0, payload: 0, what: 'timestamps' },
    { sack: 1, payload: 0, what: 'timestamps + 1 SACK block' },
    { sack: 0, payload: 1448, what: 'timestamps, 1448 B payload' },
  ];
  for (const { sack, payload, what } of configs) {
    opts.sackCount = sack;
    crossCheck(pool, buf, payload);
    fill(pool, payload);
    const n = payload === 0 ? FRAMES : Math.max(1, FRAMES >> 3);
    const best: Record<string, number> = {};
    for (const name of Object.keys(bodies)) bodies[name](pool, buf, Math.min(n, 50_000), payload); // warm up
    fill(pool, payload);
    for (let r = 0; r < ROUNDS; r++) {
      // Parses first (they read the filled slots), then emits (they rewrite them alike).
      for (const [name, body] of Object.entries(bodies)) {
        if (!name.endsWith('emit')) best[name] = Math.min(best[name] ?? Infinity, nsPerFrame(body, pool, buf, n, payload));
      }
      for (const [name, body] of Object.entries(bodies)) {
        if (name.endsWith('emit')) best[name] = Math.min(best[name] ?? Infinity, nsPerFrame(body, pool, buf, n, payload));
      }
    }
    console.log(`\n${pool.dataLen[0]}-byte frames: Ethernet + IPv4 + TCP, ${what}`);
    for (const op of ['parse+verify', 'parse', 'emit']) {
      const w = best[`wire ${op}`];
      const b = best[`buffer ${op}`];
      console.log(`  ${op.padEnd(13)} wire ${w.toFixed(1).padStart(7)} ns/frame   Buffer ${b.toFixed(1).padStart(7)} ns/frame   ratio ${(b / w).toFixed(2)}x`);
    }
  }
  if (sink === 0.5) console.log(sink); // keeps the parse results live
}

main();
