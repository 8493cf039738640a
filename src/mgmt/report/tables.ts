/**
 * The report's tables, as HTML: the thresholds with pass or fail, the
 * latency of each phase, the environment (the result's `meta`), the
 * counters and the profile. Every value from the result is escaped.
 */
import { fmtUs } from '../../engine/report.js';
import { fmtThresholdValue } from '../../run/threshold_text.js';
import { phaseOrder } from './charts.js';
import type { RunResult } from '../../run/result_schema.js';

export function esc(v: unknown): string {
  return String(v).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function table(head: string[], rows: string[][], cls = ''): string {
  const th = head.map((h) => `<th>${esc(h)}</th>`).join('');
  // Cells arrive escaped (or as markup of ours).
  const tr = rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('\n');
  return `<table${cls === '' ? '' : ` class="${cls}"`}><thead><tr>${th}</tr></thead><tbody>\n${tr}\n</tbody></table>`;
}

export function thresholdsTable(r: RunResult): string {
  const list = r.thresholds ?? [];
  if (list.length === 0) return '<p class="none">No thresholds were given for this run.</p>';
  const rows = list.map((t) => [
    `<span class="${t.ok ? 'pass' : 'fail'}">${t.ok ? 'pass' : 'FAIL'}</span>`,
    `<code>${esc(t.expr)}</code>`,
    esc(fmtThresholdValue(t.metric, t.value)),
    esc(`${t.op} ${fmtThresholdValue(t.metric, t.limit)}`),
  ]);
  return table(['', 'threshold', 'measured', 'limit'], rows, 'thresholds');
}

export function phasesTable(r: RunResult): string {
  const phases = r.phases;
  const names = phaseOrder(Object.keys(phases));
  if (names.length === 0) return '<p class="none">This result has no latency by phase.</p>';
  const rows = names.map((n) => {
    const p = phases[n];
    return [esc(n), esc(p.count), ...[p.min, p.mean, p.p50, p.p90, p.p99, p.p999, p.max].map((v) => esc(fmtUs(v))), esc(r.meta.clocks[n] ?? '')];
  });
  return table(['phase', 'count', 'min', 'mean', 'p50', 'p90', 'p99', 'p99.9', 'max', 'clock'], rows, 'num');
}

/** Each flow's requests and its phases' p50 and p99, when the run had more than one. */
export function flowsTable(r: RunResult): string {
  if (r.flows.length < 2) return '';
  const names = phaseOrder([...new Set(r.flows.flatMap((f) => Object.keys(f.phases)))]);
  const rows = r.flows.map((f) => [
    esc(f.name),
    ...['connects', 'requests', 'responses', 'failedRequests'].map((k) => esc(f.counters[k] ?? 0)),
    ...names.map((n) => (f.phases[n] === undefined ? '' : esc(`${fmtUs(f.phases[n].p50)} / ${fmtUs(f.phases[n].p99)}`))),
  ]);
  return `<h3>By flow</h3>\n${table(['flow', 'connections', 'requests', 'responses', 'failed', ...names.map((n) => `${n} p50 / p99`)], rows, 'num')}`;
}

export function environmentTable(r: RunResult): string {
  const m = r.meta;
  const rows: [string, string][] = [
    ['run length', `${r.seconds} s`],
    ['tool', `${m.tool} ${m.version}`],
    ['started', m.startedAt],
    ['ended', m.endedAt],
    ['command', m.argv.join(' ')],
    ['host', `${m.host.hostname}: ${m.host.cpus} CPUs, kernel ${m.host.kernel}, Node ${m.host.node}`],
  ];
  return table(['', ''], rows.map(([k, v]) => [esc(k), esc(v)]), 'kv');
}

/** Every number of the result's counters, nested keys joined with dots; zero counters left out. */
export function countersTable(r: RunResult): string {
  const rows: string[][] = [];
  const walk = (prefix: string, v: unknown): void => {
    if (typeof v === 'number') {
      if (v !== 0) rows.push([esc(prefix), esc(Number.isInteger(v) ? v : v.toFixed(3))]);
    } else if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      for (const [k, x] of Object.entries(v)) walk(prefix === '' ? k : `${prefix}.${k}`, x);
    }
  };
  walk('client', r.app);
  walk('tcp', r.tcp);
  walk('net', r.counters);
  for (const f of r.flows) walk(`flow ${f.name}`, f.counters);
  if (rows.length === 0) return '<p class="none">No counters.</p>';
  return table(['counter', 'value'], rows, 'kv num');
}

export function profileBlock(r: RunResult): string {
  if (r.profile === undefined) return '<p class="none">This run had no traffic profile (a server or listener run).</p>';
  return `<pre class="profile">${esc(JSON.stringify(r.profile, null, 2))}</pre>`;
}
