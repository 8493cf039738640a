/**
 * Coordinated omission (issue 20 §2): nginx is stopped (SIGSTOP of its
 * worker, by PID) for 1 s in the middle of a 1000 requests/s run. The open
 * model keeps its schedule: the requests due during the stall are all sent
 * (or dropped at the cap, and counted), timed from their intended start, so
 * p99 shows the stall. The closed model on the same stall waits with it: it
 * sends fewer requests and its p99 hides the stall. nginx runs in a namespace
 * this file creates (prefix vgld-, 198.18.72.0/24).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FrontLab, frontSkipReason, MAIN, Proc } from './lab.js';
import { exited } from '../helpers/netns.js';

const NGINX_IP = '198.18.72.1';
const SRC_IP = '198.18.72.10';
const RATE = 1000;
const SECONDS = 5;

interface ClientJson {
  requests: number;
  responses: number;
  arrivals: number;
  dropped: number;
  connections: { failed: number; cancelled: number };
  latencyUs: { p50: number; p99: number };
  accounted: boolean;
}

test('a 1 s stall of nginx at 1000 requests/s: the open model shows it in p99, the closed model hides it', { timeout: 180_000 }, async (t) => {
  const skip = await frontSkipReason(['nginx', 'curl', 'ethtool', 'pgrep']);
  if (skip !== null) return t.skip(skip);
  const f = new FrontLab('vgld-');
  t.after(() => f.cleanup());
  const { gen, peer, genIf } = f.pair(NGINX_IP);
  f.randomFile('small.bin', 100);
  const nginx = await f.nginx(peer, NGINX_IP, null);
  const workers = execFileSync('pgrep', ['-P', String(nginx.child.pid)], { encoding: 'utf8' }).trim().split('\n').map(Number);
  assert.ok(workers.length > 0 && workers.every((p) => p > 0), 'nginx has worker processes');

  /** One run of `load` with nginx's workers stopped from 1.5 s to 2.5 s. */
  const run = async (name: string, load: Record<string, unknown>): Promise<ClientJson> => {
    const profile = join(f.dir, `${name}.json`);
    const json = join(f.dir, `${name}-out.json`);
    writeFileSync(profile, JSON.stringify({ flows: [{ name, dst_ip: NGINX_IP, dst_port: 8080, requests: [{ url: '/small.bin' }] }], load: { ...load, duration_secs: SECONDS } }));
    const p = new Proc(f.lab.spawn(gen, process.execPath, [MAIN, '--port', `af_packet:iface=${genIf}`, '--src-ip', `${SRC_IP}/24`, '--config', profile, '--json', json]));
    await p.waitFor(/^\[ {3}1s\]/m, 20_000);
    await new Promise((r) => setTimeout(r, 500));
    for (const w of workers) process.kill(w, 'SIGSTOP');
    await new Promise((r) => setTimeout(r, 1000));
    for (const w of workers) process.kill(w, 'SIGCONT');
    const code = await exited(p.child, 60_000, 'vaigai');
    assert.equal(code, 0, p.out);
    const app = (JSON.parse(readFileSync(json, 'utf8')) as { app: ClientJson }).app;
    assert.ok(app.accounted, p.out);
    return app;
  };

  const open = await run('open', { model: 'open', target_rps: RATE, max_concurrent: 4000 });
  // The schedule is kept: every arrival was sent, dropped at the cap, or lost with a connection that did not open.
  assert.ok(Math.abs(open.arrivals - RATE * SECONDS) <= RATE * SECONDS * 0.01, `arrivals ${open.arrivals}`);
  assert.equal(open.requests + open.dropped + open.connections.failed + open.connections.cancelled, open.arrivals);
  assert.ok(open.requests + open.dropped >= open.arrivals * 0.99, `sent ${open.requests} dropped ${open.dropped} of ${open.arrivals}`);
  assert.ok(open.latencyUs.p99 >= 500_000, `open p99 ${open.latencyUs.p99} us`);

  const closed = await run('closed', { model: 'closed', connections: 10, target_rps: RATE });
  // The closed model waited with the server: the stall's requests were never sent, and p99 does not show it.
  assert.ok(closed.requests <= RATE * (SECONDS - 0.5), `closed sent ${closed.requests}`);
  assert.ok(closed.latencyUs.p99 < 500_000, `closed p99 ${closed.latencyUs.p99} us`);
  t.diagnostic(`open: ${open.requests} sent of ${open.arrivals}, ${open.dropped} dropped, p99 ${open.latencyUs.p99} us; closed: ${closed.requests} sent, p99 ${closed.latencyUs.p99} us`);
});
