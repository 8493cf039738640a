/**
 * Source address pools (issue 18 §3): `vaigai --client` with `--src-ip` a
 * range of 100 addresses spreads its connections over every one of them, in
 * one thread and on two workers (each worker a port share of every address,
 * replies steered home by port). nginx, in a namespace this file creates
 * (prefix vgpool-, 198.18.44.0/22), logs each request's client address.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FrontLab, frontSkipReason } from './lab.js';

const NGINX_IP = '198.18.44.1';
const SUBNET = '198.18.44.0/22';
const POOL = '198.18.45.1-198.18.45.100/22';
const REQUESTS = 2000;

/** Requests per client address in nginx's access log. */
function perAddress(log: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of log.split('\n')) if (line !== '') m.set(line, (m.get(line) ?? 0) + 1);
  return m;
}

test('--src-ip with 100 addresses: nginx sees 100 client addresses, each with an even share of the connections', { timeout: 300_000 }, async (t) => {
  const skip = await frontSkipReason(['nginx', 'curl', 'ethtool']);
  if (skip !== null) return t.skip(skip);
  const f = new FrontLab('vgpool-');
  t.after(() => f.cleanup());
  const { gen, peer, genIf, peerIf } = f.pair(NGINX_IP);
  // The clients sit in the /22 beyond nginx's /24: on the link all the same.
  f.lab.run(peer, 'ip', ['route', 'add', SUBNET, 'dev', peerIf]);
  f.randomFile('small.bin', 500);
  const log = join(f.dir, 'access.log');
  await f.nginx(peer, NGINX_IP, null, log);

  for (const workers of [null, '2']) {
    await t.test(`${workers === null ? 'one thread' : `--workers ${workers}`}: ${REQUESTS} connections over 100 addresses`, async () => {
      writeFileSync(log, '');
      const json = join(f.dir, `pool-${workers ?? 1}.json`);
      const r = await f.vaigai(
        gen,
        ['--port', `af_packet:iface=${genIf}`, '--src-ip', POOL, '--client', `http://${NGINX_IP}:8080/small.bin`, '--conn-per-request',
          '--requests', String(REQUESTS), '--connections', '16', '--json', json, ...(workers === null ? [] : ['--workers', workers])],
        120_000,
      );
      assert.equal(r.code, 0, r.out);
      const app = (JSON.parse(readFileSync(json, 'utf8')) as { app: { responses: number; connections: { ok: number; failed: number } } }).app;
      assert.equal(app.responses, REQUESTS, r.out);
      assert.equal(app.connections.failed, 0, r.out);
      const per = perAddress(readFileSync(log, 'utf8'));
      assert.equal(per.size, 100, `client addresses in the log: ${[...per.keys()].join(' ')}`);
      const even = REQUESTS / 100;
      for (const [addr, n] of per) {
        assert.match(addr, /^198\.18\.45\.(\d+)$/);
        const host = Number(addr.split('.')[3]);
        assert.ok(host >= 1 && host <= 100, `${addr} is in the pool`);
        assert.ok(Math.abs(n - even) <= even * 0.1, `${addr}: ${n} requests, an even share is ${even}`);
      }
    });
  }
});
