/**
 * Traffic profiles: a good one is accepted with its defaults filled in; each
 * bad one is refused whole with the JSON pointer of the field at fault
 * (the table), through checkProfile and through the `vaigai` command
 * (`--config`, VAIGAI_CONFIG, exit code 1 before any traffic); the flags
 * build the same profile that `--save-config` writes and `--config` reads
 * back; `vaigai schema` prints the schema with defaulted fields optional.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidProfileError } from '../../src/common/errors.js';
import { parseRunOptions } from '../../src/mgmt/cli/stack_config.js';
import { checkProfile, stagesOf } from '../../src/run/profile_check.js';
import { CC_NEWRENO } from '../../src/net/tcp/reno.js';

const MAIN = fileURLToPath(new URL('../../src/main.js', import.meta.url));

const FLOW = { name: 'home', dst_ip: '198.18.0.1', dst_port: 80 };
const GOOD = { flows: [FLOW], load: { connections: 4, duration_secs: 10 } };

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the table edits profiles into every wrong shape
type Loose = Record<string, any>;

/** A copy of GOOD with `edit` applied. */
function bad(edit: (p: Loose) => void): unknown {
  const p = structuredClone(GOOD) as Loose;
  edit(p);
  return p;
}

test('a good profile: defaults filled in, stages from the shorthand', () => {
  const p = checkProfile(GOOD);
  assert.equal(p.flows[0].proto, 'http');
  assert.equal(p.flows[0].weight, 1);
  assert.deepEqual(p.flows[0].requests, [{ method: 'GET', url: '/', weight: 1, body_size: 0 }]);
  assert.equal(p.load.model, 'closed');
  assert.equal(p.tls.verify, true);
  assert.equal(p.seed, undefined);
  const ramped = checkProfile({ ...GOOD, load: { model: 'open', target_cps: 100, ramp_up_secs: 5, duration_secs: 60, ramp_down_secs: 5 } });
  assert.deepEqual(stagesOf(ramped), [
    { duration_secs: 5, from: 0, target: 1 },
    { duration_secs: 60, target: 1 },
    { duration_secs: 5, target: 0 },
  ]);
  // The architecture's example, shaped as this schema has it.
  checkProfile({
    flows: [
      {
        name: 'home', weight: 3, src_ip_lo: '198.18.1.10', src_ip_hi: '198.18.1.250', dst_ip: '198.18.0.1', dst_port: 80, vlan_id: 0, dscp: 0,
        proto: 'http', enable_tls: false,
        requests: [{ method: 'GET', url: '/', weight: 9 }, { method: 'POST', url: '/api', body_size: 512, weight: 1 }],
        headers: { Host: 'test.local' }, requests_per_conn: 10, think_time_ms: 0,
      },
    ],
    load: { model: 'open', target_cps: 1000, max_concurrent: 5000, stages: [{ duration_secs: 10, target: 0.5 }, { duration_secs: 30, target: 1.0 }] },
    tls: { version: '1.3', sni: 'test.local', verify: false },
    seed: 1,
  });
});

const TABLE: [string, unknown, string, RegExp][] = [
  ['not an object', [], '', /a profile is a JSON object/],
  ['no flows field', { load: GOOD.load }, '/flows', /required/],
  ['no flows', bad((p) => (p.flows = [])), '/flows', /greater or equal to 1/],
  ['no load', { flows: [FLOW] }, '/load', /required/],
  ['unknown top-level field', bad((p) => (p.speed = 1)), '/speed', /unexpected property/],
  ['unknown flow field', bad((p) => (p.flows[0].colour = 'red')), '/flows/0/colour', /unexpected property/],
  ['unknown load field', bad((p) => (p.load.rps = 5)), '/load/rps', /unexpected property/],
  ['unknown request field', bad((p) => (p.flows[0].requests = [{ url: '/', verb: 'GET' }])), '/flows/0/requests/0/verb', /unexpected property/],
  ['flow name missing', bad((p) => delete p.flows[0].name), '/flows/0/name', /required/],
  ['flow name with a space', bad((p) => (p.flows[0].name = 'a b')), '/flows/0/name', /a name of 1-64 letters/],
  ['dst_ip a number', bad((p) => (p.flows[0].dst_ip = 3232235521)), '/flows/0/dst_ip', /expected string/],
  ['dst_ip not an address', bad((p) => (p.flows[0].dst_ip = '198.18.0')), '/flows/0/dst_ip', /dotted-quad IPv4/],
  ['dst_ip multicast', bad((p) => (p.flows[0].dst_ip = '224.0.0.5')), '/flows/0/dst_ip', /multicast/],
  ['dst_port 0', bad((p) => (p.flows[0].dst_port = 0)), '/flows/0/dst_port', /greater or equal to 1/],
  ['dst_port 70000', bad((p) => (p.flows[0].dst_port = 70000)), '/flows/0/dst_port', /less or equal to 65535/],
  ['dst_port a string', bad((p) => (p.flows[0].dst_port = '80')), '/flows/0/dst_port', /expected integer/],
  ['no dst_port on tcp', bad((p) => delete p.flows[0].dst_port), '/flows/0/dst_port', /needs a destination port/],
  ['a port on icmp', bad((p) => (p.flows[0].proto = 'icmp')), '/flows/0/dst_port', /an icmp flow has no port/],
  ['unknown proto', bad((p) => (p.flows[0].proto = 'sctp')), '/flows/0/proto', /expected one of "http", "https", "tcp", "udp", "icmp"/],
  ['weight 0', bad((p) => (p.flows[0].weight = 0)), '/flows/0/weight', /greater than 0/],
  ['request weight 0', bad((p) => (p.flows[0].requests = [{ url: '/', weight: 0 }])), '/flows/0/requests/0/weight', /greater than 0/],
  ['negative weight', bad((p) => (p.flows[0].weight = -2)), '/flows/0/weight', /greater than 0/],
  ['inverted source range', bad((p) => Object.assign(p.flows[0], { src_ip_lo: '198.18.1.20', src_ip_hi: '198.18.1.10' })), '/flows/0/src_ip_hi', /below src_ip_lo/],
  ['half a source range', bad((p) => (p.flows[0].src_ip_lo = '198.18.1.20')), '/flows/0/src_ip_hi', /together/],
  ['source range across subnets', bad((p) => Object.assign(p.flows[0], { src_ip_lo: '198.18.1.250', src_ip_hi: '198.18.2.5' })), '/flows/0/src_ip_hi', /more than one \/24 subnet/],
  ['loopback source', bad((p) => Object.assign(p.flows[0], { src_ip_lo: '127.0.0.1', src_ip_hi: '127.0.0.9' })), '/flows/0/src_ip_lo', /loopback/],
  ['vlan 4095', bad((p) => (p.flows[0].vlan_id = 4095)), '/flows/0/vlan_id', /less or equal to 4094/],
  ['dscp 64', bad((p) => (p.flows[0].dscp = 64)), '/flows/0/dscp', /less or equal to 63/],
  ['lower-case method', bad((p) => (p.flows[0].requests = [{ method: 'get', url: '/' }])), '/flows/0/requests/0/method', /request method in capitals/],
  ['url without a slash', bad((p) => (p.flows[0].requests = [{ url: 'index.html' }])), '/flows/0/requests/0/url', /path starting with \//],
  ['no request entries', bad((p) => (p.flows[0].requests = [])), '/flows/0/requests', /at least one request entry/],
  ['a GET with a body', bad((p) => (p.flows[0].requests = [{ url: '/', body_size: 10 }])), '/flows/0/requests/0/body_size', /GET request has no body/],
  ['header with CRLF', bad((p) => (p.flows[0].headers = { 'X-A': 'a\r\nB: c' })), '/flows/0/headers/X-A', /expected string to match/],
  ['requests on a udp flow', bad((p) => Object.assign(p.flows[0], { proto: 'udp', requests: [{ url: '/' }] })), '/flows/0/requests', /only http and https flows send requests/],
  ['TLS on udp', bad((p) => Object.assign(p.flows[0], { proto: 'udp', enable_tls: true })), '/flows/0/enable_tls', /TLS runs over tcp/],
  ['pipeline 0', bad((p) => (p.flows[0].pipeline = 0)), '/flows/0/pipeline', /greater or equal to 1/],
  ['negative think time', bad((p) => (p.flows[0].think_time_ms = -1)), '/flows/0/think_time_ms', /greater or equal to 0/],
  ['two flows of one name', bad((p) => p.flows.push({ ...FLOW })), '/flows/1/name', /flow 0's name already/],
  ['unknown model', bad((p) => (p.load.model = 'burst')), '/load/model', /expected one of "open", "closed"/],
  ['open model without a rate', bad((p) => (p.load.model = 'open')), '/load/model', /needs load.target_cps or load.target_rps/],
  ['closed model with a connection rate', bad((p) => (p.load.target_cps = 100)), '/load/target_cps', /the closed model holds/],
  ['impossible rates', bad((p) => Object.assign(p.load, { model: 'open', target_cps: 1000, target_rps: 500 })), '/load/target_rps', /cannot carry 1000 connections\/s/],
  ['zero rate', bad((p) => Object.assign(p.load, { model: 'open', target_rps: 0 })), '/load/target_rps', /greater than 0/],
  ['negative duration', bad((p) => (p.load.duration_secs = -5)), '/load/duration_secs', /greater or equal to 0/],
  ['no end', bad((p) => (p.load.duration_secs = 0)), '/load/duration_secs', /a run needs an end/],
  ['stages and the shorthand', bad((p) => (p.load.stages = [{ duration_secs: 5, target: 1 }])), '/load/stages', /not both/],
  ['empty stages', bad((p) => Object.assign(p.load, { duration_secs: 0, stages: [] })), '/load/stages', /greater or equal to 1/],
  ['a stage of 0 s', bad((p) => Object.assign(p.load, { duration_secs: 0, stages: [{ duration_secs: 0, target: 1 }] })), '/load/stages/0/duration_secs', /greater than 0/],
  ['a negative stage target', bad((p) => Object.assign(p.load, { duration_secs: 0, stages: [{ duration_secs: 5, target: -1 }] })), '/load/stages/0/target', /greater or equal to 0/],
  ['connections 0', bad((p) => (p.load.connections = 0)), '/load/connections', /greater or equal to 1/],
  ['max_concurrent 1.5', bad((p) => (p.load.max_concurrent = 1.5)), '/load/max_concurrent', /expected integer/],
  ['udp without a rate', bad((p) => (p.flows[0].proto = 'udp')), '/load/target_rps', /udp and icmp flows send at load.target_rps/],
  ['tls version 1.1', bad((p) => (p.tls = { version: '1.1' })), '/tls/version', /expected one of "1.2", "1.3"/],
  ['seed -1', bad((p) => (p.seed = -1)), '/seed', /greater or equal to 0/],
];

test(`bad profiles are refused whole, each with its JSON pointer (${TABLE.length} cases)`, () => {
  assert.ok(TABLE.length >= 30);
  for (const [what, profile, pointer, re] of TABLE) {
    assert.throws(
      () => checkProfile(profile),
      (e: unknown) => {
        assert.ok(e instanceof InvalidProfileError, `${what}: ${String(e)}`);
        assert.equal(e.code, 'VG_ERR_INVALID_PROFILE', what);
        assert.equal(e.pointer, pointer, `${what}: ${e.message}`);
        assert.match(e.message, re, what);
        return true;
      },
      what,
    );
  }
});

test('the client flags build a one-flow profile; --save-config writes it and --config reads the same run back', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vgprof-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const flags = { port: 'null', srcIp: ['198.18.66.10'], client: 'https://198.18.66.1:8443/a?b=1', connections: '8', duration: '3', rate: '500', requestsPerConn: '4', pipeline: '2', sni: 'x.test', insecure: true, tlsVersion: '1.3', tlsEngine: 'node' };
  const plan = parseRunOptions(flags);
  assert.equal(plan.mode.kind, 'client');
  if (plan.mode.kind !== 'client') return;
  const p = plan.mode.profile;
  assert.deepEqual(p.flows[0].requests, [{ method: 'GET', url: '/a?b=1', weight: 1, body_size: 0 }]);
  assert.equal(p.flows[0].proto, 'https');
  assert.deepEqual(p.flows[0].headers, { Host: '198.18.66.1:8443' });
  assert.deepEqual([p.load.model, p.load.connections, p.load.target_rps, p.load.duration_secs], ['closed', 8, 500, 3]);
  assert.deepEqual(p.tls, { verify: false, sni: 'x.test', version: '1.3', engine: 'node', resume: false });

  const saved = join(dir, 'saved.json');
  const r = spawnSync(process.execPath, [MAIN, '--port', 'null', '--src-ip', '198.18.66.10', '--client', 'https://198.18.66.1:8443/a?b=1', '--connections', '8',
    '--duration', '0.3', '--rate', '500', '--requests-per-conn', '4', '--pipeline', '2', '--sni', 'x.test', '--insecure', '--tls-version', '1.3',
    '--tls-engine', 'node', '--save-config', saved], { encoding: 'utf8', timeout: 30_000 });
  // Nothing answers on the null port: the run ends by its time bound.
  assert.ok(r.status === 0 || r.status === 3, `${r.status}: ${r.stderr}`);
  const back = JSON.parse(readFileSync(saved, 'utf8')) as unknown;
  assert.deepEqual(back, { ...p, load: { ...p.load, duration_secs: 0.3 } });
  const again = parseRunOptions({ port: 'null', srcIp: ['198.18.66.10'], config: saved });
  assert.equal(again.mode.kind, 'client');
  if (again.mode.kind !== 'client') return;
  const { profile: a, ...fromConfig } = again.mode;
  const { profile: b, ...fromFlags } = plan.mode;
  assert.deepEqual(a.flows, b.flows);
  // The saved run was 0.3 s long, the flags' plan 3 s: the rest is the same.
  assert.deepEqual(fromConfig.stages, [{ durationUs: 300_000, from: 1, to: 1 }]);
  assert.deepEqual({ ...fromConfig, stages: [] }, { ...fromFlags, stages: [] }, 'the same client load either way');
  assert.equal(again.durationS, 0.3);
});

test('the command refuses a bad profile by its pointer, with exit code 1, from --config and from VAIGAI_CONFIG', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vgprof-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'bad.json');
  writeFileSync(file, JSON.stringify(bad((p) => (p.flows[0].weight = 0))));
  const base = [MAIN, '--port', 'null', '--src-ip', '198.18.66.10'];
  const a = spawnSync(process.execPath, [...base, '--config', file], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(a.status, 1, a.stderr);
  assert.match(a.stderr, /^vaigai: --config .*bad\.json: \/flows\/0\/weight: expected number to be greater than 0/m);
  const b = spawnSync(process.execPath, base, { encoding: 'utf8', timeout: 30_000, env: { ...process.env, VAIGAI_CONFIG: file } });
  assert.equal(b.status, 1, b.stderr);
  assert.match(b.stderr, /\/flows\/0\/weight/);
  writeFileSync(file, '{ "flows": [');
  const c = spawnSync(process.execPath, [...base, '--config', file], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(c.status, 1);
  assert.match(c.stderr, /: \/: not JSON/);
  const d = spawnSync(process.execPath, [...base, '--config', file, '--connections', '4'], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(d.status, 1);
  assert.match(d.stderr, /^vaigai: --connections: the profile \(--config .*\) describes the traffic/m);
});

test('vaigai schema prints the JSON Schema; fields with defaults are optional', () => {
  const r = spawnSync(process.execPath, [MAIN, 'schema'], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  const s = JSON.parse(r.stdout) as { required: string[]; properties: { flows: { items: { required: string[]; properties: Record<string, unknown> } } } };
  assert.deepEqual(s.required, ['flows', 'load']);
  assert.deepEqual(s.properties.flows.items.required, ['name', 'dst_ip']);
  for (const k of ['weight', 'src_ip_lo', 'dst_port', 'proto', 'requests', 'think_time_ms']) assert.ok(k in s.properties.flows.items.properties, k);
});

test('what the engine cannot run from a profile is refused by its pointer: sources not owned, think time in the open model, fewer connections than flows', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vgprof-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const flow = { name: 'a', dst_ip: '198.18.66.1', dst_port: 80 };
  const cases: [string, unknown, string, RegExp][] = [
    ['sources not owned', { flows: [{ ...flow, src_ip_lo: '198.18.66.50', src_ip_hi: '198.18.66.60' }], load: { duration_secs: 1 } }, '/flows/0/src_ip_lo', /not within the owned addresses/],
    ['think time, open model', { flows: [{ ...flow, think_time_ms: 10 }], load: { model: 'open', target_rps: 10, duration_secs: 1 } }, '/flows/0/think_time_ms', /closed model's/],
    ['fewer connections than flows', { flows: [flow, { ...flow, name: 'b' }], load: { connections: 1, duration_secs: 1 } }, '/load/connections', /at least one per flow/],
  ];
  for (const [what, profile, pointer, re] of cases) {
    const file = join(dir, 'p.json');
    writeFileSync(file, JSON.stringify(profile));
    assert.throws(
      () => parseRunOptions({ port: 'null', srcIp: ['198.18.66.10-198.18.66.20'], config: file }),
      (e: unknown) => e instanceof InvalidProfileError && e.pointer === pointer && re.test(e.message),
      what,
    );
  }
});

test('every profile in examples/ is accepted and gives a run plan', () => {
  const dir = fileURLToPath(new URL('../../../examples/', import.meta.url));
  const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  assert.ok(files.length >= 4, files.join(', '));
  for (const f of files) {
    const plan = parseRunOptions({ port: 'ring', srcIp: ['198.18.0.10-198.18.0.20'], config: join(dir, f) });
    assert.ok(['client', 'tcp_connect', 'udp_client', 'icmp_client'].includes(plan.mode.kind), `${f}: ${plan.mode.kind}`);
    assert.ok(plan.durationS > 0, `${f}: a run length`);
  }
});

test('a flow\'s cc sets its connections\' congestion control; without it the run\'s --cc holds; an unknown one is refused by its pointer', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vgcc-'));
  try {
    const file = join(dir, 'cc.json');
    const flow = { dst_ip: '198.18.0.1', dst_port: 80 };
    writeFileSync(file, JSON.stringify({ flows: [{ ...flow, name: 'a', cc: 'newreno' }, { ...flow, name: 'b' }], load: { connections: 2, requests: 10 } }));
    const mode = parseRunOptions({ port: 'ring', srcIp: ['198.18.0.10'], config: file }).mode as { flows: { cc: number }[] };
    assert.deepEqual(mode.flows.map((f) => f.cc), [CC_NEWRENO, -1]);
    assert.throws(() => checkProfile({ flows: [{ ...flow, name: 'a', cc: 'bbr' }], load: { requests: 1 } }), (e: InvalidProfileError) => e.pointer === '/flows/0/cc');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
