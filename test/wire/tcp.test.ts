import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { WireError } from '../../src/wire/error.js';
import {
  emitTcp,
  newTcpRepr,
  parseTcp,
  tcpAck,
  tcpChecksumOk,
  tcpDataOff,
  tcpDstPort,
  tcpFinishChecksum,
  tcpFlags,
  tcpSeq,
  tcpSrcPort,
  tcpWindow,
  TCP_ACK,
  TCP_AE,
  TCP_CWR,
  TCP_ECE,
  TCP_FIN,
  TCP_PSH,
  TCP_RST,
  TCP_SYN,
  TCP_URG,
  type TcpRepr,
} from '../../src/wire/tcp.js';
import { hex, scratch, tight } from './bytes.js';

const A = 0xc612fa01; // 198.18.250.1
const B = 0xc612fa02;
// The kernel's SYN from A to B (test/fixtures/kernel-tcp.cap): MSS 1460,
// SACK-permitted, timestamps, NOP, window scale 10.
const SYN = 'd58a 1389 3ddc79f2 00000000 a002 faf0 fadd 0000 020405b4 0402080a a48c8c95 00000000 0103030a';

test('tcp: flag bits have their RFC 9293 / RFC 3168 values', () => {
  assert.deepEqual([TCP_FIN, TCP_SYN, TCP_RST, TCP_PSH, TCP_ACK, TCP_URG, TCP_ECE, TCP_CWR, TCP_AE], [1, 2, 4, 8, 16, 32, 64, 128, 256]);
});

test('tcp: kernel SYN parses to its fields, its checksum verifies, and it emits back', () => {
  const seg = hex(SYN);
  const { dv, off } = tight(seg);
  const r = newTcpRepr();
  assert.equal(parseTcp(dv, off, 40, r), WireError.OK);
  assert.deepEqual(r, {
    srcPort: 54666,
    dstPort: 5001,
    seq: 0x3ddc79f2,
    ack: 0,
    dataOff: 40,
    flags: TCP_SYN,
    window: 64240,
    checksum: 0xfadd,
    urgent: 0,
    optOff: off + 20,
    optLen: 20,
    payloadOff: off + 40,
    payloadLen: 0,
  });
  assert.equal(tcpSrcPort(dv, off), 54666);
  assert.equal(tcpDstPort(dv, off), 5001);
  assert.equal(tcpSeq(dv, off), 0x3ddc79f2);
  assert.equal(tcpAck(dv, off), 0);
  assert.equal(tcpDataOff(dv, off), 40);
  assert.equal(tcpFlags(dv, off), TCP_SYN);
  assert.equal(tcpWindow(dv, off), 64240);
  assert.equal(tcpChecksumOk(dv, off, 40, A, B), true);
  assert.equal(tcpChecksumOk(dv, off, 40, B, A + 2), false, 'the pseudo-header counts');

  const out = scratch(40);
  out.u8.set(seg.subarray(20), 20); // options in place
  assert.equal(emitTcp(r, out.dv, 0), 20);
  assert.equal(out.dv.getUint16(16), 0, 'emit leaves the checksum to tcpFinishChecksum');
  assert.equal(tcpFinishChecksum(out.dv, 0, 40, A, B), 0xfadd);
  assert.deepEqual(out.u8, seg);
});

test('tcp: every flipped bit fails the checksum', () => {
  const seg = hex(SYN);
  for (let bit = 0; bit < 320; bit++) {
    const b = seg.slice();
    b[bit >> 3] ^= 0x80 >> (bit & 7);
    const { dv, off } = tight(b);
    assert.equal(tcpChecksumOk(dv, off, 40, A, B), false, `bit ${bit}`);
  }
});

test('tcp: truncated at every length: TRUNCATED below 20, BAD_HEADER_LEN below the data offset', () => {
  const seg = hex(SYN);
  for (let len = 0; len < 40; len++) {
    const { dv, off } = tight(seg.subarray(0, len));
    assert.equal(parseTcp(dv, off, len, newTcpRepr()), len < 20 ? WireError.TRUNCATED : WireError.BAD_HEADER_LEN, `cut to ${len}`);
  }
});

test('tcp: data offset below 5 words or beyond the segment is BAD_HEADER_LEN', () => {
  for (let words = 0; words < 16; words++) {
    const seg = hex(SYN);
    seg[12] = (words << 4) | (seg[12] & 0x0f);
    const { dv, off } = tight(seg);
    const code = parseTcp(dv, off, 40, newTcpRepr());
    assert.equal(code, words < 5 || words > 10 ? WireError.BAD_HEADER_LEN : WireError.OK, `data offset ${words}`);
  }
});

test('tcp: all 12 flag bits and the urgent pointer round-trip; payload offsets are absolute', () => {
  const r = newTcpRepr();
  Object.assign(r, { srcPort: 1, dstPort: 65535, seq: 0xffffffff, ack: 0x80000000, dataOff: 20, flags: 0xfff, window: 0, urgent: 0x1234 });
  const out = scratch(30);
  emitTcp(r, out.dv, 0);
  assert.deepEqual(out.u8.subarray(0, 20), hex('0001 ffff ffffffff 80000000 5fff 0000 0000 1234'));
  const back = newTcpRepr();
  assert.equal(parseTcp(out.dv, 0, 30, back), WireError.OK);
  assert.deepEqual(back, { ...r, checksum: 0, optOff: 20, optLen: 0, payloadOff: 20, payloadLen: 10 });
});

test('tcp: emit then parse is the identity on header fields (property)', () => {
  const arb = fc.record({
    srcPort: fc.integer({ min: 0, max: 0xffff }),
    dstPort: fc.integer({ min: 0, max: 0xffff }),
    seq: fc.nat(0xffffffff),
    ack: fc.nat(0xffffffff),
    dataOff: fc.integer({ min: 5, max: 15 }).map((w) => w * 4),
    flags: fc.integer({ min: 0, max: 0xfff }),
    window: fc.integer({ min: 0, max: 0xffff }),
    urgent: fc.integer({ min: 0, max: 0xffff }),
    payloadLen: fc.integer({ min: 0, max: 40 }),
  });
  const out = scratch(120);
  const back = newTcpRepr();
  fc.assert(
    fc.property(arb, (f) => {
      const r: TcpRepr = { ...newTcpRepr(), ...f };
      emitTcp(r, out.dv, 4);
      const len = f.dataOff + f.payloadLen;
      tcpFinishChecksum(out.dv, 4, len, A, B);
      assert.equal(parseTcp(out.dv, 4, len, back), WireError.OK);
      assert.equal(tcpChecksumOk(out.dv, 4, len, A, B), true);
      for (const k of Object.keys(f) as (keyof typeof f)[]) assert.equal(back[k], f[k], k);
      assert.equal(back.payloadOff, 4 + f.dataOff);
    }),
  );
});
