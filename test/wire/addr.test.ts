import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BROADCAST_MAC, isMulticastMac, macFromBytes, macToString, parseMac, readMac, writeMac } from '../../src/wire/mac.js';
import { ipToString, parseIp, parseIpRange, prefixMask } from '../../src/wire/ipv4_addr.js';
import { hex, scratch } from './bytes.js';

test('mac: 48-bit numbers read, written and printed', () => {
  const b = hex('00 02 76 67 fa 00 01 ff');
  const dv = new DataView(b.buffer);
  assert.equal(readMac(dv, 1), 0x027667fa0001);
  assert.equal(macFromBytes(b, 1), 0x027667fa0001);
  assert.equal(macToString(0x027667fa0001), '02:76:67:fa:00:01');
  const { dv: out, u8 } = scratch(8);
  writeMac(out, 1, 0xfedcba987654);
  assert.deepEqual(u8, hex('00 fe dc ba 98 76 54 00'));
  writeMac(out, 1, BROADCAST_MAC);
  assert.equal(readMac(out, 1), BROADCAST_MAC);
  assert.equal(macToString(BROADCAST_MAC), 'ff:ff:ff:ff:ff:ff');
  assert.equal(macToString(0), '00:00:00:00:00:00');
});

test('mac: parse accepts colon or dash separators, rejects anything else', () => {
  assert.equal(parseMac('02:76:67:FA:00:01'), 0x027667fa0001);
  assert.equal(parseMac('02-76-67-fa-00-01'), 0x027667fa0001);
  for (const bad of ['', '02:76:67:fa:00', '02:76:67:fa:00:01:02', '02:76-67:fa:00:01', 'g2:76:67:fa:00:01', '2:76:67:fa:00:01']) {
    assert.equal(parseMac(bad), -1, bad);
  }
});

test('mac: multicast is the I/G bit of the first byte', () => {
  assert.ok(isMulticastMac(BROADCAST_MAC));
  assert.ok(isMulticastMac(0x01005e000001));
  assert.ok(!isMulticastMac(0x027667fa0001));
});

test('ipv4 addresses: text to u32 and back', () => {
  assert.equal(parseIp('198.18.250.1'), 0xc612fa01);
  assert.equal(parseIp('255.255.255.255'), 0xffffffff);
  assert.equal(parseIp('0.0.0.0'), 0);
  assert.equal(ipToString(0xc612fa01), '198.18.250.1');
  assert.equal(ipToString(0xffffffff), '255.255.255.255');
  for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '1.2.3.-4', 'a.b.c.d', '1..2.3']) {
    assert.equal(parseIp(bad), -1, bad);
  }
});

test('ipv4 ranges: single, a-b, a/n', () => {
  assert.deepEqual(parseIpRange('198.18.0.5'), { first: 0xc6120005, last: 0xc6120005 });
  assert.deepEqual(parseIpRange('198.18.0.1-198.18.1.0'), { first: 0xc6120001, last: 0xc6120100 });
  assert.deepEqual(parseIpRange('198.18.7.9/24'), { first: 0xc6120700, last: 0xc61207ff });
  assert.deepEqual(parseIpRange('198.18.0.0/15'), { first: 0xc6120000, last: 0xc613ffff });
  assert.deepEqual(parseIpRange('10.0.0.1/32'), { first: 0x0a000001, last: 0x0a000001 });
  assert.deepEqual(parseIpRange('10.0.0.1/0'), { first: 0, last: 0xffffffff });
  for (const bad of ['198.18.0.2-198.18.0.1', '198.18.0.0/33', '198.18.0.0/', '1.2.3/8', 'x-y', '1.2.3.4-']) {
    assert.equal(parseIpRange(bad), null, bad);
  }
  assert.equal(prefixMask(24), 0xffffff00);
  assert.equal(prefixMask(0), 0);
  assert.equal(prefixMask(32), 0xffffffff);
});
