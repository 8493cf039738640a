/**
 * The run command's mode options as parsed into a plan, the errors that name
 * the option at fault, and `vaigai demo` end to end as a user runs it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { OptionError, parseRunOptions, type RawRunOptions } from '../../src/mgmt/cli/stack_config.js';
import { parseIp } from '../../src/wire/ipv4_addr.js';
import { MAIN } from './lab.js';

const base: RawRunOptions = { port: 'ring', srcIp: ['198.18.6.10'] };

test('client mode: URL, defaults, keep-alive or connection per request, TLS settings', () => {
  const p = parseRunOptions({ ...base, client: 'http://198.18.6.1:8080/big.bin' });
  assert.deepEqual(p.mode, {
    kind: 'client', dstIp: parseIp('198.18.6.1'), dstPort: 8080, host: '198.18.6.1:8080', path: '/big.bin', method: 'GET', bodyFile: null,
    connections: 1, requests: 1, perConn: 0, pipeline: 1, rate: 0, saveBody: null, sha256: false, expectSha256: null, tls: null,
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
  assert.deepEqual(q.mode.tls, { sni: 'a.test', verify: true, ca: '/ca.pem', version: null });
  const v = parseRunOptions({ ...base, client: 'https://198.18.6.1', insecure: true, tlsVersion: '1.3' });
  assert.deepEqual(v.mode.kind === 'client' && v.mode.tls, { sni: null, verify: false, ca: null, version: 'TLSv1.3' });
  const k = parseRunOptions({ ...base, client: 'http://198.18.6.1/', requestsPerConn: '10', requests: '100' });
  assert.deepEqual(k.mode.kind === 'client' && [k.mode.perConn, k.mode.requests], [10, 100]);
});

test('server and bulk modes: ports by default and as given', () => {
  assert.deepEqual(parseRunOptions({ ...base, server: true }).mode, { kind: 'http', port: 80, status: 200, bodySize: 0, tls: null });
  assert.deepEqual(parseRunOptions({ ...base, server: true, tls: true, cert: 'c', key: 'k', httpStatus: '204', bodySize: '5' }).mode, {
    kind: 'http', port: 443, status: 204, bodySize: 5, tls: { cert: 'c', key: 'k', version: null },
  });
  assert.deepEqual(parseRunOptions({ ...base, tcpSink: true, sha256: true }).mode, { kind: 'sink', port: 9, bytes: 0, sha256: true });
  assert.deepEqual(parseRunOptions({ ...base, tcpSource: '1000', listenPort: '5001' }).mode, { kind: 'source', port: 5001, bytes: 1000, sha256: false });
  assert.deepEqual(parseRunOptions(base).mode, { kind: 'stack' });
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
    [{ client: 'http://198.18.6.1/', rate: '-3' }, /^--rate:/],
    [{ client: 'http://198.18.6.1/', expectSha256: 'xyz' }, /^--expect-sha256:/],
    [{ client: 'http://198.18.6.1/', insecure: true }, /^--insecure: needs an https/],
    [{ client: 'https://198.18.6.1/', insecure: true, ca: 'x' }, /^--insecure: cannot be combined with --ca/],
    [{ client: 'http://198.18.6.1/', method: 'G T' }, /^--method:/],
    [{ server: true, tls: true }, /^--tls: a server needs --cert and --key/],
    [{ server: true, tls: true, cert: 'c', key: 'k', tlsVersion: '1.1' }, /^--tls-version: "1.1" is not 1.2 or 1.3/],
    [{ client: 'http://198.18.6.1/', tlsVersion: '1.3' }, /^--tls-version: needs an https/],
    [{ server: true, listenPort: '70000' }, /^--listen-port:/],
    [{ server: true, maxConns: '3' }, /^--max-conns:/],
  ];
  for (const [o, re] of cases) {
    assert.throws(() => parseRunOptions({ ...base, ...o }), (e: Error) => e instanceof OptionError && re.test(e.message), JSON.stringify(o));
  }
});

test('vaigai demo: both phases run over the user-space stack and every request is answered', () => {
  const r = spawnSync(process.execPath, [MAIN, 'demo', '--seconds', '0.5', '--connections', '8'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  const sums = [...r.stdout.matchAll(/requests +(\d+) sent, (\d+) answered .*?, (\d+) unanswered, (\d+) errors/g)];
  assert.equal(sums.length, 2, r.stdout);
  for (const m of sums) {
    assert.ok(Number(m[2]) > 0, r.stdout);
    assert.equal(m[1], m[2], 'every request sent was answered');
    assert.deepEqual([m[3], m[4]], ['0', '0']);
  }
  const conns = [...r.stdout.matchAll(/connections +(\d+) ok, (\d+) failed/g)].map((m) => [Number(m[1]), Number(m[2])]);
  assert.equal(conns.length, 2, r.stdout);
  assert.deepEqual(conns[0], [8, 0], 'keep-alive: the 8 connections carried every request');
  assert.ok(conns[1][0] >= Number(sums[1][2]) && conns[1][1] === 0, `a connection per request: ${r.stdout}`);
  assert.match(r.stdout, /us per request/);
});
