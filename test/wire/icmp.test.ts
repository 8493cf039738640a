import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WireError } from '../../src/wire/error.js';
import {
  emitIcmp,
  icmpCode,
  icmpType,
  newIcmpRepr,
  parseIcmp,
  ICMP_DEST_UNREACH,
  ICMP_ECHO_REQUEST,
  ICMP_UNREACH_FRAG_NEEDED,
  ICMP_UNREACH_PORT,
} from '../../src/wire/icmp.js';
import { hex, scratch, tight } from './bytes.js';

// From test/fixtures/kernel-arp-icmp.cap: the kernel's echo request (ping's
// 56 data bytes) and its port unreachable quoting the UDP datagram.
const ECHO =
  '0800 e5c3 442c 0001 4c9e066b00000000bb32010000000000' +
  '101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637';
const UNREACH = '0303 7d42 0000 0000 4500001e61a3400040115902c612fa01c612fa02 c2d20009000a546b 6869';

test('icmp: kernel echo request parses to its fields and emits back', () => {
  const msg = hex(ECHO);
  const { dv, off } = tight(msg);
  const r = newIcmpRepr();
  assert.equal(parseIcmp(dv, off, msg.length, r), WireError.OK);
  assert.deepEqual(r, { type: ICMP_ECHO_REQUEST, code: 0, checksum: 0xe5c3, ident: 0x442c, seq: 1, payloadOff: off + 8, payloadLen: 56 });
  assert.equal(icmpType(dv, off), ICMP_ECHO_REQUEST);
  assert.equal(icmpCode(dv, off), 0);
  const out = scratch(msg.length);
  out.u8.set(msg.subarray(8), 8); // payload first, then the header and its checksum
  assert.equal(emitIcmp(r, out.dv, 0), 8);
  assert.deepEqual(out.u8, msg);
});

test('icmp: port unreachable exposes the quoted datagram; frag-needed carries the MTU in seq', () => {
  const msg = hex(UNREACH);
  const { dv, off } = tight(msg);
  const r = newIcmpRepr();
  assert.equal(parseIcmp(dv, off, msg.length, r), WireError.OK);
  assert.equal(r.type, ICMP_DEST_UNREACH);
  assert.equal(r.code, ICMP_UNREACH_PORT);
  assert.equal(r.payloadOff, off + 8);
  assert.equal(r.payloadLen, 30);
  assert.equal(dv.getUint8(r.payloadOff), 0x45, 'quote starts with the original IPv4 header');
  assert.equal(dv.getUint16(r.payloadOff + 22), 9, 'the quoted UDP destination port');
  const out = scratch(msg.length);
  out.u8.set(msg.subarray(8), 8);
  emitIcmp(r, out.dv, 0);
  assert.deepEqual(out.u8, msg);

  const frag = scratch(8 + 28);
  frag.u8.set(msg.subarray(8, 36), 8);
  emitIcmp({ ...r, code: ICMP_UNREACH_FRAG_NEEDED, ident: 0, seq: 1400, payloadLen: 28 }, frag.dv, 0);
  assert.deepEqual(frag.u8.subarray(4, 8), hex('0000 0578'));
  assert.equal(parseIcmp(frag.dv, 0, 36, r), WireError.OK);
  assert.equal(r.seq, 1400);
});

test('icmp: truncated at every length: TRUNCATED below 8 bytes, else the checksum fails', () => {
  const msg = hex(ECHO);
  for (let len = 0; len < msg.length; len++) {
    const { dv, off } = tight(msg.subarray(0, len));
    const want = len < 8 ? WireError.TRUNCATED : WireError.BAD_CHECKSUM;
    assert.equal(parseIcmp(dv, off, len, newIcmpRepr()), want, `cut to ${len}`);
  }
});

test('icmp: any flipped bit fails the checksum unless the check is skipped', () => {
  const r = newIcmpRepr();
  const msg = hex(ECHO);
  for (let bit = 0; bit < msg.length * 8; bit += 7) {
    const b = msg.slice();
    b[bit >> 3] ^= 0x80 >> (bit & 7);
    const { dv, off } = tight(b);
    assert.equal(parseIcmp(dv, off, b.length, r), WireError.BAD_CHECKSUM, `bit ${bit}`);
    assert.equal(parseIcmp(dv, off, b.length, r, false), WireError.OK);
  }
});
