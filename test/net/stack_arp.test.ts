import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newArpRepr, parseArp, ARP_OP_REPLY, ARP_OP_REQUEST } from '../../src/wire/arp.js';
import { ETH_TYPE_ARP } from '../../src/wire/ethernet.js';
import { Harness, arpFrame, dvOf, ip, parseEth, PEER_MAC, STACK_MAC } from './harness.js';

function request(spa: number, tpa: number, sha = PEER_MAC) {
  const a = newArpRepr();
  a.op = ARP_OP_REQUEST;
  a.sha = sha;
  a.spa = spa;
  a.tpa = tpa;
  return a;
}

function readArp(f: Uint8Array) {
  const e = parseEth(f);
  assert.equal(e.ethertype, ETH_TYPE_ARP);
  const a = newArpRepr();
  assert.equal(parseArp(dvOf(f), e.hdrLen, f.length - e.hdrLen, a), 0);
  return { e, a };
}

test('arp: every owned address answers, others do not, and the asker is learned', () => {
  const h = new Harness();
  for (const t of ['198.18.0.10', '198.18.0.11', '198.18.0.12', '198.18.0.13']) h.send(arpFrame(request(ip('198.18.0.1'), ip(t))));
  const out = h.received();
  assert.equal(out.length, 3);
  out.forEach((f, i) => {
    const { e, a } = readArp(f);
    assert.equal(e.dst, PEER_MAC);
    assert.equal(e.src, STACK_MAC);
    assert.equal(a.op, ARP_OP_REPLY);
    assert.equal(a.sha, STACK_MAC);
    assert.equal(a.spa, ip('198.18.0.10') + i);
    assert.equal(a.tha, PEER_MAC);
    assert.equal(a.tpa, ip('198.18.0.1'));
  });
  assert.equal(h.stack.counters.arpTxReplies, 3);
  assert.equal(h.stack.counters.arpDropNotForUs, 0, 'the asker was already merged when .13 was asked');
  assert.equal(h.stack.arpCache.lookup(ip('198.18.0.1'), -1), PEER_MAC);
  h.send(arpFrame(request(ip('198.18.0.2'), ip('198.18.0.99'), 0x02aabbccdd02)));
  assert.equal(h.received().length, 0);
  assert.equal(h.stack.counters.arpDropNotForUs, 1);
  assert.equal(h.stack.arpCache.lookup(ip('198.18.0.2'), -1), -1, 'a stranger talking to others is not learned');
});

test('arp: malformed and truncated packets are counted, then ARP still works', () => {
  const h = new Harness();
  const good = arpFrame(request(ip('198.18.0.1'), ip('198.18.0.10')));
  const badHlen = good.slice();
  badHlen[14 + 4] = 8;
  const badOp = good.slice();
  badOp[14 + 7] = 9;
  h.send(badHlen, badOp, good.slice(0, 14 + 20));
  assert.equal(h.received().length, 0);
  assert.equal(h.stack.counters.arpDropMalformed, 3);
  h.send(good);
  assert.equal(h.received().length, 1);
});

test('arp: gratuitous announcements for every owned address, paced per tick', () => {
  const h = new Harness({ arp: { gratuitous: true, gratuitousPerTick: 2 } });
  assert.ok(h.stack.busy());
  h.pump();
  assert.equal(h.received().length, 2);
  h.pump();
  const last = h.received();
  assert.equal(last.length, 1);
  const { e, a } = readArp(last[0]);
  assert.equal(e.dst, 0xffffffffffff);
  assert.equal(a.spa, ip('198.18.0.12'));
  assert.equal(a.tpa, ip('198.18.0.12'));
  assert.equal(h.stack.counters.arpTxGratuitous, 3);
  assert.equal(h.stack.busy(), false);
});

test('arp: a VLAN address answers only on its VLAN, with the tag', () => {
  const h = new Harness({ addrs: [{ lo: ip('198.18.0.10'), hi: ip('198.18.0.10'), prefixLen: 24, vlan: 100 }] });
  h.send(arpFrame(request(ip('198.18.0.1'), ip('198.18.0.10')), 0xffffffffffff, -1));
  h.send(arpFrame(request(ip('198.18.0.1'), ip('198.18.0.10')), 0xffffffffffff, 200));
  assert.equal(h.received().length, 0);
  assert.equal(h.stack.counters.ethDropVlan, 2);
  h.send(arpFrame(request(ip('198.18.0.1'), ip('198.18.0.10')), 0xffffffffffff, 100));
  const out = h.received();
  assert.equal(out.length, 1);
  assert.equal(readArp(out[0]).e.vlanId, 100);
});

test('arp: a peer claiming one of our addresses is counted as a conflict and teaches nothing', () => {
  const h = new Harness();
  h.send(arpFrame(request(ip('198.18.0.11'), ip('198.18.0.10'))));
  assert.equal(h.received().length, 0);
  assert.equal(h.stack.counters.arpConflicts, 1);
  assert.equal(h.stack.arpCache.lookup(ip('198.18.0.11'), -1), -1);
});
