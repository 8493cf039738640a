import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fold, sum16 } from '../../src/wire/checksum.js';
import { ETH_TYPE_IPV4 } from '../../src/wire/ethernet.js';
import { newIcmpRepr, parseIcmp, ICMP_DEST_UNREACH, ICMP_ECHO_REPLY, ICMP_HDR_LEN, ICMP_UNREACH_PORT, ICMP_UNREACH_PROTO } from '../../src/wire/icmp.js';
import { newIpv4Repr, parseIpv4 } from '../../src/wire/ipv4.js';
import { Harness, Recorder, dvOf, echoRequest, ip, ipv4Frame, parseEth, sendSegment, PEER_MAC, STACK_MAC } from './harness.js';

function icmpOf(f: Uint8Array) {
  const e = parseEth(f);
  assert.equal(e.ethertype, ETH_TYPE_IPV4);
  const dv = dvOf(f);
  const r = newIpv4Repr();
  assert.equal(parseIpv4(dv, e.hdrLen, f.length - e.hdrLen, r), 0);
  const m = newIcmpRepr();
  assert.equal(parseIcmp(dv, e.hdrLen + r.ihl, r.totalLen - r.ihl, m), 0, 'ICMP checksum is valid');
  return { e, r, m };
}

function learnPeer(h: Harness): void {
  h.stack.arpCache.insert(ip('198.18.0.1'), -1, PEER_MAC, 0);
}

test('icmp: echo requests to each owned address come back as replies with the same data', () => {
  const h = new Harness();
  for (let i = 0; i < 3; i++) h.send(echoRequest(ip('198.18.0.1'), ip('198.18.0.10') + i, 0x4242, i));
  const out = h.received();
  assert.equal(out.length, 3);
  out.forEach((f, i) => {
    const { e, r, m } = icmpOf(f);
    assert.equal(e.dst, PEER_MAC);
    assert.equal(e.src, STACK_MAC);
    assert.equal(r.src, ip('198.18.0.10') + i);
    assert.equal(r.dst, ip('198.18.0.1'));
    assert.equal(m.type, ICMP_ECHO_REPLY);
    assert.equal(m.ident, 0x4242);
    assert.equal(m.seq, i);
    assert.equal(f.length, 14 + 20 + 8 + 56);
    for (let k = 0; k < 56; k++) assert.equal(f[42 + k], (k * 13) & 0xff);
  });
  assert.equal(h.stack.counters.icmpTxEchoReplies, 3);
  assert.equal(h.stack.pool.available, h.stack.pool.count);
});

test('icmp: a tagged echo request gets a tagged reply; Ethernet padding is trimmed', () => {
  const h = new Harness({ addrs: [{ lo: ip('198.18.0.10'), hi: ip('198.18.0.10'), prefixLen: 24, vlan: 42 }] });
  h.send(echoRequest(ip('198.18.0.1'), ip('198.18.0.10'), 1, 1, 4, 42));
  const out = h.received();
  assert.equal(out.length, 1);
  const { e, m } = icmpOf(out[0]);
  assert.equal(e.vlanId, 42);
  assert.equal(m.type, ICMP_ECHO_REPLY);
  assert.equal(out[0].length, 18 + 20 + 8 + 4);
});

test('icmp/ipv4: malformed datagrams are dropped and counted by reason; ping keeps working', () => {
  const h = new Harness();
  const good = echoRequest(ip('198.18.0.1'), ip('198.18.0.10'), 7, 7);
  const badIpCsum = good.slice();
  badIpCsum[14 + 10] ^= 0xff;
  const lyingLen = good.slice();
  lyingLen[14 + 2] = 0x05; // total length 0x05xx > frame
  const badIhl = good.slice();
  badIhl[14] = 0x43;
  const badVer = good.slice();
  badVer[14] = 0x65;
  const badIcmp = good.slice();
  badIcmp[14 + 20 + 8] ^= 0x01;
  const frag = ipv4Frame(ip('198.18.0.1'), ip('198.18.0.10'), 1, new Uint8Array(16));
  frag[14 + 6] = 0x20; // MF
  frag[14 + 10] = 0;
  frag[14 + 11] = 0;
  const f = dvOf(frag);
  f.setUint16(14 + 10, ~fold(sum16(frag, 14, 20)) & 0xffff);
  const notOurs = echoRequest(ip('198.18.0.1'), ip('198.18.0.99'), 1, 1);
  const notOurMac = ipv4Frame(ip('198.18.0.1'), ip('198.18.0.10'), 1, new Uint8Array(8), -1, 0x02ffffffff01);
  h.send(badIpCsum, lyingLen, badIhl, badVer, badIcmp, frag, notOurs, notOurMac, good.slice(0, 14 + 12), good.slice(0, 10));
  assert.equal(h.received().length, 0);
  const c = h.stack.counters;
  assert.deepEqual(
    [c.ipv4DropBadChecksum, c.ipv4DropBadTotalLen, c.ipv4DropBadHeaderLen, c.ipv4DropBadVersion, c.icmpDropBadChecksum, c.ipv4DropFragment, c.ipv4DropNotOurs, c.ethDropNotForUs, c.ipv4DropTruncated, c.ethDropTruncated],
    [1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
  );
  h.send(good);
  assert.equal(h.received().length, 1);
  assert.equal(h.stack.pool.available, h.stack.pool.count);
});

test('icmp: UDP to an owned address gets port unreachable quoting the datagram; unknown protocols get protocol unreachable', () => {
  const h = new Harness();
  learnPeer(h);
  const udp = new Uint8Array(12);
  new DataView(udp.buffer).setUint16(0, 5353);
  new DataView(udp.buffer).setUint16(2, 9);
  h.send(ipv4Frame(ip('198.18.0.1'), ip('198.18.0.11'), 17, udp));
  h.send(ipv4Frame(ip('198.18.0.1'), ip('198.18.0.11'), 99, udp));
  const out = h.received();
  assert.equal(out.length, 2);
  const p = icmpOf(out[0]);
  assert.equal(p.m.type, ICMP_DEST_UNREACH);
  assert.equal(p.m.code, ICMP_UNREACH_PORT);
  assert.equal(p.r.src, ip('198.18.0.11'));
  assert.equal(p.r.dst, ip('198.18.0.1'));
  assert.equal(p.m.payloadLen, 28, 'IP header + 8 bytes');
  assert.equal(dvOf(out[0]).getUint16(14 + 20 + ICMP_HDR_LEN + 20), 5353);
  assert.equal(icmpOf(out[1]).m.code, ICMP_UNREACH_PROTO);
  assert.equal(h.stack.counters.icmpTxUnreach, 2);
});

test('icmp: a received port unreachable reaches the transport that sent the quoted segment', () => {
  const h = new Harness();
  const rec = new Recorder(h);
  h.stack.registerL4(6, rec);
  const quoted = ipv4Frame(ip('198.18.0.10'), ip('198.18.0.1'), 6, Uint8Array.of(0x9c, 0x40, 0, 80, 0, 0, 0, 1)).slice(14, 14 + 28);
  const msg = new Uint8Array(8 + quoted.length);
  msg[0] = ICMP_DEST_UNREACH;
  msg[1] = ICMP_UNREACH_PORT;
  msg.set(quoted, 8);
  new DataView(msg.buffer).setUint16(2, ~fold(sum16(msg, 0, msg.length)) & 0xffff);
  h.send(ipv4Frame(ip('198.18.0.1'), ip('198.18.0.10'), 1, msg));
  assert.deepEqual(rec.errors, [[0x0303, ip('198.18.0.10'), ip('198.18.0.1'), 6, 40000, 80]]);
  assert.equal(h.stack.counters.icmpRxUnreach, 1);
  h.send(ipv4Frame(ip('198.18.0.1'), ip('198.18.0.10'), 6, new Uint8Array(20)));
  assert.deepEqual(rec.inputs, [[20, ip('198.18.0.1'), ip('198.18.0.10')]]);
});

test('icmp: errors are rate-limited', () => {
  const h = new Harness({ icmpErrorsPerSec: 20 });
  learnPeer(h);
  for (let i = 0; i < 10; i++) h.send(ipv4Frame(ip('198.18.0.1'), ip('198.18.0.11'), 17, new Uint8Array(8)));
  assert.equal(h.received().length, 2, 'burst is a tenth of a second');
  assert.equal(h.stack.counters.icmpRateLimited, 8);
});

test('icmp/route: ranges on two VLANs answer and send on their own VLAN only', () => {
  const h = new Harness({
    addrs: [
      { lo: ip('198.18.0.10'), hi: ip('198.18.0.10'), prefixLen: 24, vlan: 10 },
      { lo: ip('198.18.1.10'), hi: ip('198.18.1.10'), prefixLen: 24, vlan: 20 },
    ],
  });
  h.send(echoRequest(ip('198.18.0.1'), ip('198.18.0.10'), 1, 1, 8, 10));
  h.send(echoRequest(ip('198.18.1.1'), ip('198.18.1.10'), 1, 2, 8, 20));
  h.send(echoRequest(ip('198.18.1.1'), ip('198.18.1.10'), 1, 3, 8, 10));
  const out = h.received().map(icmpOf);
  assert.deepEqual(
    out.map((p) => [p.e.vlanId, p.r.src, p.m.seq]),
    [
      [10, ip('198.18.0.10'), 1],
      [20, ip('198.18.1.10'), 2],
    ],
  );
  assert.equal(h.stack.counters.ipv4DropNotOurs, 1, 'right address, wrong VLAN');
  sendSegment(h, ip('198.18.1.10'), ip('198.18.1.77'));
  const arp = h.received();
  assert.equal(arp.length, 1);
  assert.equal(parseEth(arp[0]).vlanId, 20, 'ARP for the next hop goes out on its segment\'s VLAN');
});
