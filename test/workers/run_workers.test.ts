/**
 * runSession without a network: the queue count it puts into the port
 * spec, the errors it and the stack pipeline name, and a run on the null driver (N workers, summed
 * and per-worker counters, clean stop with no leaked slots).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runSession, specWithQueues } from '../../src/run/session.js';
import { WorkerSet } from '../../src/run/workers.js';
import { ArpCache } from '../../src/net/arp_cache.js';
import { parseRunOptions } from '../../src/mgmt/cli/stack_config.js';
import { MAC_METRIC, stackMetricNames, groupStackMetrics } from '../../src/run/stack_pipeline.js';

test('specWithQueues gives every worker a queue and refuses a queue count that leaves queues unpolled', () => {
  assert.equal(specWithQueues('af_packet:iface=eth1', 2), 'af_packet:queues=2,iface=eth1');
  assert.equal(specWithQueues('null', 3), 'null:queues=3');
  assert.equal(specWithQueues('af_packet:iface=eth1,queues=2', 2), 'af_packet:iface=eth1,queues=2');
  assert.equal(specWithQueues('dpdk:eal=-l 0 --no-huge --vdev=net_ring0,nodrop', 2), 'dpdk:queues=2,eal=-l 0 --no-huge --vdev=net_ring0,nodrop');
  assert.throws(() => specWithQueues('af_packet:iface=eth1,queues=4', 2), /the port has queues=4; each queue needs a worker/);
  assert.throws(() => specWithQueues('bogus:x=1', 2), /unknown port driver 'bogus'/);
});

test('metric names and their grouping round-trip the stack counters', () => {
  const names = stackMetricNames('http');
  assert.ok(names.includes('net_icmp_tx_echo_replies'));
  assert.ok(names.includes('tcp_passive_opens'));
  assert.ok(names.includes('app_requests'));
  assert.ok(!stackMetricNames('none').some((n) => n.startsWith('tcp_') || n.startsWith('app_')));
  const snap: Record<string, number> = { loop_polls: 3, [MAC_METRIC]: 5 };
  names.forEach((n, i) => (snap[n] = i + 1));
  const g = groupStackMetrics(snap, 'http');
  assert.equal(g.net.icmpTxEchoReplies, snap.net_icmp_tx_echo_replies);
  assert.equal(g.tcp?.passiveOpens, snap.tcp_passive_opens);
  assert.equal(g.app?.requests, snap.app_requests);
  assert.deepEqual(g.loop, { polls: 3 });
});

test('bad plans are refused with the reason, before or at worker start', async () => {
  const base = { port: 'null', srcIp: ['198.18.8.10'] };
  await assert.rejects(runSession(parseRunOptions(base), 0), /--workers: 0 is not an integer/);
  await assert.rejects(runSession(parseRunOptions({ ...base, client: 'http://198.18.8.1/', saveBody: 'b.bin' }), 2), /--save-body: not with --workers/);
  const overlapping = parseRunOptions({ ...base, srcIp: ['198.18.8.10-198.18.8.20', '198.18.8.15'] });
  await assert.rejects(runSession(overlapping, 2, { log: () => {} }), /worker \d: address range 198\.18\.8\.15-198\.18\.8\.15 overlaps another/);
});

test('two workers on the null driver: start, per-worker and summed counters, clean stop', async () => {
  const lines: string[] = [];
  const ac = new AbortController();
  const plan = parseRunOptions({ port: 'null', srcIp: ['198.18.8.10-198.18.8.13'], server: true, mac: '02:00:00:00:08:01' });
  const log = (l: string): void => {
    lines.push(l);
    // Once started: long enough for the first live line and worker 0's gratuitous ARP.
    if (lines.length === 1) setTimeout(() => ac.abort(), 1500);
  };
  const r = await runSession(plan, 2, { log, signal: ac.signal });
  assert.match(lines[0], /^vaigai: null null mac 02:00:00:00:08:01, 4 addresses 198\.18\.8\.10-198\.18\.8\.13\/24; 2 workers/);
  assert.ok(lines.some((l) => /^\[\s+1s\] 2 workers \| rx 0 \(0\/0\)/.test(l)), lines.join('\n'));
  assert.equal(r.perWorker.length, 2);
  for (const w of r.results) {
    assert.equal(w.error, null);
    assert.equal(w.stats?.slots_in_use, 0, `worker ${w.workerIdx} leaked slots`);
  }
  // Only worker 0 announces the owned addresses; the null port swallows them.
  assert.equal(r.perWorker[0].net.arpTxGratuitous, 4);
  assert.equal(r.perWorker[1].net.arpTxGratuitous, 0);
  assert.equal(r.total.net.txFrames, 4);
  assert.equal(r.total.loop.ticks, r.perWorker[0].loop.ticks + r.perWorker[1].loop.ticks);
  assert.ok(r.perWorker[1].loop.ticks > 100, 'worker 1 ran its loop');
  const camel = (k: string): string => k.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
  const appKeys = stackMetricNames('http').filter((k) => k.startsWith('app_')).map((k) => camel(k.slice(4)));
  assert.ok(['accepted', 'requests', 'responses', 'closedHeaderTimeout', 'droppedShed', 'tlsAbandoned'].every((k) => appKeys.includes(k)), appKeys.join());
  assert.deepEqual(r.total.app, Object.fromEntries(appKeys.map((k) => [k, 0])));
});

test('the stack pipeline refuses a config that is not one, naming the field', async () => {
  const start = (config: unknown): Promise<WorkerSet> =>
    WorkerSet.start({ workers: [{ port: 'null' }], pipeline: new URL('../../src/run/stack_pipeline.js', import.meta.url), config, metrics: stackMetricNames('none') });
  await assert.rejects(start({ addrs: [], routes: [] }), /worker 0: stack pipeline: arpTable must be a SharedArrayBuffer/);
  const table = new ArpCache(16);
  const base = { mac: -1, addrs: [{ lo: 0xc6120801, hi: 0xc6120801, prefixLen: 24, vlan: -1 }], routes: [], arpTable: table.words.buffer, arpCacheSize: 16, maxConns: 16, tcpWindow: 0 };
  await assert.rejects(start({ ...base, tcpWindow: '4m', app: { kind: 'none' } }), /worker 0: stack pipeline: mac, arpCacheSize, maxConns and tcpWindow must be numbers/);
  await assert.rejects(start({ ...base, app: { kind: 'bogus' } }), /worker 0: stack pipeline: unknown app kind "bogus"/);
  await assert.rejects(start({ ...base, app: { kind: 'client' } }), /worker 0: stack pipeline: a client app needs steer\.rings/);
  await assert.rejects(start({ ...base, arpCacheSize: 1000, app: { kind: 'none' } }), /worker 0: shared ARP table is \d+ bytes, expected \d+/);
  const ok = await start({ ...base, app: { kind: 'none' } });
  // The announcement goes out on the first ticks (bounded wait, not a timing assertion).
  const deadline = Date.now() + 10_000;
  while (ok.metricsOf(0).net_arp_tx_gratuitous === 0 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 5));
  const [r] = await ok.stop();
  assert.equal(r.error, null);
  assert.equal(ok.metricsOf(0).net_arp_tx_gratuitous, 1, 'worker 0 announced its one address');
});
