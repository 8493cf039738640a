import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WireError, wireErrorName } from '../../src/wire/error.js';
import {
  emitEthernet,
  ethDst,
  ethSrc,
  ethType,
  newEthernetRepr,
  parseEthernet,
  ETH_TYPE_ARP,
  ETH_TYPE_IPV4,
  ETH_TYPE_VLAN,
} from '../../src/wire/ethernet.js';
import { emitVlan, newVlanRepr, parseVlan, vlanType, vlanVid } from '../../src/wire/vlan.js';
import { hex, scratch, tight } from './bytes.js';

// The kernel's ARP request header, and the same frame with an 802.1Q tag
// (PCP 5, DEI 1, VID 100) as scapy writes Dot1Q(prio=5, id=1, vlan=100).
const UNTAGGED = 'ffffffffffff 027667fa0001 0806';
const TAGGED = 'ffffffffffff 027667fa0001 8100 b064 0806';

test('ethernet: parses and emits an untagged header (kernel bytes)', () => {
  const { dv, off } = tight(hex(UNTAGGED));
  const r = newEthernetRepr();
  assert.equal(parseEthernet(dv, off, 14, r), WireError.OK);
  assert.deepEqual(r, { dst: 0xffffffffffff, src: 0x027667fa0001, ethertype: ETH_TYPE_ARP, vlanId: -1, vlanPcp: 0, vlanDei: 0, hdrLen: 14 });
  assert.equal(ethDst(dv, off), 0xffffffffffff);
  assert.equal(ethSrc(dv, off), 0x027667fa0001);
  assert.equal(ethType(dv, off), ETH_TYPE_ARP);
  const out = scratch(14);
  assert.equal(emitEthernet(r, out.dv, 0), 14);
  assert.deepEqual(out.u8, hex(UNTAGGED));
});

test('ethernet: parses and emits one 802.1Q tag', () => {
  const { dv, off } = tight(hex(TAGGED));
  const r = newEthernetRepr();
  assert.equal(parseEthernet(dv, off, 18, r), WireError.OK);
  assert.equal(r.vlanId, 100);
  assert.equal(r.vlanPcp, 5);
  assert.equal(r.vlanDei, 1);
  assert.equal(r.ethertype, ETH_TYPE_ARP);
  assert.equal(r.hdrLen, 18);
  assert.equal(ethType(dv, off), ETH_TYPE_VLAN);
  const out = scratch(18);
  assert.equal(emitEthernet(r, out.dv, 0), 18);
  assert.deepEqual(out.u8, hex(TAGGED));
  // VID 0 (priority tag) is a tag too: only -1 means untagged.
  r.vlanId = 0;
  r.vlanPcp = 0;
  r.vlanDei = 0;
  r.ethertype = ETH_TYPE_IPV4;
  emitEthernet(r, out.dv, 0);
  assert.deepEqual(out.u8.subarray(12), hex('8100 0000 0800'));
});

test('ethernet: truncated at every length is TRUNCATED, never a throw', () => {
  for (const text of [UNTAGGED, TAGGED]) {
    const full = hex(text);
    for (let len = 0; len < full.length; len++) {
      const { dv, off } = tight(full.subarray(0, len));
      assert.equal(parseEthernet(dv, off, len, newEthernetRepr()), WireError.TRUNCATED, `${text} cut to ${len}`);
    }
  }
});

test('ethernet: 802.3 length fields and stacked tags are UNSUPPORTED', () => {
  const r = newEthernetRepr();
  for (const text of ['ffffffffffff 027667fa0001 05dc', 'ffffffffffff 027667fa0001 8100 0064 8100 0065 0800', 'ffffffffffff 027667fa0001 8100 0064 88a8 0065 0800']) {
    const b = hex(text);
    const { dv, off } = tight(b);
    const code = parseEthernet(dv, off, b.length, r);
    assert.equal(code, WireError.UNSUPPORTED, `${text}: ${wireErrorName(code)}`);
  }
});

test('vlan: the 4 bytes after TPID 0x8100', () => {
  const { dv, off } = tight(hex('b064 0800'));
  const r = newVlanRepr();
  assert.equal(parseVlan(dv, off, 4, r), WireError.OK);
  assert.deepEqual(r, { pcp: 5, dei: 1, vid: 100, ethertype: ETH_TYPE_IPV4 });
  assert.equal(vlanVid(dv, off), 100);
  assert.equal(vlanType(dv, off), ETH_TYPE_IPV4);
  const out = scratch(4);
  assert.equal(emitVlan({ pcp: 7, dei: 0, vid: 4095, ethertype: 0x0806 }, out.dv, 0), 4);
  assert.deepEqual(out.u8, hex('efff 0806'));
  for (let len = 0; len < 4; len++) {
    const t = tight(hex('b064 0800').subarray(0, len));
    assert.equal(parseVlan(t.dv, t.off, len, r), WireError.TRUNCATED);
  }
});

test('error names', () => {
  assert.equal(wireErrorName(WireError.BAD_OPTION), 'BAD_OPTION');
  assert.equal(wireErrorName(0), 'OK');
  assert.equal(wireErrorName(99), 'UNKNOWN(99)');
});
