/**
 * The run's output options: `--out FORMAT=FILE` and `--hdr-log FILE` parsed
 * into the plan, refused with a coded error naming the option (a bad format,
 * --hdr-log without a client load), and a path that cannot be written refused
 * by the command before any traffic (exit 1), leaving no file behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseRunOptions, type RawRunOptions } from '../../src/mgmt/cli/stack_config.js';
import { InvalidOptionError } from '../../src/common/errors.js';
import { MAIN } from './lab.js';

const base: RawRunOptions = { port: 'ring', srcIp: ['198.18.101.10'] };
const client: RawRunOptions = { ...base, client: 'http://198.18.101.1/' };

test('--out and --hdr-log in the plan, and their coded errors', () => {
  const p = parseRunOptions({ ...client, out: 'ndjson=/tmp/a=b.ndjson', hdrLog: '/tmp/x.hlog' });
  assert.deepEqual([p.ndjsonPath, p.hdrLogPath], ['/tmp/a=b.ndjson', '/tmp/x.hlog']);
  const none = parseRunOptions(client);
  assert.deepEqual([none.ndjsonPath, none.hdrLogPath], [null, null]);
  // A server streams its events too.
  assert.equal(parseRunOptions({ ...base, server: true, out: 'ndjson=s.ndjson' }).ndjsonPath, 's.ndjson');
  const refused = (o: RawRunOptions, option: string): void => {
    assert.throws(() => parseRunOptions(o), (e: unknown) => e instanceof InvalidOptionError && e.code === 'VG_ERR_INVALID_OPTION' && e.exitCode === 1 && e.option === option);
  };
  refused({ ...client, out: 'csv=x.csv' }, '--out');
  refused({ ...client, out: 'x.ndjson' }, '--out');
  refused({ ...client, out: 'ndjson=' }, '--out');
  refused({ ...base, server: true, hdrLog: 'x.hlog' }, '--hdr-log');
});

test('the command refuses an output file it cannot write before any traffic, naming the option', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vgms-opts-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const missing = join(dir, 'no', 'such');
  for (const [args, option] of [
    [['--out', `ndjson=${missing}/e.ndjson`], '--out'],
    [['--hdr-log', `${missing}/h.hlog`], '--hdr-log'],
    [['--hdr-log', dir], '--hdr-log'],
  ] as const) {
    const r = spawnSync(process.execPath, [MAIN, '--port', 'null', '--src-ip', '198.18.101.10', '--client', 'http://198.18.101.1/', '--duration', '0.2', ...args], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`^vaigai: ${option}: cannot write`, 'm'), r.stderr);
    assert.doesNotMatch(r.stdout, /^vaigai: null/m, 'refused before the port opened');
  }
  // The check leaves nothing behind: a file that was not there is not created.
  const ok = join(dir, 'fresh.ndjson');
  const r = spawnSync(process.execPath, [MAIN, '--port', 'null', '--src-ip', '198.18.101.10', '--client', 'http://198.18.101.1/', '--duration', '0.2', '--out', `ndjson=${ok}`, '--hdr-log', join(missing, 'h')], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.equal(r.status, 1, r.stderr);
  assert.equal(existsSync(ok), false, 'the --out file checked before --hdr-log failed is not left behind');
});
