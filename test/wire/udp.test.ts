import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WireError } from '../../src/wire/error.js';
import { parseIp } from '../../src/wire/ipv4_addr.js';
import { emitUdp, newUdpRepr, parseUdp, udpDstPort, udpSrcPort, UDP_HDR_LEN } from '../../src/wire/udp.js';
import { hex, scratch, tight, toHex } from './bytes.js';

// The kernel's datagram quoted in test/fixtures/kernel-arp-icmp.cap's port
// unreachable: 198.18.250.1:49874 -> 198.18.250.2:9, "hi".
const KERNEL = 'c2d2 0009 000a 546b 6869';
const K_SRC = parseIp('198.18.250.1');
const K_DST = parseIp('198.18.250.2');

test('udp: the kernel datagram parses to its fields, its checksum verifies, and it emits back byte for byte', () => {
  const d = hex(KERNEL);
  const { dv, off } = tight(d);
  const r = newUdpRepr();
  assert.equal(parseUdp(dv, off, d.length, r, K_SRC, K_DST), WireError.OK);
  assert.deepEqual(r, { srcPort: 49874, dstPort: 9, length: 10, checksum: 0x546b, payloadOff: off + 8, payloadLen: 2 });
  assert.deepEqual([udpSrcPort(dv, off), udpDstPort(dv, off)], [49874, 9]);
  const out = scratch(d.length);
  out.u8.set(d.subarray(UDP_HDR_LEN), UDP_HDR_LEN);
  assert.equal(emitUdp(r, out.dv, 0, K_SRC, K_DST), UDP_HDR_LEN);
  assert.equal(toHex(out.u8), toHex(d));
});

test('udp: checksum 0 means none (RFC 768); a computed 0 is sent as 0xffff', () => {
  const d = hex('0001 0002 0008 0000');
  const { dv, off } = tight(d);
  assert.equal(parseUdp(dv, off, d.length, newUdpRepr(), K_SRC, K_DST), WireError.OK);
  // Ports chosen so that the one's-complement sum is 0xffff: the checksum computes to 0.
  const src = parseIp('0.0.0.0');
  const dst = parseIp('0.0.0.0');
  const r = newUdpRepr();
  r.srcPort = 0xffff - 17 - 8 - 8;
  r.dstPort = 0;
  r.payloadLen = 0;
  const out = scratch(8);
  emitUdp(r, out.dv, 0, src, dst);
  assert.equal(out.dv.getUint16(6), 0xffff);
  assert.equal(parseUdp(out.dv, 0, 8, newUdpRepr(), src, dst), WireError.OK);
});

test('udp: truncated, bad length and bad checksum are codes, not exceptions; bytes past the length field are ignored', () => {
  const d = hex(KERNEL);
  const r = newUdpRepr();
  for (let n = 0; n < UDP_HDR_LEN; n++) assert.equal(parseUdp(tight(d.subarray(0, n)).dv, 3, n, r), WireError.TRUNCATED);
  const short = hex('c2d2 0009 0007 0000');
  assert.equal(parseUdp(tight(short).dv, 3, 8, r), WireError.BAD_TOTAL_LEN);
  const long = hex('c2d2 0009 0010 0000 6869');
  assert.equal(parseUdp(tight(long).dv, 3, long.length, r), WireError.BAD_TOTAL_LEN);
  const bad = hex(KERNEL);
  bad[9] ^= 1;
  assert.equal(parseUdp(tight(bad).dv, 3, bad.length, r, K_SRC, K_DST), WireError.BAD_CHECKSUM);
  const padded = hex(`${KERNEL} 0000 0000`);
  assert.equal(parseUdp(tight(padded).dv, 3, padded.length, r, K_SRC, K_DST), WireError.OK);
  assert.equal(r.payloadLen, 2);
});
