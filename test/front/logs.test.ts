/**
 * The structured logs (pino), from the `vaigai` command on the ring port (no
 * namespace, no root): JSON records with level and msg on stderr, never on
 * stdout, for a run's start and stop and for an error with its code (printed
 * before the `vaigai:` line that ends the output); --log-level and
 * VAIGAI_LOG_LEVEL filter them, a bad level is refused; --log-file takes them
 * off stderr; at debug a console's commands and the session lines are logged.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAIN } from './lab.js';

interface LogRecord {
  level: string;
  msg: string;
  time: string;
  event?: string;
  code?: string;
  exitCode?: number;
  reason?: string;
}

const RUN = ['--port', 'ring', '--src-ip', '198.18.142.1'];

function vaigai(args: string[], env: NodeJS.ProcessEnv = {}, input?: string): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, ...env }, ...(input !== undefined ? { input } : {}) });
}

/** The JSON records among `text`'s lines (the others are not records). */
function records(text: string): LogRecord[] {
  return text.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as LogRecord);
}

test('structured logs: JSON on stderr, levels, errors with their code, a log file', { timeout: 120_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vgcn-logs-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));

  await t.test('a run logs its start and stop as JSON on stderr; stdout has only its own lines', () => {
    const r = vaigai([...RUN, '--duration', '1']);
    assert.equal(r.status, 0, r.stderr);
    const recs = records(r.stderr);
    for (const x of recs) assert.ok(typeof x.level === 'string' && typeof x.msg === 'string' && !Number.isNaN(Date.parse(x.time)), JSON.stringify(x));
    const start = recs.find((x) => x.event === 'start');
    const stop = recs.find((x) => x.event === 'stop');
    assert.deepEqual([start?.level, start?.msg], ['info', 'run started']);
    assert.deepEqual([stop?.level, stop?.msg, stop?.reason], ['info', 'run stopped', 'duration']);
    assert.deepEqual(records(r.stdout), [], 'no record on stdout');
    assert.match(r.stdout, /^summary: /m);
  });

  await t.test('--log-level warn and VAIGAI_LOG_LEVEL=error leave the info records out', () => {
    for (const [args, env] of [[['--log-level', 'warn'], {}], [[], { VAIGAI_LOG_LEVEL: 'error' }]] as const) {
      const r = vaigai([...RUN, '--duration', '1', ...args], env);
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(records(r.stderr), []);
    }
  });

  await t.test('an error: a record with its code and exit code, then the vaigai: line last; exit 1', () => {
    const r = vaigai(['--port', 'bogus', '--src-ip', '198.18.142.1']);
    assert.equal(r.status, 1);
    const err = records(r.stderr).find((x) => x.level === 'error');
    assert.deepEqual([err?.event, err?.code, err?.exitCode], ['error', 'VG_ERR_INVALID_OPTION', 1]);
    assert.match(r.stderr.trimEnd().split('\n').at(-1) ?? '', /^vaigai: --port: unknown port driver 'bogus'/);
    // At fatal, errors are left out too.
    assert.deepEqual(records(vaigai(['--port', 'bogus', '--src-ip', '198.18.142.1', '--log-level', 'fatal']).stderr), []);
  });

  await t.test('a level that is not one is refused', () => {
    const r = vaigai([...RUN, '--log-level', 'chatty']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /--log-level <level>' argument 'chatty' is invalid. Allowed choices are fatal, error, warn, info, debug, trace, silent/);
  });

  await t.test('--log-file: the records go to the file, none to stderr', () => {
    const file = join(dir, 'vaigai.log');
    const r = vaigai([...RUN, '--duration', '1', '--log-file', file]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(records(r.stderr), []);
    assert.deepEqual(records(readFileSync(file, 'utf8')).map((x) => x.event).filter((e) => e === 'start' || e === 'stop'), ['start', 'stop']);
  });

  await t.test('at debug, a console logs its commands and the session lines', () => {
    const r = vaigai([...RUN, '--interactive', '--no-history', '--socket', join(dir, 'c.sock'), '--log-level', 'debug'], {}, 'status\n');
    assert.equal(r.status, 0, r.stderr);
    const recs = records(r.stderr);
    assert.ok(recs.some((x) => x.level === 'debug' && x.event === 'command' && x.msg === 'status'), r.stderr);
    assert.ok(recs.some((x) => x.level === 'debug' && x.event === 'session' && /^vaigai: ring /.test(x.msg)), r.stderr);
    // stdout is the console's: the status answer alone.
    assert.equal(JSON.parse(r.stdout).state, 'idle');
  });
});
