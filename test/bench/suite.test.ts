/**
 * Smoke test of `npm run bench` (bench/suite.ts): its quick mode runs every
 * row for a couple of seconds, and every row must come out with a figure for
 * every client. No rate is asserted: figures are for the table, not a test.
 * Skips when a peer tool, root or a port driver is missing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { frontSkipReason } from '../front/lab.js';
import { autocannonPath } from '../../bench/suite/tools.js';
import type { HoldRow, Row } from '../../bench/suite/table.js';

const SUITE = fileURLToPath(new URL('../../bench/suite.js', import.meta.url));

async function skipReason(): Promise<string | null> {
  const r = await frontSkipReason(['nginx', 'wrk', 'h2load', 'ab', 'openssl', 'ethtool', 'curl', 'taskset']);
  if (r !== null) return r;
  if (autocannonPath() === null) return 'autocannon is not installed (a devDependency: npm install)';
  const native = await import('../../src/port/native.js');
  if (!native.nativeDrivers().includes('af_xdp')) return 'af_xdp driver unavailable (stage 5)';
  return null;
}

test('npm run bench -- --quick: every row has a figure', { timeout: 240_000 }, async (t) => {
  const reason = await skipReason();
  if (reason !== null) return t.skip(reason);
  const dir = mkdtempSync(join(tmpdir(), 'vgbn-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const json = join(dir, 'suite.json');
  const r = spawnSync(process.execPath, [SUITE, '--quick', '--json', json], { encoding: 'utf8', timeout: 230_000 });
  assert.equal(r.status, 0, `suite failed: ${r.stderr}\n${r.stdout}`);
  const out = JSON.parse(readFileSync(json, 'utf8')) as { rows: Row[]; hold: HoldRow[] };
  assert.deepEqual([...new Set(out.rows.map((x) => x.stage))], [1, 2, 3, 5, 6]);
  for (const row of out.rows) {
    for (const c of row.cells) {
      const s = c.samples[0];
      assert.ok(s !== undefined && s.rate > 0 && Number.isFinite(s.cpuUs), `stage ${row.stage} ${row.load}, ${c.client}: no figure (${c.missing ?? c.errors.join('; ')}${JSON.stringify(c.samples)})`);
    }
  }
  assert.equal(out.hold.length, 2);
  for (const h of out.hold) assert.ok(h.samples.length === 1 && h.samples[0].setupS > 0, `stage 4 → ${h.server}: no figure (${h.errors.join('; ')})`);
});
