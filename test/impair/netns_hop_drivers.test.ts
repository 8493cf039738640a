/**
 * `vaigai impair` on the tap and dpdk drivers, as the hop between two hosts
 * (the af_packet and af_xdp hops are in netns_hop.test.ts; the ring port is the
 * engine's own test bed: ring_stats.test.ts and bridge.test.ts). Three
 * namespaces, client 198.18.9.1 and server 198.18.9.2, and Linux's curl
 * downloads 20 MB from a kernel HTTP server through the hop, sha256 equal.
 *
 * tap: the hop creates two tap devices in the middle namespace; each is put
 * into a Linux bridge of its own with the veth towards one host:
 *
 *   client -- m0 [br0] t0 == vaigai impair == t1 [br1] m1 -- server
 *
 * The two bridges share no port, so every frame crosses the hop.
 * dpdk: one EAL (`--no-huge`) in the hop process with two net_af_packet vdevs
 * on the middle veths; the second port's vdev is hot-plugged.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { JsonReport } from '../../src/impair/report.js';
import { FILE_BYTES, HopTopology, hopSkipReason, type Hop } from './hop_topology.js';

const PREFIX = 'vgi2-';
const EAL = '--no-huge --no-shconf -m 512 --no-pci --no-telemetry';

/** Runs the hop between `ports` with `args`, downloads the file through it, and checks the report. */
async function downloadThrough(
  t: TestContext,
  topo: HopTopology,
  ports: [string, string],
  args: string[],
  afterStart: () => void,
  check: (r: JsonReport) => void,
): Promise<void> {
  const json = join(topo.dir, 'report.json');
  const hop: Hop = await topo.startHop(ports, args, json);
  let sha = '';
  const t0 = performance.now();
  try {
    afterStart();
    sha = await topo.download();
  } finally {
    const report = await topo.stopHop(hop, json);
    const s = (performance.now() - t0) / 1000;
    const [a, b] = [report.aToB, report.bToA];
    t.diagnostic(
      `${s.toFixed(2)} s, ${((FILE_BYTES * 8) / s / 1e6).toFixed(0)} Mbit/s; client->server in ${a.offered}, lost ${a.dropLoss}; ` +
        `server->client in ${b.offered}, lost ${b.dropLoss}, limit ${b.dropLimit}, delayed ${b.delayed}, high-water ${b.queueHigh}`,
    );
    if (sha !== '') check(report);
  }
  assert.equal(sha, topo.sha256, 'the file arrived intact');
}

test('impair hop on tap devices: curl downloads 20 MB intact at 1% loss', { timeout: 300_000 }, async (t) => {
  const reason = await hopSkipReason('tap');
  if (reason !== null) return t.skip(reason);
  const topo = new HopTopology(PREFIX, '198.18.9');
  t.after(() => topo.cleanup());
  const lab = topo.lab;
  const [t0, t1, br0, br1] = ['t0', 't1', 'br0', 'br1'].map((s) => PREFIX + s);
  for (const [br, veth] of [[br0, topo.m0], [br1, topo.m1]]) {
    lab.run(topo.middle, 'ip', ['link', 'add', br, 'type', 'bridge']);
    lab.run(topo.middle, 'ip', ['link', 'set', veth, 'master', br]);
    lab.run(topo.middle, 'ip', ['link', 'set', br, 'up']);
  }
  await topo.startServer();
  await downloadThrough(
    t,
    topo,
    [`tap:name=${t0}`, `tap:name=${t1}`],
    ['--both', 'loss=1%'],
    // The hop created the devices (up): each joins the bridge of its host's veth.
    () => {
      lab.run(topo.middle, 'ip', ['link', 'set', t0, 'master', br0]);
      lab.run(topo.middle, 'ip', ['link', 'set', t1, 'master', br1]);
    },
    (r) => {
      assert.ok(r.aToB.dropLoss + r.bToA.dropLoss > 0, 'frames were lost');
      assert.ok(r.bToA.forwarded > 14_000, `server->client forwarded ${r.bToA.forwarded} (20 MB is ~14,400 full frames)`);
    },
  );
  // The tap devices lived as long as the hop that created them.
  assert.doesNotMatch(lab.run(topo.middle, 'ip', ['-o', 'link', 'show']), new RegExp(`${t0}|${t1}`), 'the hop removed its tap devices');
});

test('impair hop on dpdk net_af_packet ports: curl downloads 20 MB intact at 1% loss and 5 ms delay', { timeout: 300_000 }, async (t) => {
  const reason = await hopSkipReason('dpdk');
  if (reason !== null) return t.skip(reason);
  const topo = new HopTopology(PREFIX, '198.18.9');
  t.after(() => topo.cleanup());
  await topo.startServer();
  await downloadThrough(
    t,
    topo,
    [`dpdk:eal=${EAL} --vdev=net_af_packet0,iface=${topo.m0}`, `dpdk:eal=${EAL} --vdev=net_af_packet1,iface=${topo.m1}`],
    ['--both', 'loss=1%,delay=5ms'],
    () => undefined,
    (r) => {
      assert.ok(r.aToB.dropLoss + r.bToA.dropLoss > 0, 'frames were lost');
      assert.ok(r.bToA.delayed > 10_000, `server->client delayed ${r.bToA.delayed}`);
    },
  );
});
