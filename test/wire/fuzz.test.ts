/**
 * Random and mutated frames through every checked parser: none may throw, and
 * none may read outside the bytes it was given (each case sits at the very end
 * of its ArrayBuffer, so a read past it raises a RangeError). What a parser
 * accepts must describe bytes inside the frame.
 *
 * 20,000 cases by default; FUZZ_COUNT=n or `--full` (1,000,000, scripts/fuzz.sh)
 * for more; FUZZ_SEED=s to replay. A failure prints the seed, case and bytes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newArpRepr, parseArp } from '../../src/wire/arp.js';
import { WireError } from '../../src/wire/error.js';
import { emitEthernet, newEthernetRepr, parseEthernet, ETH_TYPE_ARP, ETH_TYPE_IPV4 } from '../../src/wire/ethernet.js';
import { newIcmpRepr, parseIcmp } from '../../src/wire/icmp.js';
import { emitIpv4, newIpv4Repr, parseIpv4, IPV4_PROTO_ICMP, IPV4_PROTO_TCP } from '../../src/wire/ipv4.js';
import { emitTcp, newTcpRepr, parseTcp, tcpChecksumOk, tcpFinishChecksum, TCP_ACK, TCP_PSH } from '../../src/wire/tcp.js';
import { emitTcpOptions, newTcpOptionsRepr, parseTcpOptions } from '../../src/wire/tcp_options.js';
import { newVlanRepr, parseVlan } from '../../src/wire/vlan.js';
import { toHex } from './bytes.js';
import { FIXTURES, readPcap } from './pcap_reader.js';

const COUNT = process.env.FUZZ_COUNT ? Number(process.env.FUZZ_COUNT) : process.argv.includes('--full') ? 1_000_000 : 20_000;
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) >>> 0 : 0x5eed2026;

/** xorshift32: small, seedable, good enough to pick mutations. */
class Rng {
  constructor(private s: number) {
    if (this.s === 0) this.s = 1;
  }
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }
  below(n: number): number {
    return this.next() % n;
  }
}

/** A tagged TCP frame with IP options, timestamps and three SACK blocks: reaches every branch of the chain. */
function taggedSackFrame(): Uint8Array {
  const u8 = new Uint8Array(18 + 24 + 60 + 16);
  const dv = new DataView(u8.buffer);
  const eth = newEthernetRepr();
  Object.assign(eth, { dst: 0x027667fa0002, src: 0x027667fa0001, ethertype: ETH_TYPE_IPV4, vlanId: 42, vlanPcp: 3 });
  const l3 = emitEthernet(eth, dv, 0);
  const opts = newTcpOptionsRepr();
  Object.assign(opts, { hasTimestamps: true, tsVal: 7, tsEcr: 9, sackCount: 3 });
  opts.sackBlocks.set([100, 200, 300, 400, 500, 600]);
  const l4 = l3 + 24;
  const optLen = emitTcpOptions(opts, dv, l4 + 20);
  const tcp = newTcpRepr();
  Object.assign(tcp, { srcPort: 40000, dstPort: 80, seq: 1, ack: 2, dataOff: 20 + optLen, flags: TCP_ACK | TCP_PSH, window: 512 });
  emitTcp(tcp, dv, l4);
  const segLen = 20 + optLen + 16;
  u8.fill(0x61, l4 + 20 + optLen, l4 + segLen);
  tcpFinishChecksum(dv, l4, segLen, 0xc612fa01, 0xc612fa02);
  u8.set([0x94, 0x04, 0x00, 0x00], l3 + 20); // Router Alert option (RFC 2113)
  const ip = newIpv4Repr();
  Object.assign(ip, { ihl: 24, totalLen: 24 + segLen, ttl: 64, proto: IPV4_PROTO_TCP, src: 0xc612fa01, dst: 0xc612fa02, df: true });
  emitIpv4(ip, dv, l3);
  return u8.subarray(0, l4 + segLen);
}

function corpus(): Uint8Array[] {
  const frames = [taggedSackFrame()];
  for (const f of ['kernel-arp-icmp.cap', 'kernel-tcp.cap']) {
    for (const r of readPcap(new URL(f, FIXTURES)).records) frames.push(r.data);
  }
  return frames;
}

const eth = newEthernetRepr();
const vlan = newVlanRepr();
const arp = newArpRepr();
const ip = newIpv4Repr();
const icmp = newIcmpRepr();
const tcp = newTcpRepr();
const opts = newTcpOptionsRepr();

/** Every parser over the frame as a receive path would chain them, plus each one on a random window. */
function parseAll(dv: DataView, off: number, len: number, rng: Rng): void {
  const verify = (rng.next() & 1) === 0;
  const end = off + len;
  if (parseEthernet(dv, off, len, eth) === WireError.OK) {
    assert.ok(eth.hdrLen <= len);
    const l3 = off + eth.hdrLen;
    if (eth.ethertype === ETH_TYPE_ARP) parseArp(dv, l3, end - l3, arp);
    else if (eth.ethertype === ETH_TYPE_IPV4 && parseIpv4(dv, l3, end - l3, ip, verify) === WireError.OK) {
      assert.ok(ip.ihl >= 20 && ip.ihl <= ip.totalLen && l3 + ip.totalLen <= end);
      const l4 = l3 + ip.ihl;
      const l4Len = ip.totalLen - ip.ihl;
      if (ip.proto === IPV4_PROTO_ICMP && parseIcmp(dv, l4, l4Len, icmp, verify) === WireError.OK) {
        assert.ok(icmp.payloadOff + icmp.payloadLen === l4 + l4Len);
      } else if (ip.proto === IPV4_PROTO_TCP && parseTcp(dv, l4, l4Len, tcp) === WireError.OK) {
        assert.ok(tcp.optOff + tcp.optLen === tcp.payloadOff && tcp.payloadOff + tcp.payloadLen === l4 + l4Len);
        tcpChecksumOk(dv, l4, l4Len, ip.src, ip.dst);
        if (parseTcpOptions(dv, tcp.optOff, tcp.optLen, opts) === WireError.OK) {
          assert.ok(opts.sackCount >= 0 && opts.sackCount <= 4);
        }
      }
    }
  }
  const from = off + rng.below(len + 1);
  const n = end - from;
  parseVlan(dv, from, n, vlan);
  parseArp(dv, from, n, arp);
  parseIpv4(dv, from, n, ip, verify);
  parseIcmp(dv, from, n, icmp, verify);
  parseTcp(dv, from, n, tcp);
  parseTcpOptions(dv, from, n < 40 ? n : 40, opts);
}

const INTERESTING = [0, 1, 2, 3, 4, 5, 8, 10, 0x0f, 0x10, 0x40, 0x45, 0x4f, 0x7f, 0x80, 0xa0, 0xf0, 0xff];

/** One case: random bytes, or a corpus frame bit-flipped, truncated, with lying length fields or splices. */
function mutate(rng: Rng, seeds: Uint8Array[]): Uint8Array {
  if (rng.below(10) === 0) {
    const b = new Uint8Array(rng.below(128));
    for (let i = 0; i < b.length; i++) b[i] = rng.next() & 0xff;
    return b;
  }
  let b = seeds[rng.below(seeds.length)].slice();
  const steps = 1 + rng.below(3);
  for (let s = 0; s < steps && b.length > 0; s++) {
    switch (rng.below(5)) {
      case 0: // bit flips
        for (let k = 1 + rng.below(4); k > 0; k--) b[rng.below(b.length)] ^= 1 << rng.below(8);
        break;
      case 1: // truncation
        b = b.slice(0, rng.below(b.length + 1));
        break;
      case 2: {
        // a length field lies: IHL, total length, data offset or an option length
        const at = [14, 16, 17, 18, 20, 21, 22, 46, 47, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64, 65][rng.below(21)];
        if (at < b.length) b[at] = INTERESTING[rng.below(INTERESTING.length)];
        break;
      }
      case 3: // interesting byte anywhere
        b[rng.below(b.length)] = INTERESTING[rng.below(INTERESTING.length)];
        break;
      default: {
        // splice random bytes into the middle (options, headers)
        const at = rng.below(b.length);
        const ins = new Uint8Array(1 + rng.below(8));
        for (let i = 0; i < ins.length; i++) ins[i] = INTERESTING[rng.below(INTERESTING.length)];
        const out = new Uint8Array(b.length + ins.length);
        out.set(b.subarray(0, at));
        out.set(ins, at);
        out.set(b.subarray(at), at + ins.length);
        b = out;
      }
    }
  }
  return b;
}

test(`fuzz: ${COUNT} random and mutated frames through every checked parser, none throws or reads out of bounds`, () => {
  const seeds = corpus();
  const rng = new Rng(SEED);
  for (let i = 0; i < COUNT; i++) {
    const frame = mutate(rng, seeds);
    const lead = rng.below(4);
    const u8 = new Uint8Array(lead + frame.length);
    u8.set(frame, lead);
    try {
      parseAll(new DataView(u8.buffer), lead, frame.length, rng);
    } catch (e) {
      assert.fail(`case ${i} (FUZZ_SEED=${SEED}): ${(e as Error).message}\nframe ${toHex(frame)}`);
    }
  }
});

test('fuzz: the corpus itself parses cleanly down to the deepest header', () => {
  for (const f of corpus()) {
    const dv = new DataView(f.buffer, f.byteOffset, f.byteLength);
    assert.equal(parseEthernet(dv, 0, f.length, eth), WireError.OK);
    if (eth.ethertype !== ETH_TYPE_IPV4) continue;
    const l3 = eth.hdrLen;
    assert.equal(parseIpv4(dv, l3, f.length - l3, ip, false), WireError.OK, toHex(f));
  }
  const t = taggedSackFrame();
  const dv = new DataView(t.buffer, t.byteOffset, t.byteLength);
  assert.equal(parseEthernet(dv, 0, t.length, eth), WireError.OK);
  assert.equal(parseIpv4(dv, 18, t.length - 18, ip), WireError.OK);
  assert.equal(parseTcp(dv, 18 + 24, ip.totalLen - 24, tcp), WireError.OK);
  assert.ok(tcpChecksumOk(dv, 18 + 24, ip.totalLen - 24, ip.src, ip.dst));
  assert.equal(parseTcpOptions(dv, tcp.optOff, tcp.optLen, opts), WireError.OK);
  assert.equal(opts.sackCount, 3);
});
