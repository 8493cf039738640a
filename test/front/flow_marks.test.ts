/**
 * A profile's per-flow DSCP and VLAN (issue 20 §1), as the wire shows them:
 * two flows, one untagged with DSCP 46 (EF) to nginx, one with DSCP 10
 * (AF11) on VLAN 10 to a `vaigai --server` owning an address on that VLAN
 * (this kernel has no 802.1Q module, so no kernel peer terminates the tag);
 * tshark on the servers' interface sees every packet of each flow with its
 * flow's marks, both servers answer every request, and a flow whose VLAN is
 * not its source range's is refused before any traffic; --dscp marks tcp://
 * connections, and an icmp flow's dscp and source range its echoes. Namespaces this file
 * creates: prefix vgmk-, 198.18.150.0/24 untagged and 198.18.151.0/24 on VLAN 10.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exited } from '../helpers/netns.js';
import { FrontLab, Proc, frontSkipReason } from './lab.js';

const PEER_IP = '198.18.150.1';
const PEER_VLAN_IP = '198.18.151.1';
const VLAN = 10;

test('per-flow DSCP and VLAN: every packet of each flow carries its marks, as tshark sees them', { timeout: 180_000 }, async (t) => {
  const skip = await frontSkipReason(['tshark', 'ethtool', 'nginx', 'curl']);
  if (skip !== null) return t.skip(skip);
  const f = new FrontLab('vgmk-');
  t.after(() => f.cleanup());
  const { gen, peer, genIf, peerIf } = f.pair(PEER_IP);
  f.randomFile('small.bin', 100);
  const log = join(f.dir, 'access.log');
  await f.nginx(peer, PEER_IP, null, log, '$request_uri');
  const srvJson = join(f.dir, 'server.json');
  const srv = await f.startVaigai(peer, ['--port', `af_packet:iface=${peerIf}`, '--src-ip', `${PEER_VLAN_IP}@${VLAN}`, '--mac', '02:76:67:4d:00:02',
    '--server', '--listen-port', '8080', '--body-size', '100', '--count-targets', '--json', srvJson]);
  t.after(() => srv.stop());
  const base = ['--port', `af_packet:iface=${genIf}`, '--src-ip', '198.18.150.10-198.18.150.11', '--src-ip', `198.18.151.10-198.18.151.11@${VLAN}`];
  const profile = (vlan: number): string => {
    const path = join(f.dir, `marks-${vlan}.json`);
    writeFileSync(path, JSON.stringify({
      flows: [
        { name: 'ef', src_ip_lo: '198.18.150.10', src_ip_hi: '198.18.150.11', dst_ip: PEER_IP, dst_port: 8080, dscp: 46, requests: [{ url: '/small.bin?ef' }], requests_per_conn: 2 },
        { name: 'v10', src_ip_lo: '198.18.151.10', src_ip_hi: '198.18.151.11', dst_ip: PEER_VLAN_IP, dst_port: 8080, vlan_id: vlan, dscp: 10, requests: [{ url: '/small.bin?v10' }], requests_per_conn: 2 },
      ],
      load: { model: 'closed', connections: 4, requests: 80 },
    }));
    return path;
  };

  await t.test('a flow whose VLAN is not its source range\'s is refused by its pointer, before any traffic', async () => {
    const r = await f.vaigai(gen, [...base, '--config', profile(20)], 30_000);
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /\/flows\/1\/vlan_id/);
    assert.match(r.out, /VLAN 10/);
    assert.doesNotMatch(r.out, /^\[\s+1s\]/m);
  });

  await t.test('each flow\'s packets carry its DSCP, the VLAN flow\'s its tag; both servers answer their flow\'s 40 requests', async () => {
    const cap = join(f.dir, 'marks.pcap');
    const shark = new Proc(f.lab.spawn(peer, 'tshark', ['-q', '-B', '64', '-i', peerIf, '-f', 'tcp port 8080 or (vlan and tcp port 8080)', '-w', cap]));
    t.after(() => shark.stop());
    await shark.waitFor(/Capturing on/, 20_000);
    const json = join(f.dir, 'marks.json');
    const r = await f.vaigai(gen, [...base, '--config', profile(VLAN), '--json', json], 60_000);
    await new Promise((res) => setTimeout(res, 1000));
    shark.child.kill('SIGINT');
    await exited(shark.child, 20_000, 'tshark');
    assert.equal(r.code, 0, r.out);
    const res = JSON.parse(readFileSync(json, 'utf8')) as { app: { responses: number }; flows: { name: string; counters: { connects: number } }[] };
    const app = res.app;
    const connects = Object.fromEntries(res.flows.map((fl) => [fl.name, fl.counters.connects]));
    assert.equal(app.responses, 80, r.out);
    const count = (display: string): number =>
      f.lab.run(null, 'tshark', ['-r', cap, '-Y', display, '-T', 'fields', '-e', 'frame.number']).split('\n').filter((l) => l.trim() !== '').length;
    // Connections, not SYNs: a busy machine may resend one.
    const streams = (display: string): number =>
      new Set(f.lab.run(null, 'tshark', ['-r', cap, '-Y', display, '-T', 'fields', '-e', 'tcp.stream']).split('\n').filter((l) => l.trim() !== '')).size;
    const fromEf = 'ip.src >= 198.18.150.10 && ip.src <= 198.18.150.11';
    const fromV10 = 'ip.src >= 198.18.151.10 && ip.src <= 198.18.151.11';
    const ef = count(fromEf);
    const v10 = count(fromV10);
    // Each connection: SYN, ACK, 2 requests, FIN at least; 40 requests per flow.
    assert.ok(ef >= 100 && v10 >= 100, `packets seen: ef ${ef}, v10 ${v10}`);
    assert.equal(count(`${fromEf} && ip.dsfield.dscp == 46 && !vlan`), ef, 'every packet of flow ef: DSCP 46, untagged');
    assert.equal(count(`${fromV10} && ip.dsfield.dscp == 10 && vlan.id == ${VLAN}`), v10, 'every packet of flow v10: DSCP 10 on VLAN 10');
    // 40 requests of 2 per connection: 20 connections, or one more when the last requests fell on two connections at once.
    for (const [name, from] of [['ef', fromEf], ['v10', fromV10]]) {
      const n = streams(`${from} && tcp.flags.syn == 1`);
      assert.equal(n, connects[name], `flow ${name}: the connections on the wire are the ones vaigAI counts`);
      assert.ok(n === 20 || n === 21, `flow ${name}: ${n} connections for 40 requests of 2`);
    }
    assert.equal(count(`ip.dst >= 198.18.151.10 && ip.dst <= 198.18.151.11 && !vlan`), 0, 'the VLAN server answers on its VLAN only');
    // The lab's readiness probe asked for / before the run.
    const lines = readFileSync(log, 'utf8').trim().split('\n').filter((l) => l !== '/');
    assert.deepEqual([lines.length, lines.filter((l) => l === '/small.bin?ef').length], [40, 40], 'nginx served flow ef, and only it');
    assert.equal(await srv.stop(), 0, srv.out);
    const targets = (JSON.parse(readFileSync(srvJson, 'utf8')) as { app: { targets: Record<string, number> } }).app.targets;
    assert.deepEqual(targets, { '/small.bin?v10': 40 }, 'the VLAN server served flow v10, and only it');
  });

  await t.test('--dscp on tcp://, and an icmp flow\'s dscp and source range: every segment and echo request carries its mark, the echoes come from the range in turn', async () => {
    const cap = join(f.dir, 'probes.pcap');
    const shark = new Proc(f.lab.spawn(peer, 'tshark', ['-q', '-B', '64', '-i', peerIf, '-f', 'tcp port 8080 or icmp', '-w', cap]));
    t.after(() => shark.stop());
    await shark.waitFor(/Capturing on/, 20_000);
    const tcp = await f.vaigai(gen, ['--port', `af_packet:iface=${genIf}`, '--src-ip', '198.18.150.10', '--client', `tcp://${PEER_IP}:8080`, '--requests', '10', '--dscp', '34'], 30_000);
    const ping = join(f.dir, 'ping.json');
    writeFileSync(ping, JSON.stringify({
      flows: [{ name: 'ping', proto: 'icmp', src_ip_lo: '198.18.150.11', src_ip_hi: '198.18.150.12', dst_ip: PEER_IP, dscp: 46 }],
      load: { target_rps: 100, requests: 10 },
    }));
    const icmp = await f.vaigai(gen, ['--port', `af_packet:iface=${genIf}`, '--src-ip', '198.18.150.10-198.18.150.12', '--config', ping], 30_000);
    await new Promise((res) => setTimeout(res, 1000));
    shark.child.kill('SIGINT');
    await exited(shark.child, 20_000, 'tshark');
    assert.equal(tcp.code, 0, tcp.out);
    assert.equal(icmp.code, 0, icmp.out);
    const fields = (display: string, field: string): string[] =>
      f.lab.run(null, 'tshark', ['-r', cap, '-Y', display, '-T', 'fields', '-e', field]).split('\n').filter((l) => l.trim() !== '');
    const count = (display: string): number => fields(display, 'frame.number').length;
    const out = 'ip.src == 198.18.150.10';
    assert.equal(new Set(fields(`${out} && tcp.flags.syn == 1 && ip.dsfield.dscp == 34`, 'tcp.stream')).size, 10, 'ten connections, each SYN marked');
    assert.equal(count(`${out} && tcp`), count(`${out} && tcp && ip.dsfield.dscp == 34`), 'every segment of them');
    const echoes = fields('icmp.type == 8 && ip.dsfield.dscp == 46', 'ip.src');
    assert.deepEqual(echoes, Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? '198.18.150.11' : '198.18.150.12')), 'ten echo requests, each marked, from the range in turn');
    assert.equal(count('icmp.type == 8'), 10);
    assert.equal(count(`icmp.type == 0 && ip.dst >= 198.18.150.11 && ip.dst <= 198.18.150.12`), 10, 'each answered');
  });
});
