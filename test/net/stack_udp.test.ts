/**
 * UDP and ICMP echo requests on a NetStack over an in-memory ring: a bound
 * port's handler gets the data and its echo leaves with a valid checksum
 * (RFC 768), an unbound port answers port unreachable (RFC 1122 §4.1.3.1),
 * bad datagrams are counted by reason, an ICMP error about a datagram we sent
 * reaches the port's handler, and an echo request we send is matched by its
 * reply (RFC 792). No slot is left out of the pool.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UdpLayer, type UdpHandler } from '../../src/net/udp.js';
import { ETH_TYPE_IPV4 } from '../../src/wire/ethernet.js';
import { ICMP_DEST_UNREACH, ICMP_ECHO_REQUEST, ICMP_HDR_LEN, ICMP_UNREACH_PORT, newIcmpRepr, parseIcmp } from '../../src/wire/icmp.js';
import { newIpv4Repr, parseIpv4 } from '../../src/wire/ipv4.js';
import { fold, sum16 } from '../../src/wire/checksum.js';
import { emitUdp, newUdpRepr, parseUdp } from '../../src/wire/udp.js';
import { L4_OFF } from '../../src/net/layout.js';
import { Harness, dvOf, ip, ipv4Frame, parseEth, PEER_MAC } from './harness.js';

const PEER = ip('198.18.0.1');
const OWN = ip('198.18.0.11');

function udpDatagram(src: number, dst: number, srcPort: number, dstPort: number, data: Uint8Array): Uint8Array {
  const u8 = new Uint8Array(8 + data.length);
  u8.set(data, 8);
  const r = newUdpRepr();
  r.srcPort = srcPort;
  r.dstPort = dstPort;
  r.payloadLen = data.length;
  emitUdp(r, dvOf(u8), 0, src, dst);
  return u8;
}

/** The IPv4 header and L4 offset of a frame the stack sent. */
function l3Of(f: Uint8Array): { r: ReturnType<typeof newIpv4Repr>; l4: number } {
  const e = parseEth(f);
  assert.equal(e.ethertype, ETH_TYPE_IPV4);
  const r = newIpv4Repr();
  assert.equal(parseIpv4(dvOf(f), e.hdrLen, f.length - e.hdrLen, r), 0);
  return { r, l4: e.hdrLen + r.ihl };
}

class Echo implements UdpHandler {
  readonly got: number[][] = [];
  readonly errors: number[][] = [];
  constructor(private readonly udp: UdpLayer) {}
  onDatagram(u8: Uint8Array, off: number, len: number, srcIp: number, srcPort: number, dstIp: number, dstPort: number): void {
    this.got.push([len, srcIp, srcPort, dstPort]);
    this.udp.send(dstIp, dstPort, srcIp, srcPort, u8, off, len);
  }
  onError(code: number, dstIp: number, dstPort: number): void {
    this.errors.push([code, dstIp, dstPort]);
  }
}

function setup(): { h: Harness; udp: UdpLayer; echo: Echo } {
  const h = new Harness();
  h.stack.arpCache.insert(PEER, -1, PEER_MAC, 0);
  const udp = new UdpLayer(h.stack);
  h.stack.registerL4(17, udp);
  const echo = new Echo(udp);
  assert.equal(udp.bind(7, echo), true);
  assert.equal(udp.bind(7, echo), false, 'a port binds once');
  return { h, udp, echo };
}

test('udp: a bound port gets the data and its echo leaves with the ports swapped and a valid checksum', () => {
  const { h, udp, echo } = setup();
  const data = Uint8Array.from({ length: 300 }, (_, i) => i & 0xff);
  h.send(ipv4Frame(PEER, OWN, 17, udpDatagram(PEER, OWN, 40000, 7, data)));
  assert.deepEqual(echo.got, [[300, PEER, 40000, 7]]);
  const out = h.received();
  assert.equal(out.length, 1);
  const { r, l4 } = l3Of(out[0]);
  assert.deepEqual([r.src, r.dst, r.proto], [OWN, PEER, 17]);
  const u = newUdpRepr();
  assert.equal(parseUdp(dvOf(out[0]), l4, r.totalLen - r.ihl, u, OWN, PEER), 0, 'checksum verifies');
  assert.deepEqual([u.srcPort, u.dstPort, u.payloadLen], [7, 40000, 300]);
  assert.deepEqual(out[0].subarray(u.payloadOff, u.payloadOff + 300), data);
  assert.deepEqual([udp.counters.datagramsIn, udp.counters.datagramsOut, udp.counters.bytesIn, udp.counters.bytesOut], [1, 1, 300, 300]);
  assert.equal(h.stack.pool.available, h.stack.pool.count);
});

test('udp: an unbound port answers port unreachable quoting the datagram; bad datagrams are dropped by reason', () => {
  const { h, udp, echo } = setup();
  h.send(ipv4Frame(PEER, OWN, 17, udpDatagram(PEER, OWN, 40001, 9, Uint8Array.of(1, 2, 3))));
  const out = h.received();
  assert.equal(out.length, 1);
  const { r, l4 } = l3Of(out[0]);
  const m = newIcmpRepr();
  assert.equal(parseIcmp(dvOf(out[0]), l4, r.totalLen - r.ihl, m), 0);
  assert.deepEqual([m.type, m.code, r.dst], [ICMP_DEST_UNREACH, ICMP_UNREACH_PORT, PEER]);
  assert.equal(dvOf(out[0]).getUint16(l4 + ICMP_HDR_LEN + 20), 40001, 'the quoted source port');
  assert.equal(udp.counters.noPort, 1);
  const bad = udpDatagram(PEER, OWN, 40000, 7, Uint8Array.of(1, 2, 3, 4));
  bad[9] ^= 0xff;
  const long = udpDatagram(PEER, OWN, 40000, 7, Uint8Array.of(1, 2));
  dvOf(long).setUint16(4, 64);
  h.send(ipv4Frame(PEER, OWN, 17, bad), ipv4Frame(PEER, OWN, 17, long), ipv4Frame(PEER, OWN, 17, new Uint8Array(5)));
  assert.deepEqual([udp.counters.dropBadChecksum, udp.counters.dropBadLength, udp.counters.dropTruncated], [1, 1, 1]);
  assert.deepEqual(echo.got, []);
  assert.equal(h.received().length, 0);
  assert.equal(h.stack.pool.available, h.stack.pool.count);
});

test('udp: a port unreachable about a datagram we sent reaches the handler of its source port', () => {
  const { h, udp, echo } = setup();
  assert.equal(udp.send(OWN, 7, PEER, 5555, Uint8Array.of(9, 9), 0, 2), true);
  h.pump();
  const sent = h.received()[0];
  const quoted = sent.slice(14, 14 + 28);
  const msg = new Uint8Array(8 + quoted.length);
  msg[0] = ICMP_DEST_UNREACH;
  msg[1] = ICMP_UNREACH_PORT;
  msg.set(quoted, 8);
  dvOf(msg).setUint16(2, ~fold(sum16(msg, 0, msg.length)) & 0xffff);
  h.send(ipv4Frame(PEER, OWN, 1, msg));
  assert.deepEqual(echo.errors, [[0x0303, PEER, 5555]]);
});

test('icmp: an echo request we send leaves well-formed, and its reply reaches the echo handler by identifier and sequence', () => {
  const { h } = setup();
  const pool = h.stack.pool;
  const s = pool.alloc();
  pool.u8.fill(0x5a, pool.base(s) + L4_OFF + ICMP_HDR_LEN, pool.base(s) + L4_OFF + ICMP_HDR_LEN + 40);
  h.stack.sendEcho(s, OWN, PEER, 0x1234, 7, 40);
  h.pump();
  const out = h.received();
  assert.equal(out.length, 1);
  const { r, l4 } = l3Of(out[0]);
  const m = newIcmpRepr();
  assert.equal(parseIcmp(dvOf(out[0]), l4, r.totalLen - r.ihl, m), 0, 'ICMP checksum is valid');
  assert.deepEqual([m.type, m.ident, m.seq, m.payloadLen, r.src, r.dst], [ICMP_ECHO_REQUEST, 0x1234, 7, 40, OWN, PEER]);
  assert.equal(h.stack.counters.icmpTxEchoRequests, 1);
  const replies: number[][] = [];
  h.stack.setEchoHandler({ onEchoReply: (ident, seq, u8, off, len, src) => replies.push([ident, seq, len, src, u8[off]]) });
  const reply = out[0].slice(l4, l4 + r.totalLen - r.ihl);
  reply[0] = 0;
  dvOf(reply).setUint16(2, 0);
  dvOf(reply).setUint16(2, ~fold(sum16(reply, 0, reply.length)) & 0xffff);
  h.send(ipv4Frame(PEER, OWN, 1, reply));
  assert.deepEqual(replies, [[0x1234, 7, 40, PEER, 0x5a]]);
  assert.equal(h.stack.pool.available, h.stack.pool.count);
});
