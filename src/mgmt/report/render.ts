/**
 * The HTML report of a run: one self-contained page (uPlot and its styles
 * inlined from the installed package, the data embedded as JSON), viewable
 * with no network. `--report FILE` writes it at the end of a run, `vaigai
 * report` from a saved --json result.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chartsOf, type Chart } from './charts.js';
import { PAGE_SCRIPT } from './page_script.js';
import type { RunResult } from '../../run/result_schema.js';
import { countersTable, environmentTable, esc, flowsTable, phasesTable, profileBlock, thresholdsTable } from './tables.js';

const require = createRequire(import.meta.url);

/** uPlot's script and styles, read from the package at render time. */
function uplotAssets(): { js: string; css: string } {
  const js = readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8');
  const css = readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8');
  // Inlined into <script>: a closing tag inside would end it early.
  if (/<\/script/i.test(js)) throw new Error('uPlot script holds </script>: cannot inline it');
  return { js, css };
}

const STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 1280px; padding: 16px 24px; color: #222; }
h1 { font-size: 22px; margin: 0 0 4px; } h3 { font-size: 15px; } h2 { font-size: 17px; border-bottom: 1px solid #ddd; padding-bottom: 4px; margin-top: 28px; }
.sub { color: #555; margin: 0; }
.verdict { font-weight: 600; margin: 8px 0 0; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(560px, 1fr)); gap: 12px; }
table { border-collapse: collapse; margin: 6px 0; } th, td { padding: 3px 10px; border-bottom: 1px solid #eee; text-align: left; }
table.num td + td { text-align: right; font-variant-numeric: tabular-nums; }
.pass { color: #157f1f; font-weight: 700; } .fail { color: #b00020; font-weight: 700; }
.none { color: #777; font-style: italic; }
pre.profile { background: #f6f6f6; padding: 10px; overflow: auto; max-height: 420px; }
`;

function chartDivs(charts: Chart[]): string {
  return charts.map((c) => `<div class="chart" id="chart-${esc(c.id)}"></div>`).join('\n');
}

function verdict(r: RunResult): string {
  const list = r.thresholds ?? [];
  if (list.length === 0) return '';
  const failed = list.filter((t) => !t.ok).length;
  return `<p class="verdict ${failed > 0 ? 'fail' : 'pass'}">thresholds: ${list.length - failed} passed, ${failed} failed</p>`;
}

/** The page for result `r` (a parsed --json result). */
export function renderReport(r: RunResult): string {
  const { js, css } = uplotAssets();
  const charts = chartsOf(r);
  const overTime = charts.filter((c) => c.x === 'time');
  const dist = charts.filter((c) => c.x === 'percentile');
  const started = `, started ${r.meta.startedAt} on ${r.meta.host.hostname}`;
  // Embedded as JSON in a script element: `<` escaped so that no text inside can close it.
  const data = JSON.stringify({ charts }).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>vaigAI run report</title>
<style>${css}</style>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>vaigAI run report</h1>
<p class="sub">${esc(`a run of ${r.seconds} s${started}`)}</p>
${verdict(r)}
</header>
<section><h2>Thresholds</h2>
${thresholdsTable(r)}
</section>
<section><h2>Over time</h2>
${overTime.length > 0 ? `<div class="charts">\n${chartDivs(overTime)}\n</div>` : '<p class="none">This result has no per-second series.</p>'}
</section>
<section><h2>Latency by phase</h2>
${phasesTable(r)}
${chartDivs(dist)}
${flowsTable(r)}
</section>
<section><h2>Environment</h2>
${environmentTable(r)}
</section>
<section><h2>Counters</h2>
${countersTable(r)}
</section>
<section><h2>Profile</h2>
${profileBlock(r)}
</section>
<script>${js}</script>
<script type="application/json" id="report-data">${data}</script>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;
}
