/**
 * What a load run prints: a live line per interval, a summary at the end, and
 * the same summary as JSON. Rates are over the interval or the whole run;
 * latency is the response time per request (first byte of the request written
 * to the last byte of the answer parsed), in µs.
 */
import type { Histogram } from '../telemetry/histogram.js';
import type { LoadSnapshot } from './load.js';

const PERCENTILES = [50, 90, 99, 99.9] as const;

export function fmtUs(us: number): string {
  if (us < 1000) return `${us.toFixed(0)}us`;
  if (us < 1e6) return `${(us / 1000).toFixed(us < 1e4 ? 2 : 1)}ms`;
  return `${(us / 1e6).toFixed(2)}s`;
}

export function fmtRate(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return n.toFixed(0);
}

export function fmtBytes(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(2)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(2)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} KiB`;
  return `${Math.round(n)} B`;
}

/** `[  3s] conn 1200 (+400/s) | req 51234 resp 51200 (17.1k/s) 2xx 51200 | 12.3 MiB/s | p50 210us p99 1.20ms` */
export function liveLine(elapsedS: number, prev: LoadSnapshot, cur: LoadSnapshot, interval: Histogram): string {
  const dt = Math.max(1e-6, (cur.us - prev.us) / 1e6);
  const other = cur.status[1] + cur.status[3] + cur.status[4] + cur.status[5];
  const fails = cur.connectFailures + cur.errors;
  return (
    `[${elapsedS.toFixed(0).padStart(4)}s] conn ${cur.connects} (${fmtRate((cur.connects - prev.connects) / dt)}/s)` +
    ` | req ${cur.requests} resp ${cur.responses} (${fmtRate((cur.responses - prev.responses) / dt)}/s)` +
    ` 2xx ${cur.status[2]}${other > 0 ? ` other ${other}` : ''}${fails > 0 ? ` fail ${fails}` : ''}` +
    ` | ${fmtBytes((cur.bodyBytes - prev.bodyBytes) / dt)}/s` +
    (interval.totalCount > 0 ? ` | p50 ${fmtUs(interval.valueAtPercentile(50))} p99 ${fmtUs(interval.valueAtPercentile(99))}` : '')
  );
}

export interface LoadSummary {
  seconds: number;
  connections: { ok: number; failed: number; cancelled: number; perSecond: number };
  requests: number;
  responses: number;
  status: { '1xx': number; '2xx': number; '3xx': number; '4xx': number; '5xx': number };
  errors: number;
  unanswered: number;
  bodyBytes: number;
  requestsPerSecond: number;
  bytesPerSecond: number;
  latencyUs: { min: number; mean: number; p50: number; p90: number; p99: number; p999: number; max: number };
  verify: { ok: number; failed: number } | null;
  sha256: string | null;
}

export function summarize(elapsedUs: number, s: LoadSnapshot, lat: Histogram, verify: boolean, sha256: string | null): LoadSummary {
  const secs = Math.max(1e-6, elapsedUs / 1e6);
  const p = PERCENTILES.map((q) => lat.valueAtPercentile(q));
  return {
    seconds: Number(secs.toFixed(3)),
    connections: { ok: s.connects, failed: s.connectFailures, cancelled: s.cancelled, perSecond: Math.round(s.connects / secs) },
    requests: s.requests,
    responses: s.responses,
    status: { '1xx': s.status[1], '2xx': s.status[2], '3xx': s.status[3], '4xx': s.status[4], '5xx': s.status[5] },
    errors: s.errors,
    unanswered: s.unanswered,
    bodyBytes: s.bodyBytes,
    requestsPerSecond: Math.round(s.responses / secs),
    bytesPerSecond: Math.round(s.bodyBytes / secs),
    latencyUs: { min: lat.min, mean: Math.round(lat.mean), p50: p[0], p90: p[1], p99: p[2], p999: p[3], max: lat.max },
    verify: verify ? { ok: s.verifyOk, failed: s.verifyFailed } : null,
    sha256,
  };
}

export function summaryText(title: string, m: LoadSummary): string {
  const l = m.latencyUs;
  const st = m.status;
  const lines = [
    `${title}: ${m.seconds.toFixed(2)} s`,
    `  connections  ${m.connections.ok} ok, ${m.connections.failed} failed${m.connections.cancelled > 0 ? `, ${m.connections.cancelled} still opening at the time bound (cancelled)` : ''} (${fmtRate(m.connections.perSecond)}/s)`,
    `  requests     ${m.requests} sent, ${m.responses} answered (${fmtRate(m.requestsPerSecond)}/s), ${m.unanswered} unanswered, ${m.errors} errors`,
    `  status       1xx ${st['1xx']}  2xx ${st['2xx']}  3xx ${st['3xx']}  4xx ${st['4xx']}  5xx ${st['5xx']}`,
    `  body         ${fmtBytes(m.bodyBytes)} (${fmtBytes(m.bytesPerSecond)}/s, ${((m.bytesPerSecond * 8) / 1e6).toFixed(1)} Mbit/s)`,
    `  latency      min ${fmtUs(l.min)}  mean ${fmtUs(l.mean)}  p50 ${fmtUs(l.p50)}  p90 ${fmtUs(l.p90)}  p99 ${fmtUs(l.p99)}  p99.9 ${fmtUs(l.p999)}  max ${fmtUs(l.max)}`,
  ];
  if (m.verify !== null) lines.push(`  verify       ${m.verify.ok} ok, ${m.verify.failed} failed`);
  if (m.sha256 !== null) lines.push(`  sha256       ${m.sha256}`);
  return lines.join('\n');
}
