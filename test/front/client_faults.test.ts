/**
 * The `vaigai` client under faults, driven as a user would, against real
 * peers in namespaces this file creates (prefix vgflt-, 198.18.52.0/22): a
 * server answering garbage, a silent server, a server killed mid-run, the
 * veth removed mid-run, and a TLS certificate that does not verify. Each run
 * must account for every connection and request (attempted = ok + failed +
 * cancelled, sent = answered + failed + in flight), count each failure once
 * under one reason, and exit 3 (0 within --allow-errors).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TLS_ENGINES } from '../../src/tls/engine.js';
import { loadNativeTls } from '../../src/tls/native_engine.js';
import { FrontLab, MAIN, Proc, frontSkipReason } from './lab.js';

const PEER_IP = '198.18.52.1';
const GEN_IP = '198.18.52.10';

interface ClientJson {
  seconds: number;
  connections: { attempted: number; ok: number; failed: number; cancelled: number };
  requests: number;
  responses: number;
  failedRequests: number;
  inFlight: number;
  accounted: boolean;
  failures: Record<string, { count: number; lastMessage: string }>;
  tls?: { failures: number; lastError: string };
}

/** The client's JSON, with both identities and the one-reason-per-failure rule checked. */
function accounted(json: string, out: string): ClientJson {
  const app = (JSON.parse(readFileSync(json, 'utf8')) as { app: ClientJson }).app;
  const c = app.connections;
  assert.equal(c.attempted, c.ok + c.failed + c.cancelled, `attempted = ok + failed + cancelled: ${out}`);
  assert.equal(app.requests, app.responses + app.failedRequests + app.inFlight, `sent = answered + failed + in flight: ${out}`);
  const byReason = Object.values(app.failures).reduce((n, f) => n + f.count, 0);
  assert.equal(byReason, c.failed + app.failedRequests, `each failure under one reason: ${out}`);
  assert.equal(app.accounted, true, out);
  return app;
}

/** A kernel server (Node's net) on PEER_IP:port: `mode` garbage answers non-HTTP bytes, silent never answers, http answers 200. */
function kernelServer(port: number, mode: 'garbage' | 'silent' | 'http'): string {
  return `
const net = require('net');
const reply = ${JSON.stringify(mode)} === 'http' ? 'HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\n\\r\\nok' : 'GARBAGE\\r\\n\\r\\n';
net.createServer((s) => {
  s.on('error', () => {});
  if (${JSON.stringify(mode)} !== 'silent') s.on('data', (d) => { for (let i = d.indexOf('\\r\\n\\r\\n'); i >= 0; i = d.indexOf('\\r\\n\\r\\n', i + 4)) s.write(reply); });
}).listen(${port}, '${PEER_IP}', () => console.log('listening'));
`;
}

/** A kernel TLS server on PEER_IP:port that answers each request with bytes that are not TLS, under its records. */
function rawAfterHandshake(port: number, cert: string, key: string): string {
  return `
const net = require('net'), tls = require('tls'), fs = require('fs');
const ctx = tls.createSecureContext({ cert: fs.readFileSync(${JSON.stringify(cert)}), key: fs.readFileSync(${JSON.stringify(key)}) });
net.createServer((raw) => {
  raw.on('error', () => {});
  const s = new tls.TLSSocket(raw, { isServer: true, secureContext: ctx });
  s.on('error', () => {});
  s.on('data', () => raw.write('GARBAGE, NOT A TLS RECORD\\r\\n'));
}).listen(${port}, '${PEER_IP}', () => console.log('listening'));
`;
}

test('vaigai client under faults: every connection and request accounted for, exit 3', { timeout: 300_000 }, async (t) => {
  const skip = await frontSkipReason(['ethtool', 'openssl']);
  if (skip !== null) return t.skip(skip);
  const f = new FrontLab('vgflt-');
  t.after(() => f.cleanup());
  const { gen, peer, genIf } = f.pair(PEER_IP);
  const base = ['--port', `af_packet:iface=${genIf}`, '--src-ip', GEN_IP];
  const serve = async (port: number, mode: 'garbage' | 'silent' | 'http'): Promise<Proc> => {
    const p = new Proc(f.lab.spawn(peer, process.execPath, ['-e', kernelServer(port, mode)]));
    await p.waitFor(/listening/, 10_000);
    return p;
  };
  await serve(8081, 'garbage');
  await serve(8082, 'silent');
  // SYNs to port 8093 vanish (a firewall that drops): the connect bound is what ends those attempts.
  f.lab.run(peer, 'nft', ['-f', '-'], 'table inet vgflt {\n chain in {\n  type filter hook input priority 0;\n  tcp dport 8093 drop\n }\n}\n');

  for (const workers of [[], ['--workers', '2']]) {
    await t.test(`a server answering garbage${workers.length > 0 ? ' (--workers 2)' : ''}: each request failed once, under httpParse`, async () => {
      const json = join(f.dir, `garbage${workers.length}.json`);
      const r = await f.vaigai(gen, [...base, ...workers, '--client', `http://${PEER_IP}:8081/`, '--requests', '200', '--connections', '4', '--json', json], 60_000);
      assert.equal(r.code, 3, r.out);
      const app = accounted(json, r.out);
      assert.deepEqual([app.requests, app.responses, app.failedRequests, app.inFlight], [200, 0, 200, 0], r.out);
      assert.deepEqual(Object.keys(app.failures), ['httpParse'], r.out);
      assert.match(app.failures.httpParse.lastMessage, /^HTTP parse error: /, r.out);
      assert.match(r.out, /^ {2}failures {5}httpParse 200: HTTP parse error: /m, 'the summary names the reason, its count and its last message');
      assert.match(r.out.trimEnd().split('\n').at(-1) ?? '', /^vaigai: the run completed with failures: 200 requests failed \(httpParse 200\)/, 'the reason is printed last');
    });
  }

  await t.test('a silent server: --requests 1 fails with response timeout within its bound, exit 3', async () => {
    const json = join(f.dir, 'silent.json');
    const r = await f.vaigai(gen, [...base, '--client', `http://${PEER_IP}:8082/`, '--response-timeout', '1', '--json', json], 30_000);
    assert.equal(r.code, 3, r.out);
    const app = accounted(json, r.out);
    assert.deepEqual([app.requests, app.responses, app.failedRequests, app.connections.ok], [1, 0, 1, 1], r.out);
    assert.deepEqual(Object.keys(app.failures), ['responseTimeout'], r.out);
    assert.match(app.failures.responseTimeout.lastMessage, /^response timeout \(198\.18\.52\.1:8082\): nothing received for 1 s$/, r.out);
  });

  // Each case: the arguments, the one reason expected, and what its last message says.
  const oneReason: [string, string[], string, RegExp][] = [
    ['a closed port', ['--client', `http://${PEER_IP}:9/`, '--connections', '3'], 'refused', /^connection refused \(RST to SYN\) \(198\.18\.52\.1:9\)$/],
    ['no ARP answer (the next hop fails before the first SYN)', ['--client', 'http://198.18.52.99/'], 'unreachable', /^host unreachable/],
    ['SYNs dropped, --connect-timeout 1', ['--client', `http://${PEER_IP}:8093/`, '--connect-timeout', '1'], 'connectTimeout', /not open within 1 s$/],
    ['a silent server over https, --tls-timeout 1', ['--client', `https://${PEER_IP}:8082/`, '--insecure', '--tls-timeout', '1'], 'tlsTimeout', /^handshake timed out after 1000 ms$/],
  ];
  for (const [what, args, reason, message] of oneReason) {
    await t.test(`${what}: one failed connection per slot, under ${reason}, exit 3`, async () => {
      const json = join(f.dir, `${reason}.json`);
      const r = await f.vaigai(gen, [...base, ...args, '--json', json], 30_000);
      assert.equal(r.code, 3, r.out);
      const app = accounted(json, r.out);
      assert.deepEqual(Object.keys(app.failures), [reason], r.out);
      assert.equal(app.failures[reason].count, app.connections.failed, r.out);
      assert.deepEqual([app.connections.ok, app.requests], [0, 0], r.out);
      assert.match(app.failures[reason].lastMessage, message, r.out);
      if (reason === 'tlsTimeout') assert.equal(app.tls?.failures, 1, 'tls.failures agrees');
    });
  }

  await t.test('SIGTERM with requests awaiting a silent server: they stay in flight, not failed, exit 0', async () => {
    const json = join(f.dir, 'sigterm.json');
    const v = new Proc(f.lab.spawn(gen, process.execPath, [MAIN, ...base, '--client', `http://${PEER_IP}:8082/`, '--connections', '4', '--duration', '60', '--json', json]));
    await v.waitFor(/^\[ {3}1s\] conn 4 .* req 4 /m, 20_000);
    const code = await v.stop();
    assert.equal(code, 0, v.out);
    const app = accounted(json, v.out);
    assert.deepEqual([app.requests, app.responses, app.failedRequests, app.inFlight, app.connections.failed], [4, 0, 0, 4, 0], v.out);
    assert.deepEqual(app.failures, {}, v.out);
  });

  await t.test('TLS verify failure (openssl s_server, self-signed, no --insecure): counted under tlsVerify, tls.failures agrees; --allow-errors 1 exits 0', async () => {
    const pki = f.cert('vaigai.test');
    const srv = new Proc(f.lab.spawn(peer, 'openssl', ['s_server', '-accept', `${PEER_IP}:8443`, '-cert', pki.cert, '-key', pki.key, '-www', '-quiet']));
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(srv.child.exitCode, null, srv.out);
    const engines = TLS_ENGINES.filter((e) => e === 'node' || loadNativeTls() !== null);
    const cases = [
      ...engines.map((e) => [['--tls-engine', e], 3] as const),
      [['--allow-errors', '1'], 0] as const,
      [['--allow-errors', '0.5'], 3] as const,
    ];
    for (const [extra, code] of cases) {
      const json = join(f.dir, `verify-${extra.join('')}.json`);
      const r = await f.vaigai(gen, [...base, '--client', `https://${PEER_IP}:8443/`, '--sni', 'vaigai.test', ...extra, '--json', json], 30_000);
      assert.equal(r.code, code, r.out);
      const app = accounted(json, r.out);
      assert.deepEqual([app.connections.attempted, app.connections.failed, app.requests], [1, 1, 0], r.out);
      assert.deepEqual(Object.keys(app.failures), ['tlsVerify'], r.out);
      assert.equal(app.tls?.failures, 1, 'tls.failures agrees');
      assert.match(app.failures.tlsVerify.lastMessage, /self.signed|SELF_SIGNED/i, r.out);
      if (code === 0) assert.match(r.out.trimEnd().split('\n').at(-1) ?? '', /within --allow-errors 1$/, r.out);
    }
  });

  await t.test('non-TLS bytes after the handshake, with --insecure: tlsError with the error itself, not an ignored verify result', async () => {
    const pki = f.cert('vaigai.test');
    const srv = new Proc(f.lab.spawn(peer, process.execPath, ['-e', rawAfterHandshake(8444, pki.cert, pki.key)]));
    await srv.waitFor(/listening/, 10_000);
    for (const engine of TLS_ENGINES.filter((e) => e === 'node' || loadNativeTls() !== null)) {
      const json = join(f.dir, `raw-${engine}.json`);
      const r = await f.vaigai(gen, [...base, '--client', `https://${PEER_IP}:8444/`, '--insecure', '--tls-engine', engine, '--json', json], 30_000);
      assert.equal(r.code, 3, r.out);
      const app = accounted(json, r.out);
      assert.deepEqual([app.connections.ok, app.requests, app.failedRequests], [1, 1, 1], r.out);
      assert.deepEqual(Object.keys(app.failures), ['tlsError'], r.out);
      assert.equal(app.tls?.failures, 0, 'the handshake had completed: no handshake failure');
      assert.doesNotMatch(app.failures.tlsError.lastMessage, /verify/i, `${engine}: ${r.out}`);
    }
  });

  await t.test('the server killed mid-run: the load goes on to its bound, failed connections retried at a bounded rate, exit 3', async () => {
    const srv = await serve(8083, 'http');
    const json = join(f.dir, 'killed.json');
    const v = new Proc(f.lab.spawn(gen, process.execPath, [
      MAIN, ...base, '--client', `http://${PEER_IP}:8083/`, '--duration', '4', '--connections', '4', '--json', json,
    ]));
    await v.waitFor(/^\[ {3}1s\] conn 4 .* resp [1-9]/m, 20_000);
    process.kill(srv.child.pid as number, 'SIGKILL');
    const code = await new Promise<number>((resolve) => v.child.once('exit', (c) => resolve(c ?? -1)));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(code, 3, v.out);
    const app = accounted(json, v.out);
    assert.ok(app.responses > 0, v.out);
    assert.ok(app.seconds >= 4, `the load ran to its bound: ${v.out}`);
    assert.ok((app.failures.refused?.count ?? 0) > 0, `connections to the dead server refused: ${v.out}`);
    // Replacements at the retry rate (--connections per second) for the rest of the bound, not a SYN storm.
    assert.ok(app.connections.attempted > 4 && app.connections.attempted <= 4 + 4 * 5, `attempted ${app.connections.attempted}: ${v.out}`);
  });

  await t.test('the veth removed mid-run: what was in flight fails by its deadlines, nothing is lost, exit 3', async () => {
    await serve(8084, 'http');
    const json = join(f.dir, 'veth.json');
    const v = new Proc(f.lab.spawn(gen, process.execPath, [
      MAIN, ...base, '--client', `http://${PEER_IP}:8084/`, '--duration', '4', '--connections', '4', '--response-timeout', '1', '--connect-timeout', '1',
      '--json', json,
    ]));
    await v.waitFor(/^\[ {3}1s\] conn 4 .* resp [1-9]/m, 20_000);
    f.lab.run(gen, 'ip', ['link', 'del', genIf]);
    const code = await new Promise<number>((resolve) => v.child.once('exit', (c) => resolve(c ?? -1)));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(code, 3, v.out);
    const app = accounted(json, v.out);
    assert.ok(app.responses > 0, v.out);
    assert.ok(app.failedRequests + app.connections.failed > 0, v.out);
  });
});
