/**
 * --seed repeats a run (issue 20 §5): two runs with the same seed send the
 * same flows, URLs, source addresses and ports and payloads, in the same
 * order, as their captures (--pcap) show once times, ISNs and TCP options
 * (the timestamps) are left aside; another seed sends another sequence.
 * nginx runs in a namespace this file creates (prefix vgld3-, 198.18.74.0/24).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FrontLab, frontSkipReason } from './lab.js';

const NGINX_IP = '198.18.74.1';

/**
 * The client's connections in the order of their SYNs, each with its source
 * address and port and the payloads it sent (a connection's request may
 * leave after the next one's SYN: the order of packets across connections is
 * timing's, not the seed's).
 */
function sent(pcap: string): string[] {
  const out = execFileSync('tshark', ['-r', pcap, '-Y', `ip.dst == ${NGINX_IP} && (tcp.flags.syn == 1 || tcp.len > 0)`, '-T', 'fields', '-e', 'ip.src', '-e', 'tcp.srcport', '-e', 'tcp.flags.syn', '-e', 'tcp.payload'], { encoding: 'utf8' });
  const conns = new Map<string, string[]>();
  for (const line of out.split('\n')) {
    if (line === '') continue;
    const [ip, port, syn, payload] = line.split('\t');
    const key = `${ip}:${port}`;
    if (syn === '1') conns.set(key, []);
    else conns.get(key)?.push(payload);
  }
  return [...conns].map(([k, p]) => `${k} ${p.join(',')}`);
}

test('the same --seed sends the same flows, URLs, sources and payloads; another seed does not', { timeout: 180_000 }, async (t) => {
  const skip = await frontSkipReason(['nginx', 'curl', 'ethtool', 'tshark']);
  if (skip !== null) return t.skip(skip);
  const f = new FrontLab('vgld3-');
  t.after(() => f.cleanup());
  const { gen, peer, genIf } = f.pair(NGINX_IP);
  f.randomFile('small.bin', 100);
  await f.nginx(peer, NGINX_IP, null);
  const profile = join(f.dir, 'seed.json');
  const requests = [{ url: '/small.bin', weight: 3 }, { method: 'POST', url: '/small.bin?post', body_size: 64, weight: 1 }];
  writeFileSync(profile, JSON.stringify({
    flows: [
      { name: 'a', src_ip_lo: '198.18.74.10', src_ip_hi: '198.18.74.13', dst_ip: NGINX_IP, dst_port: 8080, requests },
      { name: 'b', src_ip_lo: '198.18.74.20', src_ip_hi: '198.18.74.23', dst_ip: NGINX_IP, dst_port: 8080, requests: [{ url: '/small.bin?b' }] },
    ],
    // Connections at 20/s, one request each: each is done before the next comes, so the order is the schedule's.
    load: { model: 'open', target_cps: 20, duration_secs: 3 },
  }));
  const run = async (name: string, seed: string): Promise<string[]> => {
    const pcap = join(f.dir, `${name}.pcap`);
    const r = await f.vaigai(gen, ['--port', `af_packet:iface=${genIf}`, '--src-ip', '198.18.74.10-198.18.74.23/24', '--config', profile, '--seed', seed, '--pcap', pcap], 60_000);
    assert.equal(r.code, 0, r.out);
    return sent(pcap);
  };
  const first = await run('one', '7');
  const second = await run('two', '7');
  const other = await run('three', '8');
  // 3 s at 20 connections/s: the last arrival falls on the time bound, in or out.
  for (const r of [first, second, other]) assert.ok(r.length >= 59 && r.length <= 61, `${r.length} connections`);
  assert.ok(new Set(first.map((l) => l.split(':')[0])).size === 8, 'every address of the flows\' source ranges in use');
  assert.ok(first.slice(0, 59).every((l) => / [0-9a-f]+$/.test(l)), 'each connection sent its request');
  assert.deepEqual(second.slice(0, 59), first.slice(0, 59));
  assert.notDeepEqual(other.slice(0, 59), first.slice(0, 59));
});
