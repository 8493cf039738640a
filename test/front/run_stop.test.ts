/**
 * How a `vaigai` run ends, driven as a user would against nginx in namespaces
 * this file creates (prefix vgstp-, 198.18.56.0/24): SIGINT stops new
 * arrivals, lets open requests drain, closes every connection, and the
 * server's namespace is left with no connection from the generator, on one
 * worker and on two; a second SIGINT aborts at once; the default run and
 * `--workers 1` write the same JSON; --help and --version.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { exited } from '../helpers/netns.js';
import { FrontLab, MAIN, Proc, frontSkipReason } from './lab.js';

const NGINX_IP = '198.18.56.1';
const GEN_IP = '198.18.56.10';
const SILENT_IP = '198.18.56.2';

/**
 * The TCP entries in `ns` whose peer is the generator, as `ss` prints them
 * (state and ports). TIME-WAIT is left out by `ss` itself: a connection-per-
 * request run leaves tens of thousands of them.
 */
function generatorSockets(f: FrontLab, ns: string): string[] {
  return f.lab
    .run(ns, 'ss', ['-Htan', 'exclude', 'time-wait'])
    .split('\n')
    .filter((l) => l.includes(GEN_IP));
}

/**
 * Every key path of a JSON value, sorted; an array's elements as one `[]`
 * (the union of theirs): runs differ in how many seconds their series holds
 * and how many words their command line has, not in the shape of either.
 */
function keyPaths(v: unknown, at = ''): string[] {
  if (v === null || typeof v !== 'object') return [at];
  if (Array.isArray(v)) return [...new Set(v.flatMap((x) => keyPaths(x, `${at}/[]`)))].sort();
  return Object.entries(v as Record<string, unknown>)
    .flatMap(([k, x]) => keyPaths(x, `${at}/${k}`))
    .sort();
}

test('vaigai stops cleanly: SIGINT drains and closes every connection; a second SIGINT aborts', { timeout: 240_000 }, async (t) => {
  const skip = await frontSkipReason(['nginx', 'ss', 'ethtool', 'python3']);
  if (skip !== null) return t.skip(skip);
  const f = new FrontLab('vgstp-');
  t.after(() => f.cleanup());
  const { gen, peer, genIf } = f.pair(NGINX_IP);
  f.lab.run(peer, 'ip', ['addr', 'add', `${SILENT_IP}/24`, 'dev', `${f.lab.prefix}p0`]);
  f.randomFile('small.bin', 1000);
  await f.nginx(peer, NGINX_IP, null);
  const base = ['--port', `af_packet:iface=${genIf}`, '--src-ip', GEN_IP];

  for (const workers of ['1', '2']) {
    for (const mode of ['--keepalive', '--conn-per-request']) {
      await t.test(`SIGINT with --workers ${workers} ${mode}: exit 0, nginx holds no connection from the generator`, async (st) => {
        const json = join(f.dir, `stop-${workers}${mode}.json`);
        const v = await f.startVaigai(gen, [...base, '--workers', workers, '--client', `http://${NGINX_IP}:8080/small.bin`, mode,
          '--connections', '32', '--duration', '60', '--json', json]);
        // A failed check must not leave this run loading the next subtest.
        st.after(() => v.stop());
        await v.waitFor(/^\[\s+1s\] conn \d+/m, 20_000);
        assert.ok(generatorSockets(f, peer).length > 0, 'the load had connections open');
        v.child.kill('SIGINT');
        const code = await exited(v.child, 20_000, 'vaigai after SIGINT');
        assert.equal(code, 0, v.out);
        assert.deepEqual(generatorSockets(f, peer), [], `nginx still holds connections from the generator:\n${v.out}`);
        const app = (JSON.parse(readFileSync(json, 'utf8')) as { app: { requests: number; responses: number; failedRequests: number; inFlight: number } }).app;
        assert.ok(app.responses > 0, v.out);
        // Every request sent before the stop was answered within the drain: none lost, none failed, none left in flight.
        assert.deepEqual([app.requests, app.failedRequests, app.inFlight], [app.responses, 0, 0], v.out);
      });
    }
  }

  await t.test('a second SIGINT ends a run that is draining, at once', async (st) => {
    // A kernel listener that accepts and never answers: the request stays open through the drain.
    const silent = new Proc(f.lab.spawn(peer, 'python3', ['-c',
      `import socket,time\ns=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);s.bind(('${SILENT_IP}',9090));s.listen(64)\nprint('listening',flush=True)\nc=[]\nwhile True: c.append(s.accept())`]));
    await silent.waitFor(/listening/, 10_000);
    const v = await f.startVaigai(gen, [...base, '--client', `http://${SILENT_IP}:9090/`, '--connections', '4', '--duration', '60', '--drain', '120']);
    st.after(() => Promise.all([v.stop(), silent.stop()]));
    await v.waitFor(/^\[\s+1s\] conn 4 /m, 20_000);
    v.child.kill('SIGINT');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(v.child.exitCode, null, 'the first SIGINT drains (up to --drain 120)');
    v.child.kill('SIGINT');
    await exited(v.child, 10_000, 'vaigai after a second SIGINT');
    assert.deepEqual(generatorSockets(f, peer).filter((l) => /^ESTAB|^SYN-RECV/.test(l.trim())), [], v.out);
  });

  await t.test('the default run and --workers 1 write the same JSON keys', async () => {
    const paths: string[][] = [];
    for (const extra of [[], ['--workers', '1']]) {
      const json = join(f.dir, `keys${extra.length}.json`);
      const r = await f.vaigai(gen, [...base, ...extra, '--client', `http://${NGINX_IP}:8080/small.bin`, '--requests', '20', '--json', json], 60_000);
      assert.equal(r.code, 0, r.out);
      paths.push(keyPaths(JSON.parse(readFileSync(json, 'utf8'))));
    }
    assert.ok(paths[0].length > 100, `a full report: ${paths[0].length} keys`);
    assert.deepEqual(paths[0], paths[1]);
  });
});

test('vaigai --help lists the run options and the drivers; --version prints the version', () => {
  const help = spawnSync(process.execPath, [MAIN, '--help'], { encoding: 'utf8' });
  assert.equal(help.status, 0, help.stderr);
  for (const o of ['--port <spec>', '--src-ip <range>', '--client <url>', '--server', '--workers <n>', '--drain <seconds>', '--json <file>']) {
    assert.ok(help.stdout.includes(o), `--help shows ${o}`);
  }
  for (const d of ['af_packet', 'af_xdp', 'tap', 'dpdk', 'ring', 'null']) assert.match(help.stdout, new RegExp(`^  ${d} +`, 'm'));
  assert.match(help.stdout, /^Exit codes: 0 success, 1 bad usage/m);
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  const v = spawnSync(process.execPath, [MAIN, '--version'], { encoding: 'utf8' });
  assert.equal(v.status, 0);
  assert.equal(v.stdout.trim(), pkg.version);
});
