import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { WireError } from '../../src/wire/error.js';
import {
  emitTcpOptions,
  newTcpOptionsRepr,
  parseTcpOptions,
  tcpOptionsLen,
  type TcpOptionsRepr,
} from '../../src/wire/tcp_options.js';
import { hex, scratch, tight } from './bytes.js';

// Options of kernel segments (test/fixtures/kernel-tcp.cap).
const SYN_OPTS = '020405b4 0402080a a48c8c95 00000000 0103030a';
const SACK_OPTS = '0101080a 6e855ccc a48c8c99 0101050a 3ddc8543 3ddc8aeb';

function parse(text: string): [number, TcpOptionsRepr] {
  const b = hex(text);
  const { dv, off } = tight(b);
  const r = newTcpOptionsRepr();
  return [parseTcpOptions(dv, off, b.length, r), r];
}

function emit(r: TcpOptionsRepr): Uint8Array {
  const out = scratch(48);
  const n = emitTcpOptions(r, out.dv, 2);
  assert.equal(n, tcpOptionsLen(r), 'tcpOptionsLen predicts the emitted length');
  assert.equal(n % 4, 0);
  assert.ok(n <= 40);
  return out.u8.slice(2, 2 + n);
}

test('tcp options: kernel SYN options parse and emit back in Linux order', () => {
  const [code, r] = parse(SYN_OPTS);
  assert.equal(code, WireError.OK);
  assert.equal(r.mss, 1460);
  assert.equal(r.wscale, 10);
  assert.equal(r.sackPermitted, true);
  assert.equal(r.hasTimestamps, true);
  assert.equal(r.tsVal, 0xa48c8c95);
  assert.equal(r.tsEcr, 0);
  assert.equal(r.sackCount, 0);
  assert.deepEqual(emit(r), hex(SYN_OPTS));
});

test('tcp options: kernel dup-ACK timestamps and SACK block parse and emit back', () => {
  const [code, r] = parse(SACK_OPTS);
  assert.equal(code, WireError.OK);
  assert.equal(r.mss, -1);
  assert.equal(r.wscale, -1);
  assert.equal(r.sackPermitted, false);
  assert.equal(r.hasTimestamps, true);
  assert.equal(r.tsVal, 0x6e855ccc);
  assert.equal(r.tsEcr, 0xa48c8c99);
  assert.equal(r.sackCount, 1);
  assert.deepEqual([...r.sackBlocks.subarray(0, 2)], [0x3ddc8543, 0x3ddc8aeb]);
  assert.deepEqual(emit(r), hex(SACK_OPTS));
});

test('tcp options: the other Linux layouts (no timestamps; SACK without timestamps; SACK count bounded)', () => {
  const r = newTcpOptionsRepr();
  r.mss = 1400;
  r.sackPermitted = true;
  r.wscale = 7;
  assert.deepEqual(emit(r), hex('02040578 01010402 01030307'));
  const d = newTcpOptionsRepr();
  d.hasTimestamps = true;
  d.tsVal = 1;
  d.tsEcr = 2;
  assert.deepEqual(emit(d), hex('0101080a 00000001 00000002'));
  d.sackCount = 4; // RFC 2018 §3: only 3 fit beside timestamps
  d.sackBlocks.set([10, 20, 30, 40, 50, 60, 70, 80]);
  assert.deepEqual(emit(d), hex('0101080a 00000001 00000002 0101051a 0000000a 00000014 0000001e 00000028 00000032 0000003c'));
  d.hasTimestamps = false;
  assert.deepEqual(emit(d), hex('01010522 0000000a 00000014 0000001e 00000028 00000032 0000003c 00000046 00000050'));
  assert.deepEqual(emit(newTcpOptionsRepr()), new Uint8Array(0));
});

test('tcp options: truncated at every length is OK only at an option boundary', () => {
  const full = hex(SYN_OPTS);
  const boundaries = new Map([
    [0, 0],
    [4, 1],
    [6, 2],
    [16, 3],
    [17, 3],
  ]);
  for (let len = 0; len < full.length; len++) {
    const { dv, off } = tight(full.subarray(0, len));
    const r = newTcpOptionsRepr();
    const code = parseTcpOptions(dv, off, len, r);
    assert.equal(code, boundaries.has(len) ? WireError.OK : WireError.BAD_OPTION, `cut to ${len}`);
    if (code === WireError.OK) {
      const seen = (r.mss >= 0 ? 1 : 0) + (r.sackPermitted ? 1 : 0) + (r.hasTimestamps ? 1 : 0) + (r.wscale >= 0 ? 1 : 0);
      assert.equal(seen, boundaries.get(len), `options seen when cut to ${len}`);
    }
  }
});

test('tcp options: length 0, length 1, overrunning, missing length byte, wrong length per kind', () => {
  const bad = [
    '0200 0000', // MSS, length 0
    '0201 0000', // length 1
    '1e00', // unknown kind, length 0: cannot be skipped
    '1e01 0000',
    '080a 00000000', // timestamps overrunning
    '0101 050a 00000001', // SACK overrunning
    '1e08 0000', // unknown kind overrunning
    '0101 0102', // MSS kind with no length byte
    '02', // alone
    '0203 05', // MSS length 3
    '02050000 00', // MSS length 5
    '030400 00', // window scale length 4
    '0302 0000', // window scale length 2
    '0403 00 01', // SACK-permitted length 3
    '0808 00000000 0000', // timestamps length 8
    '0502 0000', // SACK with no block
    '0509 000000000000000000', // SACK, not 2 + 8n
    '050e 00000000000000000000000000', // SACK 2 + 12
  ];
  for (const text of bad) {
    const [code] = parse(text);
    assert.equal(code, WireError.BAD_OPTION, text);
  }
});

test('tcp options: unknown kinds are skipped, EOL ends the list, repeats override', () => {
  let [code, r] = parse('1e04 aabb 020405b4 fe02 0101'); // MPTCP-like kind 30, MSS, experimental 254
  assert.equal(code, WireError.OK);
  assert.equal(r.mss, 1460);
  [code, r] = parse('01 00 0201 ffff'); // junk after EOL is not read as options
  assert.equal(code, WireError.OK);
  assert.equal(r.mss, -1);
  [code, r] = parse('02040100 02040200');
  assert.equal(code, WireError.OK);
  assert.equal(r.mss, 0x200);
  [code, r] = parse('030300 030320 00'); // a shift above 14 is kept raw for the TCP layer (RFC 7323 §2.3)
  assert.equal(code, WireError.OK);
  assert.equal(r.wscale, 32);
});

test('tcp options: a parse resets fields a previous parse set', () => {
  const r = newTcpOptionsRepr();
  const a = tight(hex(SYN_OPTS));
  parseTcpOptions(a.dv, a.off, 20, r);
  const b = tight(hex('0101 0101'));
  assert.equal(parseTcpOptions(b.dv, b.off, 4, r), WireError.OK);
  assert.deepEqual({ ...r, sackBlocks: null }, { ...newTcpOptionsRepr(), sackBlocks: null });
});

test('tcp options: emit then parse is the identity (property)', () => {
  const arb = fc.record({
    mss: fc.integer({ min: -1, max: 0xffff }),
    wscale: fc.integer({ min: -1, max: 14 }),
    sackPermitted: fc.boolean(),
    hasTimestamps: fc.boolean(),
    tsVal: fc.nat(0xffffffff),
    tsEcr: fc.nat(0xffffffff),
    sackBlocks: fc.array(fc.nat(0xffffffff), { minLength: 8, maxLength: 8 }),
    sackCount: fc.integer({ min: 0, max: 4 }),
  });
  const back = newTcpOptionsRepr();
  fc.assert(
    fc.property(arb, (f) => {
      const r: TcpOptionsRepr = { ...f, sackBlocks: Uint32Array.from(f.sackBlocks) };
      const bytes = emit(r);
      const { dv, off } = tight(bytes);
      assert.equal(parseTcpOptions(dv, off, bytes.length, back), WireError.OK);
      assert.equal(back.mss, f.mss);
      assert.equal(back.wscale, f.wscale);
      assert.equal(back.sackPermitted, f.sackPermitted);
      assert.equal(back.hasTimestamps, f.hasTimestamps);
      if (f.hasTimestamps) assert.deepEqual([back.tsVal, back.tsEcr], [f.tsVal, f.tsEcr]);
      const room = Math.max(0, (40 - (f.mss >= 0 ? 4 : 0) - (f.hasTimestamps ? 12 : f.sackPermitted ? 4 : 0) - (f.wscale >= 0 ? 4 : 0) - 4) >> 3);
      const n = Math.min(f.sackCount, room);
      assert.equal(back.sackCount, n);
      assert.deepEqual([...back.sackBlocks.subarray(0, 2 * n)], f.sackBlocks.slice(0, 2 * n));
    }),
  );
});
