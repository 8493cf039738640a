import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ArpCache, ARP_STATIC } from '../../src/net/arp_cache.js';

test('arp cache: insert, lookup per VLAN, merge only updates, static entries stay', () => {
  const c = new ArpCache(16);
  assert.equal(c.lookup(0xc6120001, -1), -1);
  assert.equal(c.refresh(0xc6120001, -1, 0x02aabbccdd01, 0), false, 'merge does not add');
  assert.ok(c.insert(0xc6120001, -1, 0x02aabbccdd01, 0));
  assert.ok(c.insert(0xc6120001, 100, 0x02aabbccdd02, 0));
  assert.equal(c.lookup(0xc6120001, -1), 0x02aabbccdd01);
  assert.equal(c.lookup(0xc6120001, 100), 0x02aabbccdd02);
  assert.ok(c.refresh(0xc6120001, -1, 0xfeffffffffff, 5));
  assert.equal(c.lookup(0xc6120001, -1), 0xfeffffffffff, 'all 48 bits survive');
  assert.ok(c.insert(0xc6120009, -1, 0x020000000009, 0, ARP_STATIC));
  c.refresh(0xc6120009, -1, 0x02000000000a, 5);
  assert.equal(c.lookup(0xc6120009, -1), 0x020000000009);
  assert.equal(c.size, 3);
});

test('arp cache: bounded size, aging sweep, and deletions keep every other entry reachable', () => {
  const c = new ArpCache(200);
  const model = new Map<number, number>();
  let seed = 7;
  const rnd = (): number => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0);
  for (let i = 0; i < 5000; i++) {
    const ip = 0xc6120000 + (rnd() % 400);
    if (rnd() % 3 === 0) {
      assert.equal(c.remove(ip, -1), model.delete(ip));
    } else {
      const ok = c.insert(ip, -1, 0x020000000000 + i, i);
      assert.equal(ok, model.has(ip) || model.size < 200);
      if (ok) model.set(ip, 0x020000000000 + i);
    }
  }
  assert.equal(c.size, model.size);
  for (let ip = 0xc6120000; ip < 0xc6120000 + 400; ip++) assert.equal(c.lookup(ip, -1), model.get(ip) ?? -1);
  // Entries confirmed at ms 4000 and later survive a sweep at 5000 with age 1000.
  const removed = c.sweep(5000, 1000);
  let kept = 0;
  for (const [ip, mac] of model) {
    const at = mac - 0x020000000000;
    if (at > 4000) {
      assert.equal(c.lookup(ip, -1), mac);
      kept++;
    } else assert.equal(c.lookup(ip, -1), -1);
  }
  assert.equal(c.size, kept);
  assert.equal(removed, model.size - kept);
});

test('arp cache: a second view over the same shared buffer sees the writes', () => {
  const a = new ArpCache(64);
  const b = new ArpCache(64, a.words.buffer as SharedArrayBuffer);
  a.insert(0xc6120005, 7, 0x020000000005, 0);
  assert.equal(b.lookup(0xc6120005, 7), 0x020000000005);
  assert.throws(() => new ArpCache(128, a.words.buffer as SharedArrayBuffer), RangeError);
});

test('arp cache: a reader in this thread never sees a torn MAC while a worker thread rewrites and deletes entries', async () => {
  const { Worker } = await import('node:worker_threads');
  const c = new ArpCache(64);
  const moduleUrl = new URL('../../src/net/arp_cache.js', import.meta.url).href;
  // MAC = (v & 0xffff) << 32 | v: a torn read would pair halves of different versions.
  const w = new Worker(
    `
    const { workerData } = require('node:worker_threads');
    import(workerData.moduleUrl).then(({ ArpCache }) => {
      const c = new ArpCache(64, workerData.buf);
      const end = Date.now() + 300;
      let v = 1;
      while (Date.now() < end) {
        for (let ip = 1; ip <= 40; ip++) {
          v = (v + 1) >>> 0;
          c.insert(ip, -1, (v & 0xffff) * 4294967296 + v, 0);
          if ((v & 7) === 0) c.remove(ip - 1 || 40, -1);
        }
      }
    });`,
    { eval: true, workerData: { buf: c.words.buffer, moduleUrl } },
  );
  const exited = new Promise((resolve) => w.once('exit', resolve));
  let hits = 0;
  let torn = 0;
  let done = false;
  void exited.then(() => (done = true));
  while (!done) {
    for (let ip = 1; ip <= 40; ip++) {
      const mac = c.lookup(ip, -1);
      if (mac < 0) continue;
      hits++;
      if (Math.floor(mac / 4294967296) !== (mac % 4294967296) % 65536) torn++;
    }
    await new Promise((r) => setImmediate(r));
  }
  assert.equal(torn, 0);
  assert.ok(hits > 0, 'the reader saw entries');
});
