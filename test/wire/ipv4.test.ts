import { test } from 'node:test';
import assert from 'node:assert/strict';
import { internetChecksum } from '../../src/wire/checksum.js';
import { WireError } from '../../src/wire/error.js';
import {
  emitIpv4,
  ipv4Dst,
  ipv4Ihl,
  ipv4IsFragment,
  ipv4Proto,
  ipv4Src,
  ipv4TotalLen,
  ipv4Ttl,
  newIpv4Repr,
  parseIpv4,
  IPV4_PROTO_ICMP,
  IPV4_PROTO_UDP,
} from '../../src/wire/ipv4.js';
import { hex, scratch, tight } from './bytes.js';

// The kernel's echo request header (test/fixtures/kernel-arp-icmp.cap) followed by 64 bytes of ICMP.
const ECHO_HDR = '4500 0054 41f8 4000 4001 7887 c612fa01 c612fa02';
const echoPacket = (): Uint8Array => {
  const b = new Uint8Array(84);
  b.set(hex(ECHO_HDR));
  return b;
};

test('ipv4: kernel header parses to its fields and emits back with its checksum', () => {
  const pkt = echoPacket();
  const { dv, off } = tight(pkt);
  const r = newIpv4Repr();
  assert.equal(parseIpv4(dv, off, 84, r), WireError.OK);
  assert.deepEqual(r, {
    version: 4,
    ihl: 20,
    tos: 0,
    totalLen: 84,
    ident: 0x41f8,
    df: true,
    mf: false,
    fragOff: 0,
    ttl: 64,
    proto: IPV4_PROTO_ICMP,
    checksum: 0x7887,
    src: 0xc612fa01,
    dst: 0xc612fa02,
  });
  assert.equal(ipv4Ihl(dv, off), 20);
  assert.equal(ipv4TotalLen(dv, off), 84);
  assert.equal(ipv4Proto(dv, off), IPV4_PROTO_ICMP);
  assert.equal(ipv4Src(dv, off), 0xc612fa01);
  assert.equal(ipv4Dst(dv, off), 0xc612fa02);
  assert.equal(ipv4Ttl(dv, off), 64);
  assert.equal(ipv4IsFragment(dv, off), false);
  const out = scratch(20);
  assert.equal(emitIpv4(r, out.dv, 0), 20);
  assert.deepEqual(out.u8, hex(ECHO_HDR));
});

test('ipv4: fragment fields, TOS and options round-trip; the checksum covers the options', () => {
  const r = newIpv4Repr();
  Object.assign(r, { ihl: 24, tos: 0xb8, totalLen: 24 + 8, ident: 0xbeef, mf: true, fragOff: 1480, ttl: 3, proto: IPV4_PROTO_UDP, src: 0xc6120001, dst: 0xc6120002 });
  const out = scratch(32);
  out.u8.set(hex('01010100'), 20); // NOP NOP NOP EOL, placed before emit
  assert.equal(emitIpv4(r, out.dv, 0), 24);
  assert.deepEqual(out.u8.subarray(0, 10), hex('46 b8 0020 beef 20b9 03 11'));
  const csum = out.dv.getUint16(10);
  out.dv.setUint16(10, 0);
  assert.equal(internetChecksum(out.u8, 0, 24), csum);
  out.dv.setUint16(10, csum);
  const back = newIpv4Repr();
  assert.equal(parseIpv4(out.dv, 0, 32, back), WireError.OK);
  assert.deepEqual(back, { ...r, version: 4, df: false, checksum: csum });
  assert.equal(ipv4IsFragment(out.dv, 0), true);
  out.u8[21] ^= 1; // an option byte: the header checksum no longer matches
  assert.equal(parseIpv4(out.dv, 0, 32, back), WireError.BAD_CHECKSUM);
});

test('ipv4: truncated at every length: TRUNCATED below 20 bytes, then BAD_TOTAL_LEN', () => {
  const pkt = echoPacket();
  for (let len = 0; len < 84; len++) {
    const { dv, off } = tight(pkt.subarray(0, len));
    const want = len < 20 ? WireError.TRUNCATED : WireError.BAD_TOTAL_LEN;
    assert.equal(parseIpv4(dv, off, len, newIpv4Repr()), want, `cut to ${len}`);
  }
});

test('ipv4: header length too small or beyond the bytes is BAD_HEADER_LEN', () => {
  const r = newIpv4Repr();
  for (let ihlWords = 0; ihlWords < 16; ihlWords++) {
    const pkt = echoPacket().subarray(0, 40);
    pkt[0] = 0x40 | ihlWords;
    const { dv, off } = tight(pkt);
    const code = parseIpv4(dv, off, 40, r);
    if (ihlWords < 5 || ihlWords * 4 > 40) assert.equal(code, WireError.BAD_HEADER_LEN, `IHL ${ihlWords}`);
    else assert.notEqual(code, WireError.BAD_HEADER_LEN, `IHL ${ihlWords}`);
  }
});

test('ipv4: total length lying (below the header, beyond the bytes) is BAD_TOTAL_LEN; link padding is fine', () => {
  const r = newIpv4Repr();
  for (const totalLen of [0, 1, 19, 85, 1500, 0xffff]) {
    const pkt = echoPacket();
    new DataView(pkt.buffer).setUint16(2, totalLen);
    const { dv, off } = tight(pkt);
    assert.equal(parseIpv4(dv, off, 84, r, false), WireError.BAD_TOTAL_LEN, `totalLen ${totalLen}`);
  }
  const padded = new Uint8Array(100);
  padded.set(echoPacket());
  const { dv, off } = tight(padded);
  assert.equal(parseIpv4(dv, off, 100, r), WireError.OK);
  assert.equal(r.totalLen, 84);
});

test('ipv4: wrong version and bad checksum; checksum check can be skipped', () => {
  const r = newIpv4Repr();
  const v6 = echoPacket();
  v6[0] = 0x65;
  let t = tight(v6);
  assert.equal(parseIpv4(t.dv, t.off, 84, r), WireError.BAD_VERSION);
  for (let bit = 0; bit < 160; bit++) {
    if (bit < 8 || (bit >= 16 && bit < 32)) continue; // version/IHL and total length have their own errors
    const pkt = echoPacket();
    pkt[bit >> 3] ^= 0x80 >> (bit & 7);
    t = tight(pkt);
    assert.equal(parseIpv4(t.dv, t.off, 84, r), WireError.BAD_CHECKSUM, `bit ${bit}`);
    assert.equal(parseIpv4(t.dv, t.off, 84, r, false), WireError.OK, `bit ${bit} unchecked`);
  }
});
