import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NetConfigError } from '../../src/net/stack.js';
import { newArpRepr, parseArp, ARP_OP_REPLY, ARP_OP_REQUEST } from '../../src/wire/arp.js';
import { ETH_TYPE_ARP, ETH_TYPE_IPV4 } from '../../src/wire/ethernet.js';
import { newIpv4Repr, parseIpv4 } from '../../src/wire/ipv4.js';
import { Harness, Recorder, arpFrame, dvOf, ip, parseEth, sendSegment, PEER_MAC, STACK_MAC } from './harness.js';

function arpOf(f: Uint8Array) {
  const e = parseEth(f);
  assert.equal(e.ethertype, ETH_TYPE_ARP);
  const a = newArpRepr();
  assert.equal(parseArp(dvOf(f), e.hdrLen, f.length - e.hdrLen, a), 0);
  return a;
}

test('route: connected destination resolves by ARP; queued frames leave with the learned MAC', () => {
  const h = new Harness();
  sendSegment(h, ip('198.18.0.11'), ip('198.18.0.1'));
  sendSegment(h, ip('198.18.0.11'), ip('198.18.0.1'));
  const req = h.received();
  assert.equal(req.length, 1, 'one request for two queued frames');
  const a = arpOf(req[0]);
  assert.equal(a.op, ARP_OP_REQUEST);
  assert.equal(a.tpa, ip('198.18.0.1'));
  assert.equal(a.spa, ip('198.18.0.10'));
  const rep = newArpRepr();
  rep.op = ARP_OP_REPLY;
  rep.sha = PEER_MAC;
  rep.spa = ip('198.18.0.1');
  rep.tha = STACK_MAC;
  rep.tpa = ip('198.18.0.10');
  h.send(arpFrame(rep, STACK_MAC));
  const out = h.received();
  assert.equal(out.length, 2);
  for (const f of out) {
    const e = parseEth(f);
    assert.equal(e.dst, PEER_MAC);
    assert.equal(e.ethertype, ETH_TYPE_IPV4);
    const r = newIpv4Repr();
    assert.equal(parseIpv4(dvOf(f), 14, f.length - 14, r), 0, 'header checksum is valid');
    assert.equal(r.src, ip('198.18.0.11'));
    assert.equal(r.dst, ip('198.18.0.1'));
    assert.equal(r.totalLen, 40);
    assert.ok(r.df);
    assert.equal(r.ttl, 64);
  }
  sendSegment(h, ip('198.18.0.11'), ip('198.18.0.1'));
  assert.equal(h.received().length, 1, 'a hit goes straight out');
  assert.equal(h.stack.counters.arpResolved, 1);
});

test('route: the LPM picks the gateway, and the gateway is what ARP asks for', () => {
  const h = new Harness({
    routes: [
      { prefix: 0, len: 0, gateway: ip('198.18.0.1') },
      { prefix: ip('198.18.2.0'), len: 24, gateway: ip('198.18.0.2') },
    ],
  });
  sendSegment(h, ip('198.18.0.10'), ip('198.18.2.9'));
  sendSegment(h, ip('198.18.0.10'), ip('203.0.113.5'));
  const reqs = h.received().map(arpOf);
  assert.deepEqual(
    reqs.map((a) => a.tpa),
    [ip('198.18.0.2'), ip('198.18.0.1')],
  );
});

test('route: no route is counted; an unresolved next hop is retried 3 times, then reported unreachable and held off', () => {
  const h = new Harness({ routes: [] });
  const rec = new Recorder(h);
  h.stack.registerL4(6, rec);
  sendSegment(h, ip('198.18.0.10'), ip('203.0.113.5'));
  assert.equal(h.stack.counters.ipv4TxNoRoute, 1);
  sendSegment(h, ip('198.18.0.10'), ip('198.18.0.77'));
  let requests = h.received().length;
  for (let i = 0; i < 40 && h.stack.counters.arpResolveFailed === 0; i++) {
    h.clock.advance(100_000);
    h.pump();
    requests += h.received().length;
  }
  assert.equal(requests, 3, 'RFC 1122 2.3.2.1: one request per second per destination');
  assert.equal(h.stack.counters.arpResolveFailed, 1);
  assert.deepEqual(rec.errors, [[0x0301, ip('198.18.0.10'), ip('198.18.0.77'), 6, 1234, 80]]);
  assert.equal(h.stack.pool.available, h.stack.pool.count, 'no slot leaked');
  h.clock.advance(500_000);
  h.pump();
  sendSegment(h, ip('198.18.0.10'), ip('198.18.0.77'));
  assert.equal(h.stack.counters.arpHoldDrops, 1);
  assert.equal(h.received().length, 0);
  h.clock.advance(600_000);
  h.pump();
  sendSegment(h, ip('198.18.0.10'), ip('198.18.0.77'));
  assert.equal(h.received().length, 1, 'after the hold-off a new resolution starts');
});

test('route: the queue per destination is bounded', () => {
  const h = new Harness({ arp: { gratuitous: false, pendingPerDest: 4 } });
  for (let i = 0; i < 10; i++) sendSegment(h, ip('198.18.0.10'), ip('198.18.0.1'));
  assert.equal(h.received().length, 1, 'the request');
  assert.equal(h.stack.counters.arpQueued, 4);
  assert.equal(h.stack.counters.arpQueueDrops, 6);
  h.stack.close();
  assert.equal(h.stack.pool.available, h.stack.pool.count);
});

test('route: bad configuration is a NetConfigError naming the problem', () => {
  assert.throws(() => new Harness({ routes: [{ prefix: 0, len: 0, gateway: ip('10.0.0.1') }] }), /gateway 10\.0\.0\.1 is not in a connected subnet/);
  assert.throws(
    () =>
      new Harness({
        addrs: [
          { lo: ip('198.18.0.10'), hi: ip('198.18.0.20'), prefixLen: 24, vlan: -1 },
          { lo: ip('198.18.0.15'), hi: ip('198.18.0.30'), prefixLen: 24, vlan: -1 },
        ],
      }),
    NetConfigError,
  );
  assert.throws(() => new Harness({ mac: 0xffffffffffff }), /not a unicast/);
  assert.throws(() => new Harness({ arp: { pendingDests: 0 } }), /ARP option pendingDests must be a positive integer/);
});

test('route: with a shared ARP table, a reply received by another worker releases this worker\'s queued frames', () => {
  const w1 = new Harness();
  const w2 = new Harness({ arpCache: w1.stack.arpCache });
  sendSegment(w1, ip('198.18.0.10'), ip('198.18.0.1'));
  assert.equal(w1.received().length, 1, 'worker 1 asks');
  const rep = newArpRepr();
  rep.op = ARP_OP_REPLY;
  rep.sha = PEER_MAC;
  rep.spa = ip('198.18.0.1');
  rep.tha = STACK_MAC;
  rep.tpa = ip('198.18.0.10');
  w2.send(arpFrame(rep, STACK_MAC));
  assert.equal(w1.stack.counters.arpResolved, 0);
  w1.clock.advance(1000);
  w1.pump();
  const out = w1.received();
  assert.equal(out.length, 1, 'released on the next tick');
  assert.equal(parseEth(out[0]).dst, PEER_MAC);
  assert.equal(w1.stack.counters.arpResolved, 1);
});

test('route: learned neighbours age out and are asked for again', () => {
  const h = new Harness({ arp: { gratuitous: false, ageMs: 60_000 } });
  const rep = newArpRepr();
  rep.op = ARP_OP_REPLY;
  rep.sha = PEER_MAC;
  rep.spa = ip('198.18.0.1');
  rep.tha = STACK_MAC;
  rep.tpa = ip('198.18.0.10');
  h.send(arpFrame(rep, STACK_MAC));
  sendSegment(h, ip('198.18.0.10'), ip('198.18.0.1'));
  assert.equal(parseEth(h.received()[0]).ethertype, ETH_TYPE_IPV4);
  h.clock.advance(61_000_000);
  h.pump();
  assert.equal(h.stack.counters.arpAged, 1);
  sendSegment(h, ip('198.18.0.10'), ip('198.18.0.1'));
  assert.equal(arpOf(h.received()[0]).op, ARP_OP_REQUEST);
});

test('route: the per-route next-hop MAC follows every change to the ARP entry behind it', () => {
  const h = new Harness({ arp: { gratuitous: false } });
  const cache = h.stack.arpCache;
  const dst = ip('198.18.0.1');
  const other = ip('198.18.0.2');
  const macA = 0x02aabbccdd0a;
  const macB = 0x02aabbccdd0b;
  const macC = 0x02aabbccdd0c;
  const dstOf = (): number[] => h.received().map((f) => parseEth(f).dst);
  cache.insert(dst, -1, macA, 0);
  cache.insert(other, -1, macC, 0);
  sendSegment(h, ip('198.18.0.10'), dst);
  sendSegment(h, ip('198.18.0.10'), dst);
  assert.deepEqual(dstOf(), [macA, macA]);
  // Same route, another next hop: its own entry, then back.
  sendSegment(h, ip('198.18.0.10'), other);
  sendSegment(h, ip('198.18.0.10'), dst);
  assert.deepEqual(dstOf(), [macC, macA]);
  // The entry is rewritten in place (RFC 826 merge): the next frame has the new MAC.
  assert.ok(cache.refresh(dst, -1, macB, 1));
  sendSegment(h, ip('198.18.0.10'), dst);
  assert.deepEqual(dstOf(), [macB]);
  // Removed, and its slot taken by another entry: no stale MAC, ARP asks again.
  assert.ok(cache.remove(dst, -1));
  assert.ok(cache.remove(other, -1));
  cache.insert(other, -1, macC, 2);
  sendSegment(h, ip('198.18.0.10'), dst);
  const req = h.received();
  assert.equal(req.length, 1);
  assert.equal(arpOf(req[0]).tpa, dst, 'an ARP request, not a frame to the old MAC');
});
