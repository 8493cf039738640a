/**
 * The console over a pipe, as a script drives it: `vaigai --interactive` on
 * af_packet in namespaces this file creates (prefix vgcn-, 198.18.140.0/24)
 * with nginx as the peer. Every command, against real outcomes: ping answered
 * by the peer's kernel and its MAC in `show arp`; a load from the run flags
 * counted as nginx logged it; a profile loaded, started, changed live with
 * `set cps` (each worker acks) and stopped, its stats JSON equal to nginx's
 * log; `save`/`load` round-trip the profile; `trace` writes a pcapng that
 * tshark reads with the HTTP requests in it; errors answer their codes and
 * the script ends with the first failure's exit code. The log file has the
 * JSON records of the start, the stop and the config changes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FrontLab, MAIN, frontSkipReason } from './lab.js';
import { ConsolePipe } from './console_rig.js';

const NGINX_IP = '198.18.140.1';
const GEN_IP = '198.18.140.2';
/** The REST API and /metrics, in the generator's namespace. */
const REST_PORT = 18140;
const DASHBOARD = fileURLToPath(new URL('../../../examples/grafana/vaigai-dashboard.json', import.meta.url));

/** The metric names a Grafana dashboard's queries use (a histogram's by its _bucket series), and its name regexes. */
function dashboardMetrics(path: string): { names: string[]; patterns: RegExp[] } {
  const d = JSON.parse(readFileSync(path, 'utf8')) as { panels: { targets: { expr: string }[] }[] };
  const exprs = d.panels.flatMap((p) => p.targets.map((t) => t.expr));
  const names = new Set<string>();
  const patterns: RegExp[] = [];
  for (const e of exprs) {
    for (const m of e.matchAll(/__name__=~"([^"]+)"/g)) patterns.push(new RegExp(`^${m[1]}$`));
    for (const m of e.replace(/__name__=~"[^"]+"/g, '').matchAll(/\bvaigai_[a-z0-9_]+/g)) names.add(m[0]);
  }
  return { names: [...names].sort(), patterns };
}

interface Status {
  state: string;
  workers: number;
  configured: boolean;
}
interface App {
  requests: number;
  responses: number;
  failedRequests: number;
  inFlight: number;
  status: Record<string, number>;
}
interface Stats {
  state: string;
  app: App | null;
  counters: Record<string, number>;
  series: { t: number; responses: number }[];
}
interface Live {
  live: boolean;
  acks: { worker: number; rc: number | null; status: string }[];
  late: number[];
}

test('the console over a pipe: every command on a generator with nginx as its peer', { timeout: 180_000 }, async (t) => {
  const skip = await frontSkipReason(['nginx', 'tshark', 'ethtool', 'curl']);
  if (skip !== null) return t.skip(skip);
  const f = new FrontLab('vgcn-');
  t.after(() => f.cleanup());
  const { gen, peer, genIf, peerIf } = f.pair(NGINX_IP);
  f.randomFile('f.bin', 3000);
  const access = join(f.dir, 'access.log');
  await f.nginx(peer, NGINX_IP, null, access, '$remote_addr $request_uri');
  const served = (): number => (existsSync(access) ? readFileSync(access, 'utf8').split('\n').filter((l) => l.startsWith(`${GEN_IP} /f.bin`)).length : 0);
  const peerMac = (JSON.parse(f.lab.run(peer, 'ip', ['-j', 'link', 'show', peerIf])) as { address: string }[])[0].address;
  const log = join(f.dir, 'log.json');
  const sock = join(f.dir, 'console.sock');
  const c = new ConsolePipe(
    f.lab.spawn(gen, process.execPath, [MAIN, '--interactive', '--port', `af_packet:iface=${genIf}`, '--src-ip', GEN_IP, '--workers', '2', '--socket', sock, '--no-history', '--log-file', log, '-R', String(REST_PORT)], 'pipe'),
  );
  t.after(() => c.child.kill('SIGKILL'));

  await t.test('status, help, show interface/routes/config/workers: the idle stack', async () => {
    const s = await c.json<Status>('status');
    assert.deepEqual([s.state, s.workers, s.configured], ['idle', 2, false]);
    // Over a pipe: no prompt, no echo.
    assert.doesNotMatch(c.out, /vaigai>/);
    const help = await c.ask('help');
    for (const cmd of ['start', 'stop', 'status', 'stats', 'reset', 'ping', 'show', 'set', 'load', 'save', 'trace', 'help', 'quit']) assert.match(help.out, new RegExp(`^${cmd}\\b`, 'm'));
    assert.match((await c.ask('help ping')).out, /^ping <ip> \[count\] \[size\] \[interval_ms\]$/m);
    const ifc = await c.json<{ port: string; mac: string; addresses: string[]; workers: number }>('show interface');
    assert.equal(ifc.port, `af_packet:iface=${genIf}`);
    assert.match(ifc.mac, /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    assert.deepEqual(ifc.addresses, [`${GEN_IP}-${GEN_IP}/24`]);
    assert.deepEqual(await c.json('show routes'), [{ prefix: '198.18.140.0/24', via: null, vlan: -1 }]);
    assert.equal(await c.json('show config'), null);
    assert.deepEqual((await c.json<{ worker: number }[]>('show workers')).map((w) => w.worker), [0, 1]);
    assert.ok(statSync(sock).isSocket());
    assert.equal(statSync(sock).mode & 0o777, 0o600, 'the console socket is mode 0600');
  });

  await t.test('ping the peer: answered by its kernel; show arp has its MAC', async () => {
    const p = await c.ask(`ping ${NGINX_IP} 3 100 50`);
    assert.equal(p.code, null, p.message);
    assert.match(p.out, /datagrams +3 sent, 3 received, 0 lost/);
    const arp = await c.json<{ ip: string; mac: string }[]>('show arp');
    assert.deepEqual(arp.find((e) => e.ip === NGINX_IP)?.mac, peerMac);
  });

  const trace = join(f.dir, 'trace.pcapng');
  await t.test('trace start, then a load from the run flags: its requests as nginx logged them', async () => {
    assert.equal((await c.ask(`trace start ${trace}`)).out, `tracing to ${trace}\n`);
    const before = served();
    const started = await c.json<Status>(`start --client http://${NGINX_IP}:8080/f.bin --connections 2 --requests 12`);
    assert.ok(['running', 'idle'].includes(started.state), started.state);
    await c.until<Status>('status', (s) => s.state === 'idle', 30_000);
    const st = await c.json<Stats>('stats');
    assert.deepEqual([st.app?.requests, st.app?.responses, st.app?.status['2xx'], st.app?.failedRequests], [12, 12, 12, 0]);
    assert.equal(served() - before, 12, 'nginx served each request once');
  });

  const flagsProfile = join(f.dir, 'flags.json');
  await t.test('save writes the profile of the run flags; show config is the same', async () => {
    assert.equal((await c.ask(`save ${flagsProfile}`)).out, `saved ${flagsProfile}\n`);
    const saved = JSON.parse(readFileSync(flagsProfile, 'utf8')) as { flows: { dst_ip: string; dst_port: number }[] };
    assert.deepEqual([saved.flows[0].dst_ip, saved.flows[0].dst_port], [NGINX_IP, 8080]);
    assert.deepEqual(await c.json('show config'), saved);
  });

  const open = join(f.dir, 'open.json');
  writeFileSync(open, JSON.stringify({
    flows: [{ name: 'files', weight: 1, dst_ip: NGINX_IP, dst_port: 8080, proto: 'http', requests: [{ method: 'GET', url: '/f.bin' }] }],
    load: { model: 'open', target_cps: 20, target_rps: 80, max_concurrent: 16, duration_secs: 60 },
  }));
  await t.test('load a profile, start it, set cps while it runs (every worker acks), stop: stats equal nginx log', async () => {
    const loaded = await c.json<{ loaded: string; live: boolean }>(`load ${open}`);
    assert.deepEqual([loaded.loaded, loaded.live], [open, false]);
    const before = served();
    assert.equal((await c.json<Status>('start')).state, 'running');
    const set = await c.json<Live>('set cps 40');
    assert.equal(set.live, true);
    // Each worker answers: applied (rc 0), or, on a machine too busy to ack within 100 ms, named as late.
    assert.deepEqual(set.acks.map((a) => a.worker), [0, 1]);
    for (const a of set.acks) assert.ok((a.rc === 0 && a.status === 'applied') || (a.rc === null && a.status === 'late'), JSON.stringify(a));
    assert.deepEqual(set.late, set.acks.filter((a) => a.status === 'late').map((a) => a.worker));
    assert.equal((await c.json<{ load: { target_cps: number } }>('show config')).load.target_cps, 40);
    assert.equal((await c.ask('reset')).code, 'VG_ERR_STATE', 'reset is refused while a load runs');
    const running = await c.until<Stats>('stats', (s) => (s.app?.responses ?? 0) >= 20 && s.series.length >= 2, 30_000);
    assert.equal(running.state, 'running');
    const flows = await c.json<{ name: string; responses: number }[]>('show flows');
    assert.equal(flows[0].name, 'files');
    assert.ok(flows[0].responses > 0);
    // The Grafana dashboard's queries name series this generator serves while a load runs.
    const metrics = f.lab.run(gen, 'curl', ['-sf', `http://127.0.0.1:${REST_PORT}/metrics`]);
    const exported = new Set(metrics.split('\n').filter((l) => l.startsWith('vaigai_')).map((l) => /^[a-z0-9_]+/.exec(l)?.[0] ?? ''));
    const dash = dashboardMetrics(DASHBOARD);
    assert.ok(dash.names.length >= 20, dash.names.join(' '));
    assert.deepEqual(dash.names.filter((n) => !exported.has(n)), [], 'every metric of the dashboard is in /metrics');
    for (const re of dash.patterns) assert.ok([...exported].some((n) => re.test(n)), `${re} matches a metric`);
    assert.match(metrics, /^vaigai_app_flow_responses_total\{worker="0",flow="files"\} \d+/m);
    assert.match(metrics, /^vaigai_latency_seconds_bucket\{phase="response",le="\+Inf"\} [1-9]/m);
    const conns = await c.json<{ worker: number; activeOpens: number }[]>('show connections');
    assert.ok(conns.reduce((n, w) => n + w.activeOpens, 0) > 0, JSON.stringify(conns));
    const stopped = await c.json<{ seconds: number; app: App }>('stop');
    assert.ok(stopped.seconds > 0);
    const st = await c.json<Stats>('stats');
    assert.equal(st.state, 'idle');
    const app = st.app as App;
    // Every request answered (the stop drains), each as nginx logged it.
    assert.deepEqual([app.requests, app.failedRequests, app.inFlight], [app.responses, 0, 0]);
    assert.equal(app.responses, served() - before);
    assert.deepEqual(stopped.app.responses, app.responses);
    assert.ok(st.series.length > 0 && st.series.some((e) => e.responses > 0), 'per-second entries');
    assert.equal((await c.ask('reset')).out, 'reset\n');
  });

  await t.test('save and load round-trip the profile as set changed it', async () => {
    const saved = join(f.dir, 'saved.json');
    await c.ask(`save ${saved}`);
    const p = JSON.parse(readFileSync(saved, 'utf8')) as { load: { target_cps: number } };
    assert.equal(p.load.target_cps, 40);
    await c.json(`load ${flagsProfile}`);
    assert.deepEqual(await c.json('show config'), JSON.parse(readFileSync(flagsProfile, 'utf8')));
    await c.json(`load ${saved}`);
    assert.deepEqual(await c.json('show config'), p);
  });

  await t.test('trace stop writes a pcapng that tshark reads: the frames it counted, the HTTP requests', async () => {
    const r = await c.ask('trace stop');
    const frames = Number(/^trace: (\d+) frames to (.*)$/m.exec(r.out)?.[1] ?? -1);
    assert.ok(frames > 0, r.out);
    assert.equal(readFileSync(trace).readUInt32LE(0), 0x0a0d0d0a, 'a pcapng section header');
    const all = f.lab.run(null, 'tshark', ['-r', trace, '-T', 'fields', '-e', 'frame.number']).trim().split('\n');
    assert.equal(all.length, frames);
    const gets = f.lab.run(null, 'tshark', ['-r', trace, '-Y', `http.request and ip.dst == ${NGINX_IP}`, '-T', 'fields', '-e', 'http.request.uri']).trim().split('\n');
    assert.ok(gets.length >= 12 && gets.every((u) => u === '/f.bin'), `${gets.length} requests`);
    const pings = f.lab.run(null, 'tshark', ['-r', trace, '-Y', 'icmp.type == 8', '-T', 'fields', '-e', 'frame.number']).trim();
    assert.equal(pings, '', 'the ping before trace start is not in it');
    assert.deepEqual(readFileSync(trace).length > 0 && !existsSync(`${trace}.part0-w0`), true, 'the parts are gone');
  });

  await t.test('errors answer their codes', async () => {
    const codes: [string, string][] = [
      ['bogus', 'VG_ERR_UNKNOWN_COMMAND'],
      ['show nothing', 'VG_ERR_INVALID_OPTION'],
      ['set cps', 'VG_ERR_INVALID_OPTION'],
      ['set speed 3', 'VG_ERR_INVALID_OPTION'],
      ['ping 198.18.140', 'VG_ERR_INVALID_PROFILE'],
      ['ping 198.18.140.1 x', 'VG_ERR_INVALID_OPTION'],
      ['stop', 'VG_ERR_STATE'],
      ['trace stop', 'VG_ERR_STATE'],
      [`load ${join(f.dir, 'missing.json')}`, 'VG_ERR_FILE_ACCESS'],
      [`start --port af_packet:iface=${genIf}`, 'VG_ERR_INVALID_OPTION'],
      ['start --no-such-flag', 'VG_ERR_INVALID_OPTION'],
      [`start --client http://198.18.99.1:8080/`, 'VG_ERR_NO_ROUTE'],
      ['status "unterminated', 'VG_ERR_INVALID_OPTION'],
    ];
    for (const [line, code] of codes) assert.equal((await c.ask(line)).code, code, line);
    assert.match((await c.ask(`start --port af_packet:iface=${genIf}`)).message, /^--port: is the generator's/);
  });

  await t.test("quit: the generator stops, the socket is gone, the exit code is the first failure's (1)", async () => {
    c.child.stdin?.write('quit\n');
    assert.equal(await c.end(), 1);
    assert.equal(existsSync(sock), false);
  });

  await t.test('the log file: JSON records with level and msg for start, config, live change, stop', () => {
    const recs = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { level: string; msg: string; event: string; state?: string; mode?: string });
    for (const r of recs) assert.ok(typeof r.level === 'string' && typeof r.msg === 'string', JSON.stringify(r));
    const events = recs.map((r) => `${r.event}:${r.state ?? r.mode ?? ''}`);
    for (const e of ['start:client', 'state:running', 'config:', 'live:', 'stop:', 'state:idle', 'state:closed']) assert.ok(events.includes(e), `${e} in ${events.join(' ')}`);
    // The default level is info: no debug records (the session lines).
    assert.ok(recs.every((r) => r.level !== 'debug'));
  });
});
