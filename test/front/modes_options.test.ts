/**
 * The options of the traffic modes beside HTTP as parsed into a plan:
 * `--client tcp://`, `udp://`, `icmp://` and `--listen proto:port[:handler]`,
 * and a table of bad ones, each refused with an error naming the option (in
 * the parser, and from the command with exit code 1).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseRunOptions, type RawRunOptions } from '../../src/mgmt/cli/stack_config.js';
import { InvalidOptionError } from '../../src/common/errors.js';
import { parseIp } from '../../src/wire/ipv4_addr.js';
import { MAIN } from './lab.js';

const base: RawRunOptions = { port: 'ring', srcIp: ['198.18.64.10'] };
const PEER = parseIp('198.18.64.1');

/** The plan of a mode, without the profile it was made from. */
function planOf(o: RawRunOptions): Record<string, unknown> {
  const { profile, ...plan } = parseRunOptions(o).mode as { profile: unknown };
  assert.ok(profile !== undefined, 'the flags built a profile');
  return plan;
}

test('--client tcp://, udp:// and icmp://: plans and their defaults', () => {
  assert.deepEqual(planOf({ ...base, client: 'tcp://198.18.64.1:80' }), {
    kind: 'tcp_connect', dstIp: PEER, dstPort: 80, connections: 1, requests: 1, rate: 0, close: 'fin', payloadSize: 0,
  });
  assert.deepEqual(
    planOf({ ...base, client: 'tcp://198.18.64.1:9', connections: '64', rate: '2000', duration: '10', close: 'rst', payloadSize: '1000000' }),
    { kind: 'tcp_connect', dstIp: PEER, dstPort: 9, connections: 64, requests: 0, rate: 2000, close: 'rst', payloadSize: 1_000_000 },
  );
  assert.deepEqual(planOf({ ...base, client: 'udp://198.18.64.1:7', rate: '500', requests: '1000', payloadSize: '1400' }), {
    kind: 'udp_client', dstIp: PEER, dstPort: 7, requests: 1000, rate: 500, payloadSize: 1400,
  });
  assert.deepEqual(planOf({ ...base, client: 'icmp://198.18.64.1', duration: '5' }), {
    kind: 'icmp_client', dstIp: PEER, dstPort: 0, requests: 0, rate: 1, payloadSize: 64,
  });
});

test('tcp, udp and icmp flows in a profile file: the plans the flags give, the profile --save-config writes back, refusals by pointer', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vgmo-'));
  try {
    const cases: [RawRunOptions, string][] = [
      [{ ...base, client: 'tcp://198.18.64.1:9', connections: '64', rate: '2000', duration: '10', close: 'rst', payloadSize: '1000000' }, 'tcp'],
      [{ ...base, client: 'tcp://198.18.64.1:80', connections: '8', requests: '500' }, 'tcp-closed'],
      [{ ...base, client: 'udp://198.18.64.1:7', rate: '500', requests: '1000', payloadSize: '1400' }, 'udp'],
      [{ ...base, client: 'icmp://198.18.64.1', duration: '5', rate: '10' }, 'icmp'],
    ];
    for (const [flags, name] of cases) {
      const fromFlags = parseRunOptions(flags);
      const file = join(dir, `${name}.json`);
      writeFileSync(file, JSON.stringify((fromFlags.mode as { profile: unknown }).profile));
      const { client: _c, connections: _n, rate: _r, duration: _d, close: _x, payloadSize: _s, requests: _q, ...rest } = flags;
      const fromFile = parseRunOptions({ ...rest, config: file });
      assert.deepEqual(planOf({ ...rest, config: file }), planOf(flags), name);
      assert.equal(fromFile.durationS, fromFlags.durationS, name);
    }
    const refused = (profile: unknown): { code: string; pointer: string } => {
      const file = join(dir, 'bad.json');
      writeFileSync(file, JSON.stringify(profile));
      try {
        parseRunOptions({ ...base, config: file });
      } catch (e) {
        return { code: (e as { code: string }).code, pointer: (e as { pointer: string }).pointer };
      }
      return assert.fail('refused');
    };
    const tcp = { name: 't', dst_ip: '198.18.64.1', dst_port: 80, proto: 'tcp' };
    const http = { name: 'h', dst_ip: '198.18.64.1', dst_port: 80 };
    const cases2: [unknown, string][] = [
      [{ flows: [http, tcp], load: { requests: 10 } }, '/flows/1/proto'],
      [{ flows: [tcp], load: { model: 'open', target_cps: 10, target_rps: 20, duration_secs: 1 } }, '/load/target_rps'],
      [{ flows: [tcp], load: { connections: 2, ramp_up_secs: 2, duration_secs: 1 } }, '/load/ramp_up_secs'],
      [{ flows: [{ ...tcp, proto: 'udp', payload_size: 8 }], load: { target_rps: 10, requests: 10 } }, '/flows/0/payload_size'],
      [{ flows: [{ ...tcp, proto: 'udp' }], load: { model: 'open', target_cps: 10, target_rps: 10, requests: 10 } }, '/load/target_cps'],
    ];
    for (const [p, pointer] of cases2) assert.deepEqual(refused(p), { code: 'VG_ERR_INVALID_PROFILE', pointer }, JSON.stringify(p));
    // Stages scale the open model's target_cps and a datagram flow's target_rps; a held rate carries none.
    const staged = (profile: unknown): { plan: unknown; durationS: number } => {
      const file = join(dir, 'staged.json');
      writeFileSync(file, JSON.stringify(profile));
      const o = parseRunOptions({ ...base, config: file });
      return { plan: planOf({ ...base, config: file }), durationS: o.durationS };
    };
    const ramp = staged({ flows: [tcp], load: { model: 'open', target_cps: 100, ramp_up_secs: 2, duration_secs: 3, ramp_down_secs: 1 } });
    assert.equal(ramp.durationS, 6);
    assert.deepEqual((ramp.plan as { stages: unknown }).stages, [{ durationUs: 2e6, from: 0, to: 1 }, { durationUs: 3e6, from: 1, to: 1 }, { durationUs: 1e6, from: 1, to: 0 }]);
    const udp = staged({ flows: [{ ...tcp, proto: 'udp' }], load: { target_rps: 50, stages: [{ duration_secs: 2, target: 0.5 }, { duration_secs: 2, target: 2 }] } });
    assert.deepEqual((udp.plan as { stages: unknown }).stages, [{ durationUs: 2e6, from: 0.5, to: 0.5 }, { durationUs: 2e6, from: 0.5, to: 2 }]);
    assert.equal('stages' in (staged({ flows: [{ ...tcp, proto: 'icmp', dst_port: undefined }], load: { target_rps: 5, duration_secs: 2 } }).plan as object), false);
    // A source range and a DSCP go to the plan; a range not owned is refused by its pointer.
    const ranged = { ...tcp, src_ip_lo: '198.18.64.10', src_ip_hi: '198.18.64.10', dscp: 46 };
    assert.deepEqual(staged({ flows: [ranged], load: { requests: 3 } }).plan, {
      kind: 'tcp_connect', dstIp: PEER, dstPort: 80, connections: 1, requests: 3, rate: 0, close: 'fin', payloadSize: 0, dscp: 46, srcLo: parseIp('198.18.64.10'), srcHi: parseIp('198.18.64.10'),
    });
    assert.deepEqual(refused({ flows: [{ ...ranged, src_ip_hi: '198.18.64.11' }], load: { requests: 3 } }), { code: 'VG_ERR_INVALID_PROFILE', pointer: '/flows/0/src_ip_lo' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--listen: listeners in order, handlers by default, the certificate for HTTPS', () => {
  const p = parseRunOptions({ ...base, listen: ['http:80', 'https:443', 'tcp:9', 'tcp:7:echo', 'TCP:19:chargen', 'udp:7', 'udp:9:discard'], cert: 'c', key: 'k', tlsEngine: 'node' });
  assert.deepEqual(p.mode, {
    kind: 'listen',
    listeners: [
      { proto: 'http', port: 80, handler: 'http' }, { proto: 'https', port: 443, handler: 'http' }, { proto: 'tcp', port: 9, handler: 'discard' },
      { proto: 'tcp', port: 7, handler: 'echo' }, { proto: 'tcp', port: 19, handler: 'chargen' }, { proto: 'udp', port: 7, handler: 'echo' },
      { proto: 'udp', port: 9, handler: 'discard' },
    ],
    status: 200,
    bodySize: 0,
    tls: { cert: 'c', key: 'k', version: null, engine: 'node' },
  });
  assert.equal(parseRunOptions({ ...base, listen: ['udp:53'] }).mode.kind, 'listen');
});

const BAD: [RawRunOptions, RegExp][] = [
  [{ listen: ['ftp:21'] }, /^--listen: "ftp:21": unknown protocol "ftp" \(http, https, tcp, udp\)/],
  [{ listen: ['tcp'] }, /^--listen: "tcp" is not proto:port\[:handler\]/],
  [{ listen: ['tcp:7:echo:x'] }, /^--listen: "tcp:7:echo:x" is not proto:port/],
  [{ listen: ['tcp:0:echo'] }, /^--listen: "tcp:0:echo": port "0" is not an integer in 1\.\.65535/],
  [{ listen: ['udp:70000'] }, /^--listen: "udp:70000": port "70000"/],
  [{ listen: ['http:x'] }, /^--listen: "http:x": port "x"/],
  [{ listen: ['udp:19:chargen'] }, /^--listen: "udp:19:chargen": handler "chargen" is not one of echo, discard for udp/],
  [{ listen: ['http:80:echo'] }, /^--listen: "http:80:echo": handler "echo" is not one of http for http/],
  [{ listen: ['tcp:7:http'] }, /^--listen: "tcp:7:http": handler "http" is not one of discard, echo, chargen for tcp/],
  [{ listen: ['http:80', 'tcp:80:echo'] }, /^--listen: "tcp:80:echo": TCP port 80 is already http:80/],
  [{ listen: ['udp:7:echo', 'udp:7:discard'] }, /^--listen: "udp:7:discard": UDP port 7 is already udp:7:echo/],
  [{ listen: ['https:443'] }, /^--listen: "https:443" needs --cert and --key/],
  [{ listen: ['https:443'], cert: 'c' }, /^--key: HTTPS needs both --cert and --key/],
  [{ listen: ['http:80'], server: true }, /^--listen: cannot be combined with --server/],
  [{ listen: ['http:80'], client: 'tcp://198.18.64.1:80' }, /^--client: cannot be combined with --listen/],
  [{ listen: ['http:80'], listenPort: '81' }, /^--listen-port: not with --listen/],
  [{ listen: ['http:80'], tls: true }, /^--tls: not with --listen \(give --listen https:PORT\)/],
  [{ listen: ['http:80'], sslkeylog: 'k.log' }, /^--sslkeylog: needs TLS/],
  [{ client: 'tcp://198.18.64.1' }, /^--client: "tcp:\/\/198\.18\.64\.1" needs a port/],
  [{ client: 'udp://198.18.64.1:0' }, /^--client: "udp:\/\/198\.18\.64\.1:0": "0" is not an integer in 1\.\.65535/],
  [{ client: 'icmp://198.18.64.1:7' }, /^--client: "icmp:\/\/198\.18\.64\.1:7": ICMP has no port/],
  [{ client: 'tcp://host.test:80' }, /^--client: "tcp:\/\/host\.test:80" is not tcp:\/\/IPv4:port/],
  [{ client: 'tcp://198.18.99.1:80' }, /^--client: 198\.18\.99\.1 is not on an owned subnet/],
  [{ client: 'tcp://198.18.64.1:80', close: 'fast' }, /^--close: "fast" is not fin or rst/],
  [{ client: 'udp://198.18.64.1:7', close: 'rst' }, /^--close: is an option of tcp:\/\/ clients, not udp:\/\//],
  [{ client: 'http://198.18.64.1/', close: 'rst' }, /^--close: is an option of tcp:\/\/ clients/],
  [{ client: 'http://198.18.64.1/', payloadSize: '10' }, /^--payload-size: is an option of tcp:\/\/, udp:\/\/ and icmp:\/\/ clients/],
  [{ client: 'udp://198.18.64.1:7', payloadSize: '8' }, /^--payload-size: "8": "8" is not an integer in 16\.\.1472/],
  [{ client: 'icmp://198.18.64.1', payloadSize: '1473' }, /^--payload-size: "1473"/],
  [{ client: 'tcp://198.18.64.1:80', payloadSize: '-1' }, /^--payload-size:/],
  [{ client: 'udp://198.18.64.1:7', rate: '0' }, /^--rate: "0" is not a positive number of datagrams per second/],
  [{ client: 'tcp://198.18.64.1:80', rate: 'fast' }, /^--rate: "fast" is not a positive number of connections per second/],
  [{ client: 'tcp://198.18.64.1:80', connections: '0' }, /^--connections:/],
  [{ client: 'icmp://198.18.64.1', connections: '4' }, /^--connections: is an option of connection clients, not icmp:\/\//],
  [{ client: 'udp://198.18.64.1:7', requests: '0' }, /^--requests:/],
  [{ client: 'tcp://198.18.64.1:80', pipeline: '4' }, /^--pipeline: is an option of http:\/\/ and https:\/\/ clients, not tcp:\/\//],
  [{ client: 'udp://198.18.64.1:7', method: 'POST' }, /^--method: is an option of http:\/\/ and https:\/\/ clients/],
  [{ client: 'icmp://198.18.64.1', insecure: true }, /^--insecure: is an option of http:\/\/ and https:\/\/ clients/],
];

test('bad --listen and --client tcp/udp/icmp options: errors naming the option', () => {
  for (const [o, re] of BAD) {
    assert.throws(() => parseRunOptions({ ...base, ...o }), (e: Error) => e instanceof InvalidOptionError && re.test(e.message), `${JSON.stringify(o)} should fail with ${re}`);
  }
});

test('the command refuses them with exit code 1 before any traffic', () => {
  const cases: [string[], RegExp][] = [
    [['--listen', 'ftp:21'], /^vaigai: --listen: "ftp:21": unknown protocol "ftp"/m],
    [['--listen', 'tcp:7:echo', '--listen', 'tcp:7:discard'], /^vaigai: --listen: "tcp:7:discard": TCP port 7 is already tcp:7:echo/m],
    [['--listen', 'udp:7:chargen'], /^vaigai: --listen: "udp:7:chargen": handler "chargen" is not one of echo, discard for udp/m],
    [['--client', 'tcp://198.18.64.1:80', '--close', 'later'], /--close.*later/m],
    [['--client', 'icmp://198.18.64.1', '--payload-size', '4'], /^vaigai: --payload-size: "4"/m],
  ];
  for (const [args, re] of cases) {
    const r = spawnSync(process.execPath, [MAIN, '--port', 'null', '--src-ip', '198.18.64.10', '--duration', '0.2', ...args], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re, args.join(' '));
  }
});
