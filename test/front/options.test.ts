/**
 * The run command's mode options as parsed into a plan, the errors that name
 * the option at fault (in the parser and from the command itself), `vaigai
 * demo` end to end as a user runs it, and a dpdk port opened from the command
 * line with its EAL arguments after `--` answering a kernel peer's pings (in
 * namespaces this file creates: prefix vgcl-, 198.18.10.0/24).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ealOperands, parseRunOptions, type RawRunOptions } from '../../src/mgmt/cli/stack_config.js';
import { InvalidOptionError } from '../../src/common/errors.js';
import { nativeDrivers, nativeLoadError } from '../../src/port/native.js';
import { loadNativeTls } from '../../src/tls/native_engine.js';
import { parseIp } from '../../src/wire/ipv4_addr.js';
import { FrontLab, MAIN, frontSkipReason } from './lab.js';

/** The TLS engine a run gets without --tls-engine: native when the addon has it. */
const DEFAULT_ENGINE = loadNativeTls() !== null ? 'native' : 'node';

const base: RawRunOptions = { port: 'ring', srcIp: ['198.18.6.10'] };

test('client mode: URL, defaults, keep-alive or connection per request, TLS settings', () => {
  const p = parseRunOptions({ ...base, client: 'http://198.18.6.1:8080/big.bin' });
  assert.equal(p.mode.kind, 'client');
  if (p.mode.kind !== 'client') return;
  const { profile, ...mode } = p.mode;
  assert.equal(profile.flows.length, 1);
  assert.deepEqual(mode, {
    kind: 'client', dstIp: parseIp('198.18.6.1'), dstPort: 8080, host: '198.18.6.1:8080', path: '/big.bin', method: 'GET', bodyFile: null,
    connections: 1, requests: 1, perConn: 0, pipeline: 1, rate: 0, saveBody: null, sha256: false, expectSha256: null, tls: null,
    connectTimeoutS: 5, responseTimeoutS: 30, maxResponseTimeS: 0, allowErrors: 0, open: null, stages: [],
    flows: [
      {
        name: 'flow0', weight: 1, srcLo: 0, srcHi: 0, dstIp: parseIp('198.18.6.1'), dstPort: 8080, dscp: 0, cc: -1, host: '198.18.6.1:8080', weights: [1], pipeline: 1, requestsPerConnection: 0, thinkTimeUs: 0,
        requests: [{ method: 'GET', path: '/big.bin', headers: {}, bodyFile: null, bodySize: 0 }],
      },
    ],
  });
  const q = parseRunOptions({
    ...base, client: 'https://198.18.6.1', connPerRequest: true, connections: '32', rate: '1500.5', duration: '10', sni: 'a.test', ca: '/ca.pem',
    bodyFile: '/f', expectSha256: 'AB'.repeat(32),
  });
  assert.equal(q.mode.kind, 'client');
  if (q.mode.kind !== 'client') return;
  assert.deepEqual(
    [q.mode.dstPort, q.mode.host, q.mode.path, q.mode.perConn, q.mode.requests, q.mode.rate, q.mode.method, q.mode.expectSha256],
    [443, '198.18.6.1', '/', 1, 0, 1500.5, 'POST', 'ab'.repeat(32)],
  );
  assert.deepEqual(q.mode.tls, { sni: 'a.test', verify: true, ca: '/ca.pem', version: null, engine: DEFAULT_ENGINE, resume: false, timeoutS: 30 });
  const v = parseRunOptions({
    ...base, client: 'https://198.18.6.1', insecure: true, tlsVersion: '1.3', tlsEngine: 'node', tlsResume: true, tlsTimeout: '2.5', connectTimeout: '0', responseTimeout: '7', maxResponseTime: '60',
    allowErrors: '0.01',
  });
  assert.deepEqual(v.mode.kind === 'client' && v.mode.tls, { sni: null, verify: false, ca: null, version: 'TLSv1.3', engine: 'node', resume: true, timeoutS: 2.5 });
  assert.deepEqual(v.mode.kind === 'client' && [v.mode.connectTimeoutS, v.mode.responseTimeoutS, v.mode.maxResponseTimeS, v.mode.allowErrors], [0, 7, 60, 0.01]);
  const k = parseRunOptions({ ...base, client: 'http://198.18.6.1/', requestsPerConn: '10', requests: '100' });
  assert.deepEqual(k.mode.kind === 'client' && [k.mode.perConn, k.mode.requests], [10, 100]);
});

test('server and bulk modes: ports by default and as given', () => {
  const timeouts = { headerUs: 30_000_000, idleUs: 60_000_000 };
  assert.deepEqual(parseRunOptions({ ...base, server: true }).mode, { kind: 'http', port: 80, status: 200, bodySize: 0, tls: null, timeouts, countTargets: false });
  const c = parseRunOptions({ ...base, server: true, countTargets: true }).mode;
  assert.equal(c.kind === 'http' && c.countTargets, true);
  assert.throws(() => parseRunOptions({ ...base, countTargets: true, tcpSink: true }), /--count-targets: is a --server option/);
  assert.deepEqual(parseRunOptions({ ...base, server: true, tls: true, cert: 'c', key: 'k', httpStatus: '204', bodySize: '5' }).mode, {
    kind: 'http', port: 443, status: 204, bodySize: 5, tls: { cert: 'c', key: 'k', version: null, engine: DEFAULT_ENGINE }, timeouts, countTargets: false,
  });
  const n = parseRunOptions({ ...base, server: true, tls: true, cert: 'c', key: 'k', tlsEngine: 'node' }).mode;
  assert.equal(n.kind === 'http' && n.tls?.engine, 'node');
  assert.deepEqual(parseRunOptions({ ...base, tcpSink: true, sha256: true }).mode, { kind: 'sink', port: 9, bytes: 0, sha256: true });
  assert.deepEqual(parseRunOptions({ ...base, tcpSource: '1000', listenPort: '5001' }).mode, { kind: 'source', port: 5001, bytes: 1000, sha256: false });
  assert.deepEqual(parseRunOptions(base).mode, { kind: 'stack' });
});

test('--header-timeout and --idle-timeout: seconds, fractions and 0 (no limit)', () => {
  const m = parseRunOptions({ ...base, server: true, headerTimeout: '1.5', idleTimeout: '0' }).mode;
  assert.deepEqual(m.kind === 'http' && m.timeouts, { headerUs: 1_500_000, idleUs: 0 });
});

test('--tcp-window: bytes, or k and m multiples of 1024; the TCP defaults without it', () => {
  assert.equal(parseRunOptions({ ...base, server: true }).tcpWindow, 0);
  assert.equal(parseRunOptions({ ...base, server: true, tcpWindow: '4m' }).tcpWindow, 4 << 20);
  assert.equal(parseRunOptions({ ...base, server: true, tcpWindow: '256K' }).tcpWindow, 256 * 1024);
  assert.equal(parseRunOptions({ ...base, server: true, tcpWindow: '100000' }).tcpWindow, 100000);
});

test('bad mode options are errors naming the option', () => {
  const cases: [RawRunOptions, RegExp][] = [
    [{ server: true, client: 'http://198.18.6.1/' }, /^--client: cannot be combined with --server/],
    [{ tcpSink: true, tcpSource: '5' }, /^--tcp-source: cannot be combined with --tcp-sink/],
    [{ client: 'http://example.com/' }, /^--client: .*no DNS names/],
    [{ client: 'ftp://198.18.6.1/' }, /^--client:/],
    [{ client: 'http://198.18.6.1:0/' }, /^--client:/],
    [{ client: 'http://198.18.6.1/', keepalive: true, connPerRequest: true }, /^--keepalive: give one of/],
    [{ client: 'http://198.18.6.1/', pipeline: '0' }, /^--pipeline:/],
    [{ client: 'http://198.18.6.1/', connectTimeout: '-1' }, /^--connect-timeout: "-1" is not a number of seconds in 0\.\.86400/],
    [{ client: 'http://198.18.6.1/', responseTimeout: 'x' }, /^--response-timeout: "x" is not a number of seconds/],
    [{ client: 'http://198.18.6.1/', maxResponseTime: '' }, /^--max-response-time: "" is not a number of seconds/],
    [{ client: 'https://198.18.6.1/', tlsTimeout: '0' }, /^--tls-timeout: "0" is not a positive number of seconds/],
    [{ client: 'http://198.18.6.1/', tlsTimeout: '5' }, /^--tls-timeout: needs an https:\/\/ URL/],
    [{ client: 'http://198.18.6.1/', allowErrors: '1.5' }, /^--allow-errors: "1.5" is not a ratio in 0..1/],
    [{ client: 'http://198.18.6.1/', rate: '-3' }, /^--rate:/],
    [{ client: 'http://198.18.6.1/', expectSha256: 'xyz' }, /^--expect-sha256:/],
    [{ client: 'http://198.18.6.1/', insecure: true }, /^--insecure: needs an https/],
    [{ client: 'https://198.18.6.1/', insecure: true, ca: 'x' }, /^--insecure: cannot be combined with --ca/],
    [{ client: 'http://198.18.6.1/', method: 'G T' }, /^--method:/],
    [{ server: true, tls: true }, /^--tls: a server needs --cert and --key/],
    [{ server: true, tls: true, cert: 'c', key: 'k', tlsVersion: '1.1' }, /^--tls-version: "1.1" is not 1.2 or 1.3/],
    [{ client: 'http://198.18.6.1/', tlsVersion: '1.3' }, /^--tls-version: needs an https/],
    [{ client: 'https://198.18.6.1/', tlsEngine: 'gnutls' }, /^--tls-engine: "gnutls" is not node or native/],
    [{ client: 'http://198.18.6.1/', tlsEngine: 'node' }, /^--tls-engine: needs an https/],
    [{ client: 'http://198.18.6.1/', tlsResume: true }, /^--tls-resume: needs an https/],
    [{ server: true, tlsEngine: 'native' }, /^--tls-engine: needs TLS/],
    [{ server: true, listenPort: '70000' }, /^--listen-port:/],
    [{ server: true, maxConns: '3' }, /^--max-conns:/],
    [{ server: true, tcpWindow: '1k' }, /^--tcp-window: "1k" is not a size in 4k..64m/],
    [{ server: true, tcpWindow: '4g' }, /^--tcp-window:/],
    [{ server: true, headerTimeout: '-1' }, /^--header-timeout: "-1" is not a number of seconds/],
    [{ server: true, idleTimeout: 'soon' }, /^--idle-timeout: "soon" is not a number of seconds/],
    [{ server: true, idleTimeout: '' }, /^--idle-timeout:/],
    [{ client: 'http://198.18.6.1/', idleTimeout: '5' }, /^--idle-timeout: is a --server option/],
    [{ tcpSink: true, headerTimeout: '5' }, /^--header-timeout: is a --server option/],
    [{ pcap: ' ' }, /^--pcap: needs a file name/],
    [{ sslkeylog: 'k.log' }, /^--sslkeylog: needs TLS/],
    [{ server: true, sslkeylog: 'k.log' }, /^--sslkeylog: needs TLS/],
    [{ client: 'http://198.18.6.1/', sslkeylog: 'k.log' }, /^--sslkeylog: needs TLS/],
    [{ server: true, tls: true, cert: 'c', key: 'k', sslkeylog: '' }, /^--sslkeylog: needs a file name/],
  ];
  for (const [o, re] of cases) {
    assert.throws(() => parseRunOptions({ ...base, ...o }), (e: Error) => e instanceof InvalidOptionError && re.test(e.message), JSON.stringify(o));
  }
});

test('capture, key log and EAL arguments: --sslkeylog over SSLKEYLOGFILE, which applies only with TLS', () => {
  const tlsServer: RawRunOptions = { ...base, server: true, tls: true, cert: 'c', key: 'k' };
  const env = { SSLKEYLOGFILE: '/env.keys' };
  assert.deepEqual(parseRunOptions(tlsServer, [], env).keylog, { path: '/env.keys', from: 'SSLKEYLOGFILE' });
  assert.deepEqual(parseRunOptions({ ...tlsServer, sslkeylog: '/opt.keys' }, [], env).keylog, { path: '/opt.keys', from: '--sslkeylog' });
  const client = parseRunOptions({ ...base, client: 'https://198.18.6.1/', sslkeylog: '/c.keys' }, [], {});
  assert.deepEqual(client.keylog, { path: '/c.keys', from: '--sslkeylog' });
  assert.equal(parseRunOptions({ ...base, server: true }, [], env).keylog, null, 'no TLS: the variable is not used');
  assert.equal(parseRunOptions(tlsServer, [], {}).keylog, null);
  assert.equal(parseRunOptions(tlsServer, [], { SSLKEYLOGFILE: '' }).keylog, null, 'an empty variable is unset');
  const p = parseRunOptions({ ...base, port: 'dpdk:dev=net_ring0', pcap: '/x.pcap' }, ['--no-huge', '-m', '512'], {});
  assert.deepEqual([p.pcapPath, p.ealArgs], ['/x.pcap', ['--no-huge', '-m', '512']]);
  assert.deepEqual([parseRunOptions(base, [], {}).pcapPath, parseRunOptions(base, [], {}).ealArgs], [null, []]);
  // Operands are EAL arguments only after --.
  assert.deepEqual(ealOperands(['-l', '0'], ['node', 'main.js', '--port', 'dpdk', '--', '-l', '0']), ['-l', '0']);
  assert.deepEqual(ealOperands([], ['node', 'main.js', '--port', 'ring']), []);
  assert.throws(() => ealOperands(['foo'], ['node', 'main.js', 'foo', '--port', 'ring']), /^Error: --: unexpected argument "foo"/);
  assert.throws(() => ealOperands(['foo', '-l'], ['node', 'main.js', 'foo', '--', '-l']), /unexpected argument "foo"/);
  assert.throws(() => parseRunOptions(base, ['-l', '0'], {}), (e: Error) => e instanceof InvalidOptionError && /^--: "-l 0": arguments after -- are EAL arguments, for a dpdk port only/.test(e.message));
});

test('the command refuses a bad capture file, key log file, input file or EAL argument, naming the setting', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vgcl-opts-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const missing = join(dir, 'no', 'such', 'dir');
  const run = (args: string[], env: NodeJS.ProcessEnv = {}): { status: number | null; err: string } => {
    const r = spawnSync(process.execPath, [MAIN, '--port', 'null', '--src-ip', '198.18.10.2', '--duration', '0.2', ...args], {
      encoding: 'utf8',
      timeout: 30_000,
      env: { PATH: process.env.PATH, ...env },
    });
    return { status: r.status, err: r.stderr };
  };
  // The key log and capture are checked before the (unread) certificate files are loaded.
  writeFileSync(join(dir, 'c.pem'), '');
  writeFileSync(join(dir, 'k.pem'), '');
  const tls = ['--server', '--tls', '--cert', join(dir, 'c.pem'), '--key', join(dir, 'k.pem')];
  const cases: [string[], NodeJS.ProcessEnv, RegExp][] = [
    [['--pcap', `${missing}/x.pcap`], {}, /^vaigai: --pcap: cannot write ".*\/no\/such\/dir\/x\.pcap": ENOENT/m],
    [['--pcap', dir], {}, /^vaigai: --pcap: cannot write ".*": EISDIR/m],
    [[...tls, '--sslkeylog', `${missing}/k.log`], {}, /^vaigai: --sslkeylog: cannot write ".*k\.log": ENOENT/m],
    [tls, { SSLKEYLOGFILE: `${missing}/env.log` }, /^vaigai: SSLKEYLOGFILE: cannot write ".*env\.log": ENOENT/m],
    [['--sslkeylog', join(dir, 'k.log')], {}, /^vaigai: --sslkeylog: needs TLS/m],
    [['--server', '--tls', '--cert', `${missing}/c.pem`, '--key', join(dir, 'k.pem')], {}, /^vaigai: --cert: cannot read ".*c\.pem": ENOENT/m],
    [['--client', 'http://198.18.10.1/', '--body-file', `${missing}/body`], {}, /^vaigai: --body-file: cannot read ".*body": ENOENT/m],
    [['--client', 'https://198.18.10.1/', '--ca', `${missing}/ca.pem`], {}, /^vaigai: --ca: cannot read ".*ca\.pem": ENOENT/m],
    [['stray'], {}, /^vaigai: --: unexpected argument "stray"/m],
    [['--', '-l', '0'], {}, /^vaigai: --: "-l 0": arguments after -- are EAL arguments, for a dpdk port only/m],
    [['--json', `${missing}/x.json`], {}, /^vaigai: --json: cannot write ".*\/no\/such\/dir\/x\.json": ENOENT/m],
    [['--client', 'http://198.18.10.1/', '--save-body', `${missing}/b`], {}, /^vaigai: --save-body: cannot write ".*\/b": ENOENT/m],
    [['--client', 'http://198.18.99.1/'], {}, /^vaigai: --client: 198\.18\.99\.1 is not on an owned subnet \(198\.18\.10\.0\/24\) and no route covers it/m],
    [['--client', 'http://224.0.0.1/'], {}, /^vaigai: --client: 224\.0\.0\.1 is multicast/m],
    [['--src-ip', '0.0.0.0'], {}, /^vaigai: --src-ip: "0\.0\.0\.0": 0\.0\.0\.0 is in 0\.0\.0\.0\/8/m],
    [['--src-ip', '224.0.0.1'], {}, /^vaigai: --src-ip: "224\.0\.0\.1": 224\.0\.0\.1 is multicast/m],
    [['--src-ip', '255.255.255.255/32'], {}, /^vaigai: --src-ip: .* is the broadcast address/m],
    [['--src-ip', '127.0.0.1'], {}, /^vaigai: --src-ip: "127\.0\.0\.1": 127\.0\.0\.1 is loopback/m],
    [['--gateway', '127.0.0.1'], {}, /^vaigai: --gateway: "127\.0\.0\.1" is loopback/m],
    [['--drain', '-1'], {}, /^vaigai: --drain: "-1" is not a number of seconds/m],
    [['--workers', '0'], {}, /^vaigai: --workers: "0" is not an integer/m],
    [['--bogus'], {}, /unknown option '--bogus'/],
  ];
  for (const [args, env, re] of cases) {
    const r = run(args, env);
    assert.equal(r.status, 1, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, re, args.join(' '));
  }
  if (!nativeDrivers().includes('dpdk')) return t.skip(`dpdk driver not built: ${nativeLoadError() || 'libdpdk-dev missing'}`);
  const r = spawnSync(process.execPath, [MAIN, '--port', 'dpdk:dev=net_null0', '--src-ip', '198.18.10.2', '--duration', '0.2',
    '--', '--no-huge', '--no-shconf', '-m', '512', '--no-pci', '--no-telemetry', '--bogus-eal-flag'], { encoding: 'utf8', timeout: 30_000 });
  // The EAL reads its arguments only when the port opens: the run could not start (exit 2).
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /^vaigai: --port: dpdk: rte_eal_init failed/m);
  assert.match(r.stderr, /unrecognized option '--bogus-eal-flag'/, 'DPDK names the argument it refused');
});

test('vaigai --port dpdk:dev=net_af_packet0 -- <EAL args>: the kernel peer pings 3 owned addresses 20/20', { timeout: 120_000 }, async (t) => {
  const skip = await frontSkipReason(['ping', 'ethtool']);
  if (skip !== null) return t.skip(skip);
  if (!nativeDrivers().includes('dpdk')) return t.skip(`dpdk driver not built: ${nativeLoadError() || 'libdpdk-dev missing'}`);
  const f = new FrontLab('vgcl-');
  t.after(() => f.cleanup());
  const { gen, peer, genIf } = f.pair('198.18.10.1');
  const owned = ['198.18.10.10', '198.18.10.11', '198.18.10.12'];
  const v = await f.startVaigai(gen, [
    '--port', 'dpdk:dev=net_af_packet0', '--src-ip', `${owned[0]}-${owned[2]}`, '--duration', '60',
    '--', '--no-huge', '--no-shconf', '-m', '512', '--no-pci', '--no-telemetry', '--vdev', `net_af_packet0,iface=${genIf}`,
  ]);
  try {
    assert.match(v.out, /^vaigai: dpdk /m, v.out);
    for (const ip of owned) {
      const out = f.lab.run(peer, 'ping', ['-c', '20', '-i', '0.05', '-W', '2', '-q', ip]);
      assert.match(out, /20 packets transmitted, 20 received/, `${ip}: ${out}`);
    }
  } finally {
    assert.equal(await v.stop(), 0, v.out);
  }
  assert.match(v.out, /icmpRxEchoRequests=60 icmpTxEchoReplies=60/, v.out);
});

test('vaigai demo runs the example profile through the engine: its stages, flows and entries, every request answered', () => {
  const r = spawnSync(process.execPath, [MAIN, 'demo'], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const m = /requests +(\d+) sent, (\d+) answered .*?, (\d+) failed, (\d+) in flight/.exec(r.stdout);
  assert.ok(m !== null, r.stdout);
  assert.ok(Number(m[1]) > 1000, r.stdout);
  assert.equal(m[1], m[2], 'every request sent was answered');
  assert.deepEqual([m[3], m[4]], ['0', '0']);
  // The server answered what the client counted.
  const server = JSON.parse(/^http server: (.*)$/m.exec(r.stdout)?.[1] ?? '{}') as { requests: number; responses: number };
  assert.equal(server.responses, Number(m[2]));
  // 10 s of stages (3 up, 4 steady, 3 down): a live line each second.
  assert.ok([...r.stdout.matchAll(/^\[ +\d+s\] conn/gm)].length >= 9, r.stdout);
  assert.match(r.stdout, /arrivals +\d+ scheduled, 0 dropped/);
  const flows = [...r.stdout.matchAll(/^ {2}flow (\S+): \d+ connections, (\d+) sent, (\d+) answered/gm)].map((f) => [f[1], Number(f[2])]);
  assert.deepEqual(flows.map((f) => f[0]), ['pages', 'downloads']);
  assert.equal(flows.reduce((n, f) => n + (f[1] as number), 0), Number(m[1]), 'the flows add up to the total');
  assert.match(r.stdout, /^ {4}GET \/: \d+ sent/m);
  assert.match(r.stdout, /^ {4}POST \/api: \d+ sent/m);
});

test('a bad --port spec is a usage error (exit 1); a port that cannot open means the run could not start (exit 2)', () => {
  const cases: [string, number, RegExp][] = [
    ['bogus:x=1', 1, /^vaigai: --port: unknown port driver 'bogus'/m],
    ['tap:name=vgx,bogus=1', 1, /^vaigai: --port: tap has no option 'bogus'/m],
    ['ring:queues=x', 1, /^vaigai: --port: queues=x is not a positive integer/m],
    ['af_packet:iface=vgcl-none', 2, /^vaigai: --port: af_packet: interface 'vgcl-none' not found/m],
  ];
  for (const [spec, status, re] of cases) {
    const r = spawnSync(process.execPath, [MAIN, '--port', spec, '--src-ip', '198.18.10.2', '--duration', '0.2'], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, status, `${spec}: ${r.stderr}`);
    assert.match(r.stderr, re, spec);
  }
});
