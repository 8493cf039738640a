import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BufferPool } from '../../src/core/buffer_pool.js';
import { Worker } from 'node:worker_threads';
import { getAffinity, loadNative, nativeDrivers, nativeLoadError } from '../../src/port/native.js';
import { softNic } from '../../src/port/soft_nic.js';
import { hugepageStatus, openPort, parsePortSpec, PORT_OPTIONS, PortSpecError, type PortErrorCode } from '../../src/port/spec.js';
import { NetnsLab, netTestSkipReason } from '../helpers/netns.js';

function throwsCode(fn: () => unknown, code: PortErrorCode, text: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof PortSpecError, `a PortSpecError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.match(e.message, text);
    return true;
  });
}

test('spec: driver and options', () => {
  assert.deepEqual(parsePortSpec('af_packet:iface=eth1,queues=2'), {
    driver: 'af_packet',
    options: { iface: 'eth1', queues: '2' },
    ealArgs: [],
  });
  assert.deepEqual(parsePortSpec(' tap:name=vg0 '), { driver: 'tap', options: { name: 'vg0' }, ealArgs: [] });
  assert.deepEqual(parsePortSpec('ring'), { driver: 'ring', options: {}, ealArgs: [] });
  assert.deepEqual(parsePortSpec('af_packet:iface=eth1,qdisc_bypass').options, { iface: 'eth1', qdisc_bypass: '' });
});

test('spec: dpdk EAL arguments from eal= (to the end) and after --', () => {
  const s = parsePortSpec('dpdk:queues=2,eal=-l 0 --no-huge --vdev=net_ring0,nodeaction=r0:0:CREATE', ['-a', '0000:81:00.0']);
  assert.deepEqual(s.options, { queues: '2' });
  assert.deepEqual(s.ealArgs, ['-l', '0', '--no-huge', '--vdev=net_ring0,nodeaction=r0:0:CREATE', '-a', '0000:81:00.0']);
  assert.deepEqual(parsePortSpec('dpdk', ['-l', '0-3']).ealArgs, ['-l', '0-3']);
});

test('spec: errors name the problem', () => {
  throwsCode(() => parsePortSpec('pcie:iface=x'), 'unknown-driver', /unknown port driver 'pcie'.*af_packet/);
  throwsCode(() => parsePortSpec(''), 'unknown-driver', /empty port spec/);
  throwsCode(() => parsePortSpec('af_packet:ifname=eth1'), 'unknown-option', /no option 'ifname'.*iface/);
  throwsCode(() => parsePortSpec('tap:name=a,name=b'), 'syntax', /given twice/);
  throwsCode(() => parsePortSpec('af_packet:=x'), 'syntax', /empty option name/);
  throwsCode(() => parsePortSpec('af_packet:iface=eth1', ['-l', '0']), 'syntax', /EAL arguments/);
  throwsCode(() => openPort('null:queues=0'), 'syntax', /queues=0/);
  throwsCode(() => openPort('tap'), 'syntax', /tap needs a device name/);
});

test('spec: every af_xdp and dpdk option parses; unknown ones are refused by name', () => {
  assert.deepEqual(parsePortSpec('af_xdp:iface=eth1,queue=2,queues=2,mode=copy,xdp=skb,frames=8192,netns=vg').options, {
    iface: 'eth1',
    queue: '2',
    queues: '2',
    mode: 'copy',
    xdp: 'skb',
    frames: '8192',
    netns: 'vg',
  });
  const d = parsePortSpec('dpdk:dev=net_ring0,port=1,pair=p,side=1,queues=2,rxd=512,txd=512,mbufs=4095,promisc=0,netns=vg,eal=-l 0 --no-huge');
  assert.deepEqual(d.options, {
    dev: 'net_ring0',
    port: '1',
    pair: 'p',
    side: '1',
    queues: '2',
    rxd: '512',
    txd: '512',
    mbufs: '4095',
    promisc: '0',
    netns: 'vg',
  });
  assert.deepEqual(d.ealArgs, ['-l', '0', '--no-huge']);
  assert.deepEqual(parsePortSpec('dpdk:queues=2,eal'), { driver: 'dpdk', options: { queues: '2' }, ealArgs: [] });
  assert.deepEqual(parsePortSpec('af_packet:iface=eth1,promisc').options, { iface: 'eth1', promisc: '' });
  throwsCode(() => parsePortSpec('af_xdp:iface=eth1,zerocopy=1'), 'unknown-option', /^af_xdp has no option 'zerocopy' \(options: iface, queue, queues, mode, xdp, frames, netns\)$/);
  throwsCode(() => parsePortSpec('dpdk:rxq=2,eal=-l 0'), 'unknown-option', /^dpdk has no option 'rxq' \(options: dev, port, pair, side, queues, rxd, txd, mbufs, promisc, netns, eal\)$/);
  throwsCode(() => parsePortSpec('tap:name=vg0,promisc=1'), 'unknown-option', /tap has no option 'promisc'/);
});

test('spec: the option lists are the names the native drivers read', () => {
  for (const d of ['af_packet', 'af_xdp', 'tap', 'dpdk'] as const) {
    const src = readFileSync(new URL(`../../../native/port_${d}.cc`, import.meta.url), 'utf8');
    const read = new Set([...src.matchAll(/opt_(?:str|uint|bool)\(opts, "(\w+)"|opts\.find\("(\w+)"\)/g)].map((m) => m[1] ?? m[2]));
    // eal is not a driver option: parsePortSpec turns it into the EAL argument list.
    const listed = PORT_OPTIONS[d].filter((o) => o !== 'eal');
    assert.deepEqual([...read].sort(), [...listed].sort(), `${d}: native/port_${d}.cc reads exactly the listed options`);
  }
});

test('spec: in-memory drivers open without the addon', () => {
  const n = openPort('null:queues=2');
  assert.equal(n.driver, 'null');
  assert.equal(n.queueCount, 2);
  const r = openPort('ring:queues=3,capacity=8');
  assert.equal(r.driver, 'ring');
  assert.equal(r.queueCount, 3);
  const pool = new BufferPool(4);
  const q = r.openQueue(2, pool);
  assert.equal(q.queueId, 2);
});

test('spec: missing interface, in the root namespace and in another one', (t) => {
  const reason = netTestSkipReason();
  if (reason) return t.skip(reason);
  if (!nativeDrivers().includes('af_packet')) return t.skip('af_packet not built');
  throwsCode(() => openPort('af_packet:iface=vgnat-none'), 'missing-interface', /'vgnat-none' not found/);
  throwsCode(() => openPort('af_packet:queues=2'), 'missing-interface', /needs an interface/);
  const lab = new NetnsLab('vgnat-');
  t.after(() => lab.cleanup());
  const ns = lab.addNs('spec');
  throwsCode(() => openPort(`af_packet:iface=vgnat-none,netns=${ns}`), 'missing-interface', /not found in netns vgnat-spec/);
  throwsCode(() => openPort('af_packet:iface=lo,netns=vgnat-nosuch'), 'missing-interface', /namespace 'vgnat-nosuch' not found/);
  throwsCode(() => openPort(`af_packet:iface=lo,netns=${ns},queues=many`), 'open-failed', /queues=many/);
  const p = openPort(`af_packet:iface=lo,netns=${ns},queues=2`);
  assert.equal(p.driver, 'af_packet');
  assert.equal(p.queueCount, 2);
  assert.equal(p.caps.rxVlanStrip, true);
  assert.match(softNic(p).quirks.join('\n'), /ethtool -K <peer> tx off/);
  p.close();
});

test('spec: no permission names the capability', (t) => {
  const reason = netTestSkipReason();
  if (reason) return t.skip(reason);
  if (!nativeDrivers().includes('af_packet')) return t.skip('af_packet not built');
  // The same process, as user nobody: no CAP_NET_RAW.
  const spec = new URL('../../src/port/spec.js', import.meta.url).pathname;
  const script = `import(${JSON.stringify(spec)}).then((m) => {
    for (const s of ['af_packet:iface=lo', 'tap:name=vgnat-x']) {
      try { m.openPort(s); console.log('opened'); } catch (e) { console.log(e.code + ': ' + e.message); }
    }
  });`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { uid: 65534, gid: 65534, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.match(lines[0], /^permission: af_packet needs root or CAP_NET_RAW/);
  assert.match(lines[1], /^permission: tap needs root or CAP_NET_ADMIN/);
});

test('spec: drivers left out of the build and dpdk without hugepages', (t) => {
  const built = nativeDrivers();
  let checked = 0;
  for (const d of ['af_xdp', 'dpdk']) {
    if (built.length > 0 && !built.includes(d)) {
      throwsCode(() => openPort(`${d}:iface=lo`), 'not-built', new RegExp(`${d} driver is not built.*install-deps`));
      checked++;
    }
  }
  if (built.includes('dpdk') && hugepageStatus().total === 0) {
    throwsCode(() => openPort('dpdk:eal=-l 0'), 'hugepages', /no hugepages.*--no-huge/);
    checked++;
  }
  if (checked === 0) t.skip('every driver is built and hugepages are configured: nothing to refuse here');
});

test('soft_nic: settings and quirks from the driver and its caps', () => {
  const ring = softNic(openPort('ring:queues=2'));
  assert.equal(ring.queues, 2);
  assert.equal(ring.maxFrame, 1518, 'MTU 1500 + Ethernet header + one tag');
  assert.equal(ring.swTxChecksum, true);
  assert.equal(ring.swRxChecksum, true);
  assert.deepEqual(ring.quirks, []);
  const one = softNic(openPort('null'), 4);
  assert.equal(one.queues, 1, 'bounded by the port');
  assert.match(one.quirks.join('\n'), /4 queues asked, the port has 1/);
  assert.throws(() => softNic(openPort('null'), 0), RangeError);
});

test('native: pinThread and getAffinity act on the calling thread only', async (t) => {
  if (loadNative() === null) return t.skip(nativeLoadError());
  const before = getAffinity();
  const native = new URL('../../src/port/native.js', import.meta.url).href;
  const w = new Worker(
    `import(${JSON.stringify(native)}).then((m) => {
      const { parentPort } = require('node:worker_threads');
      m.pinThread(${before[before.length - 1]});
      let err = '';
      try { m.pinThread(4096); } catch (e) { err = e.message; }
      parentPort.postMessage({ after: m.getAffinity(), err });
    });`,
    { eval: true },
  );
  const msg = await new Promise<{ after: number[]; err: string }>((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  });
  await w.terminate();
  assert.deepEqual(msg.after, [before[before.length - 1]], 'the worker is pinned');
  assert.match(msg.err, /cpu 4096 is out of range/);
  assert.deepEqual(getAffinity(), before, 'the main thread is not');
});

test('spec: without the addon, native drivers are refused and the in-memory ones still open', (t) => {
  // The same compiled sources in a tree with no build/ directory beside them.
  const root = mkdtempSync(join(tmpdir(), 'vgnat-noaddon-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  cpSync(new URL('../../src', import.meta.url).pathname, join(root, 'dist', 'src'), { recursive: true });
  const spec = join(root, 'dist', 'src', 'port', 'spec.js');
  const script = `import(${JSON.stringify(spec)}).then((m) => {
    try { m.openPort('af_packet:iface=lo'); console.log('opened'); } catch (e) { console.log(e.code + ': ' + e.message); }
    console.log(m.openPort('ring').driver);
  });`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const [refused, ring] = r.stdout.trim().split('\n');
  assert.match(refused, /^not-built: af_packet: native addon not built \(.*vaigai_native\.node missing\)/);
  assert.equal(ring, 'ring');
});

test('native: bad registrations are refused; bad bursts return -errno, never throw', (t) => {
  const addon = loadNative();
  if (addon === null || !nativeDrivers().includes('af_packet')) return t.skip(nativeLoadError() || 'af_packet not built');
  const reason = netTestSkipReason();
  if (reason) return t.skip(reason);
  const lab = new NetnsLab('vgnat-');
  t.after(() => lab.cleanup());
  const port = addon.open('af_packet', { iface: 'lo', netns: lab.addNs('bad') }, '');
  t.after(() => port.close());
  const reg = (over: object) => ({
    buffer: new ArrayBuffer(4096),
    slotSize: 2048,
    dataOff: new Uint16Array(2),
    dataLen: new Uint16Array(2),
    freeStack: new Int32Array([0, 5]),
    headroom: 128,
    rxSlots: new Int32Array(2),
    txSlots: new Int32Array([7]),
    ...over,
  });
  assert.throws(() => port.openQueue(0, reg({ rxSlots: new Uint8Array(4) })), /rxSlots must be an Int32Array/);
  assert.throws(() => port.openQueue(0, reg({ dataOff: new Uint16Array(3), dataLen: new Uint16Array(3) })), /do not describe one pool/);
  assert.throws(() => port.openQueue(0, reg({ headroom: 2048 })), /do not describe one pool/);
  assert.throws(() => port.openQueue(3, reg({})), /no queue 3/);
  const q = port.openQueue(0, reg({}));
  assert.equal(q.rx(2, 2), -22, 'free slot 5 is outside the pool: EINVAL');
  assert.equal(q.rx(1, 3), -22, 'a stack top above the pool size: EINVAL');
  assert.equal(q.rx(1, -1), -22);
  assert.equal(q.rx(1, 0), 0, 'an empty pool receives nothing');
  assert.throws(() => q.setRxOut(new Uint8Array(4) as unknown as Int32Array), /setRxOut: the output must be an Int32Array/);
  assert.equal(q.tx(1), -22);
  assert.equal(q.rx('x' as unknown as number, 1), -22);
  assert.equal(q.rx(1, undefined as unknown as number), -22);
  assert.equal(q.stats().txFrames, 0);
  q.close();
  assert.equal(q.rx(1, 1), -9, 'closed: EBADF');
});
