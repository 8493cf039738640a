/**
 * The `vaigai impair` command as users run it: bad specs refused before any
 * port opens, and a timed run between two veths that prints a live line, a
 * summary and the JSON report.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NetnsLab, netTestSkipReason } from '../helpers/netns.js';
import type { JsonReport } from '../../src/impair/report.js';

const MAIN = fileURLToPath(new URL('../../src/main.js', import.meta.url));

function impair(args: string[], netns?: string): { code: number | null; out: string; err: string } {
  const argv = [MAIN, 'impair', ...args];
  const r =
    netns === undefined
      ? spawnSync(process.execPath, argv, { encoding: 'utf8', timeout: 30_000 })
      : spawnSync('ip', ['netns', 'exec', netns, process.execPath, ...argv], { encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('cli: bad impairment specs are refused with a message naming the key', () => {
  const ports = ['--port', 'af_packet:iface=vgimp-none0', '--port', 'af_packet:iface=vgimp-none1'];
  for (const [args, key] of [
    [['--both', 'loss=150%'], 'loss'],
    [['--a-to-b', 'delay=-5ms'], 'delay'],
    [['--b-to-a', 'jitter=1ms,wobble=3'], 'wobble'],
  ] as const) {
    const r = impair([...ports, ...args]);
    assert.equal(r.code, 1, r.err);
    assert.match(r.err, new RegExp(`impairment '${key}'`), r.err);
    assert.doesNotMatch(r.err, /vgimp-none/, 'the spec is checked before any port opens');
  }
  const one = impair(['--port', 'af_packet:iface=x']);
  assert.equal(one.code, 1);
  assert.match(one.err, /exactly two --port/);
  const seed = impair([...ports, '--seed', '-3']);
  assert.match(seed.err, /--seed/);
});

test('cli: a timed run between two veths prints a live line, a summary and the JSON report', (t: TestContext) => {
  const reason = netTestSkipReason();
  if (reason !== null) return t.skip(reason);
  const lab = new NetnsLab('vgimc-');
  const dir = mkdtempSync(join(tmpdir(), 'vgimc-'));
  t.after(() => {
    lab.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });
  const ns = lab.addNs('m');
  lab.addVeth({ name: 'vgimc-a0', ns }, { name: 'vgimc-a1', ns });
  lab.addVeth({ name: 'vgimc-b0', ns }, { name: 'vgimc-b1', ns });
  const json = join(dir, 'r.json');
  const r = impair(
    ['--port', 'af_packet:iface=vgimc-a0', '--port', 'af_packet:iface=vgimc-b0', '--both', 'loss=1%', '--a-to-b', 'delay=5ms',
      '--seed', '42', '--duration', '1.5', '--json', json],
    ns,
  );
  if (/native addon|af_packet driver/.test(r.err)) return t.skip(`af_packet unavailable: ${r.err.trim()}`);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /vgimc-a0.*<->.*vgimc-b0, seed 42, 1\.5 s/);
  assert.match(r.out, /\n\s+1s\s+a>b .*pps .*\| b>a /, 'a live line after one second');
  assert.match(r.out, /a>b\s+loss=1%,delay=5ms\n\s+frames in \d+/);
  const rep = JSON.parse(readFileSync(json, 'utf8')) as JsonReport;
  assert.equal(rep.seed, 42);
  assert.equal(rep.aToB.spec, 'loss=1%,delay=5ms');
  assert.equal(rep.bToA.spec, 'loss=1%');
  assert.ok(rep.durationS >= 1.5 && rep.durationS < 3, `ran ${rep.durationS} s`);
  for (const k of ['offered', 'forwarded', 'dropLoss', 'dropLimit', 'dropNoBuf', 'dropTx', 'delayed', 'reordered', 'duplicated', 'corrupted', 'queueHigh'] as const) {
    assert.equal(typeof rep.aToB[k], 'number', k);
  }
});
