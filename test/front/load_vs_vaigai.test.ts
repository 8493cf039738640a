/**
 * vaigAI against vaigAI (issue 20): `vaigai --server --count-targets` in one
 * namespace, the client with a two-flow profile (request entries by weight)
 * on two workers in another. The server's requests by target equal the
 * client's answers flow by flow and entry by entry. Namespaces from this
 * file (prefix vgld-, 198.18.75.0/24).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FrontLab, frontSkipReason } from './lab.js';

const KERNEL_IP = '198.18.75.1';
const SERVER_IP = '198.18.75.2';

interface ClientJson {
  requests: number;
  responses: number;
  failedRequests: number;
  flows: { name: string; requests: number; responses: number; entries: { url: string; responses: number }[] }[];
}

test('vaigAI client against vaigAI server: their counts equal, flow by flow and entry by entry', { timeout: 180_000 }, async (t) => {
  const skip = await frontSkipReason([]);
  if (skip !== null) return t.skip(skip);
  const f = new FrontLab('vgld-');
  t.after(() => f.cleanup());
  const { gen, peer, genIf, peerIf } = f.pair(KERNEL_IP);
  const srvJson = join(f.dir, 'server.json');
  const srv = await f.startVaigai(peer, ['--port', `af_packet:iface=${peerIf}`, '--src-ip', `${SERVER_IP}/24`, '--mac', '02:76:67:48:00:02', '--server', '--count-targets', '--json', srvJson]);
  const profile = join(f.dir, 'profile.json');
  writeFileSync(profile, JSON.stringify({
    flows: [
      { name: 'pages', weight: 3, dst_ip: SERVER_IP, dst_port: 80, requests: [{ url: '/page', weight: 9 }, { method: 'POST', url: '/page?form', body_size: 100, weight: 1 }] },
      { name: 'files', weight: 1, dst_ip: SERVER_IP, dst_port: 80, requests: [{ url: '/bytes/2000' }], requests_per_conn: 5 },
    ],
    load: { model: 'open', target_rps: 500, max_concurrent: 200, duration_secs: 4 },
  }));
  const cliJson = join(f.dir, 'client.json');
  const r = await f.vaigai(gen, ['--port', `af_packet:iface=${genIf}`, '--src-ip', '198.18.75.10-198.18.75.19/24', '--workers', '2', '--config', profile, '--json', cliJson], 60_000);
  assert.equal(r.code, 0, r.out);
  assert.equal(await srv.stop(), 0, srv.out);
  const c = (JSON.parse(readFileSync(cliJson, 'utf8')) as { app: ClientJson }).app;
  const s = (JSON.parse(readFileSync(srvJson, 'utf8')) as { app: { requests: number; responses: number; targets: Record<string, number> } }).app;
  assert.equal(c.failedRequests, 0, r.out);
  assert.equal(c.responses, c.requests);
  assert.ok(c.requests >= 1900, `${c.requests} requests`);
  const [pages, files] = c.flows;
  assert.deepEqual([pages.name, files.name], ['pages', 'files']);
  assert.deepEqual(s.targets, { '/page': pages.entries[0].responses, '/page?form': pages.entries[1].responses, '/bytes/2000': files.responses });
  assert.equal(pages.entries[0].responses + pages.entries[1].responses, pages.responses);
  assert.equal(s.requests, c.requests);
  assert.equal(s.responses, c.responses);
  t.diagnostic(`server targets ${JSON.stringify(s.targets)}; client flows ${c.flows.map((x) => `${x.name} ${x.responses}`).join(', ')}`);
});
