import { test } from 'node:test';
import assert from 'node:assert/strict';
import { arpOp, arpSpa, arpTpa, emitArp, newArpRepr, parseArp, ARP_OP_REPLY, ARP_OP_REQUEST } from '../../src/wire/arp.js';
import { WireError } from '../../src/wire/error.js';
import { hex, scratch, tight } from './bytes.js';

// ARP payloads of the kernel's request and reply (test/fixtures/kernel-arp-icmp.cap).
const REQUEST = '0001 0800 06 04 0001 027667fa0001 c612fa01 000000000000 c612fa02';
const REPLY = '0001 0800 06 04 0002 027667fa0002 c612fa02 027667fa0001 c612fa01';

test('arp: kernel request and reply parse to their fields and emit back', () => {
  const r = newArpRepr();
  let { dv, off } = tight(hex(REQUEST));
  assert.equal(parseArp(dv, off, 28, r), WireError.OK);
  assert.deepEqual(r, { op: ARP_OP_REQUEST, sha: 0x027667fa0001, spa: 0xc612fa01, tha: 0, tpa: 0xc612fa02 });
  assert.equal(arpOp(dv, off), ARP_OP_REQUEST);
  assert.equal(arpSpa(dv, off), 0xc612fa01);
  assert.equal(arpTpa(dv, off), 0xc612fa02);
  ({ dv, off } = tight(hex(REPLY)));
  assert.equal(parseArp(dv, off, 28, r), WireError.OK);
  assert.deepEqual(r, { op: ARP_OP_REPLY, sha: 0x027667fa0002, spa: 0xc612fa02, tha: 0x027667fa0001, tpa: 0xc612fa01 });
  const out = scratch(28);
  assert.equal(emitArp(r, out.dv, 0), 28);
  assert.deepEqual(out.u8, hex(REPLY));
});

test('arp: truncated at every length is TRUNCATED', () => {
  const full = hex(REQUEST);
  for (let len = 0; len < 28; len++) {
    const { dv, off } = tight(full.subarray(0, len));
    assert.equal(parseArp(dv, off, len, newArpRepr()), WireError.TRUNCATED, `cut to ${len}`);
  }
});

test('arp: other hardware/protocols, wrong address lengths, unknown opcodes are rejected', () => {
  const cases: [string, number][] = [
    ['0006 0800 06 04 0001', WireError.UNSUPPORTED], // IEEE 802 hardware
    ['0001 86dd 06 04 0001', WireError.UNSUPPORTED], // IPv6 protocol
    ['0001 0800 08 04 0001', WireError.BAD_HEADER_LEN],
    ['0001 0800 06 10 0001', WireError.BAD_HEADER_LEN],
    ['0001 0800 06 04 0003', WireError.BAD_TYPE], // RARP request
    ['0001 0800 06 04 0000', WireError.BAD_TYPE],
  ];
  for (const [head, want] of cases) {
    const b = hex(REQUEST);
    b.set(hex(head), 0);
    const { dv, off } = tight(b);
    assert.equal(parseArp(dv, off, 28, newArpRepr()), want, head);
  }
});
