/**
 * The Grafana dashboard (examples/grafana/): every panel's query parses as
 * PromQL (promtool checks them as recording rules, Grafana's variables given
 * values), on the dashboard's Prometheus data source input, with unique panel
 * ids that do not overlap on the grid. That its metrics exist is checked
 * against a real /metrics in test/front/console_pipe.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const DASHBOARD = fileURLToPath(new URL('../../../examples/grafana/vaigai-dashboard.json', import.meta.url));

interface Panel {
  id: number;
  title: string;
  datasource: { uid: string };
  gridPos: { x: number; y: number; w: number; h: number };
  targets: { expr: string; refId: string }[];
}

test('the Grafana dashboard: PromQL that promtool parses, panels on the grid', (t) => {
  const d = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: Panel[]; __inputs: { name: string }[]; templating: { list: { name: string }[] } };
  assert.deepEqual(d.__inputs.map((i) => i.name), ['DS_PROMETHEUS']);
  assert.deepEqual(d.templating.list.map((v) => v.name), ['instance', 'worker']);
  assert.equal(new Set(d.panels.map((p) => p.id)).size, d.panels.length);
  const cells = new Set<string>();
  for (const p of d.panels) {
    assert.equal(p.datasource.uid, '${DS_PROMETHEUS}', p.title);
    assert.ok(p.targets.length > 0, p.title);
    assert.ok(p.gridPos.x + p.gridPos.w <= 24, `${p.title} fits the 24 columns`);
    for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++) {
      for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
        assert.ok(!cells.has(`${x},${y}`), `${p.title} overlaps another panel at ${x},${y}`);
        cells.add(`${x},${y}`);
      }
    }
  }
  if (spawnSync('sh', ['-c', 'command -v promtool'], { stdio: 'ignore' }).status !== 0) return t.skip('promtool is not installed (Debian prometheus)');
  const dir = mkdtempSync(join(tmpdir(), 'vgcn-grafana-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const exprs = d.panels.flatMap((p) => p.targets.map((x) => x.expr.replaceAll('$__rate_interval', '1m').replaceAll('$instance', '.*').replaceAll('$worker', '.*')));
  const rules = `groups:\n  - name: dashboard\n    rules:\n${exprs.map((e, i) => `      - record: vaigai:dashboard_${i}\n        expr: ${JSON.stringify(e)}\n`).join('')}`;
  const file = join(dir, 'rules.yml');
  writeFileSync(file, rules);
  const r = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8' });
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  assert.match(r.stdout, new RegExp(`SUCCESS: ${exprs.length} rules found`));
});
