import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Harness, echoRequest, ip, STACK_MAC } from './harness.js';

test('stack: 20k random and mutated frames never throw and never leak a slot; ping still answers', () => {
  const h = new Harness({ addrs: [{ lo: ip('198.18.0.10'), hi: ip('198.18.0.12'), prefixLen: 24, vlan: -1 }] });
  h.stack.arpCache.insert(ip('198.18.0.1'), -1, 0x02aabbccdd01, 0);
  let seed = 99;
  const rnd = (n: number): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n;
  const seedFrame = echoRequest(ip('198.18.0.1'), ip('198.18.0.10'), 1, 1, 24);
  const types = [0x0800, 0x0806, 0x8100, 0x86dd, 0x0001];
  for (let i = 0; i < 20_000; i++) {
    let f: Uint8Array;
    if (rnd(2) === 0) {
      // A valid echo request with a few bytes flipped and a random cut.
      f = seedFrame.slice(0, 14 + rnd(seedFrame.length - 13));
      for (let k = rnd(4); k >= 0; k--) f[14 + rnd(Math.max(1, f.length - 14))] ^= 1 << rnd(8);
    } else {
      f = new Uint8Array(rnd(120));
      for (let k = 0; k < f.length; k++) f[k] = rnd(256);
      if (f.length >= 14) {
        new DataView(f.buffer).setUint16(0, Math.floor(STACK_MAC / 2 ** 32));
        new DataView(f.buffer).setUint32(2, STACK_MAC >>> 0);
        new DataView(f.buffer).setUint16(12, types[rnd(types.length)]);
      }
    }
    h.send(f);
    if (i % 64 === 0) h.received();
  }
  h.received();
  h.clock.advance(5_000_000);
  h.pump();
  h.received();
  h.send(seedFrame);
  assert.equal(h.received().length, 1, 'the unmutated request still gets its reply');
  h.stack.close();
  assert.equal(h.stack.pool.available, h.stack.pool.count, 'every slot is back in the pool');
  const c = h.stack.counters;
  assert.ok(c.ipv4DropBadChecksum + c.ipv4DropTruncated + c.icmpDropBadChecksum > 1000, 'mutations were seen and counted');
});
