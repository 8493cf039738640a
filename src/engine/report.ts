/**
 * What a load run prints: a live line per interval, a summary at the end, and
 * the same summary as JSON. Rates are over the interval or the whole run;
 * latency is the response time per request (first byte of the request written
 * to the last byte of the answer parsed), in µs.
 */
import { FAIL_KEYS } from '../app/http11/failures.js';
import type { Histogram } from '../telemetry/histogram.js';
import type { FlowSnapshot, LoadSnapshot } from './load.js';

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
  const fails = cur.connectFailures + cur.failedRequests;
  return (
    `[${elapsedS.toFixed(0).padStart(4)}s] conn ${cur.connects} (${fmtRate((cur.connects - prev.connects) / dt)}/s)` +
    ` | req ${cur.requests} resp ${cur.responses} (${fmtRate((cur.responses - prev.responses) / dt)}/s)` +
    ` 2xx ${cur.status[2]}${other > 0 ? ` other ${other}` : ''}${fails > 0 ? ` fail ${fails}` : ''}` +
    ` | ${fmtBytes((cur.bodyBytes - prev.bodyBytes) / dt)}/s` +
    (interval.totalCount > 0 ? ` | p50 ${fmtUs(interval.valueAtPercentile(50))} p99 ${fmtUs(interval.valueAtPercentile(99))}` : '')
  );
}

/** One failure reason in a summary: how often, and what the last one said. */
export interface FailureSummary {
  count: number;
  lastMessage: string;
}

export interface LoadSummary {
  seconds: number;
  /** attempted = ok + failed + cancelled (cancelled: still opening when the load stopped). */
  connections: { attempted: number; ok: number; failed: number; cancelled: number; perSecond: number };
  /** Sent: responses + failedRequests + inFlight. */
  requests: number;
  responses: number;
  failedRequests: number;
  /** Requests still unanswered when the run ended. */
  inFlight: number;
  /** Both identities hold (a false here is a counting bug, and the summary says so). */
  accounted: boolean;
  /** Each reason that happened (FAIL_KEYS), once per failed connection or request. */
  failures: Record<string, FailureSummary>;
  status: { '1xx': number; '2xx': number; '3xx': number; '4xx': number; '5xx': number };
  bodyBytes: number;
  requestsPerSecond: number;
  bytesPerSecond: number;
  latencyUs: { min: number; mean: number; p50: number; p90: number; p99: number; p999: number; max: number };
  verify: { ok: number; failed: number } | null;
  sha256: string | null;
  /** Open model: arrivals on the schedule, those dropped at the concurrency cap; the most connections open at once. */
  arrivals: number;
  dropped: number;
  peakOpen: number;
  /** Each flow's counters and latencies, and each of its request entries' (they add up to the totals above). */
  flows: FlowSummary[];
}

/** Latency percentiles of a flow or a request entry, µs. */
export interface LatencyBrief {
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface EntrySummary {
  method: string;
  url: string;
  requests: number;
  responses: number;
  latencyUs: LatencyBrief;
}

export interface FlowSummary {
  name: string;
  arrivals: number;
  dropped: number;
  connections: { attempted: number; ok: number; failed: number };
  requests: number;
  responses: number;
  failedRequests: number;
  latencyUs: LatencyBrief;
  entries: EntrySummary[];
}

function brief(h: Histogram): LatencyBrief {
  return { p50: h.valueAtPercentile(50), p90: h.valueAtPercentile(90), p99: h.valueAtPercentile(99), max: h.max };
}

/** Each flow's summary from its counters and histograms; `flows` names the entries. */
export function flowSummaries(
  snaps: FlowSnapshot[],
  flowLat: Histogram[],
  entryLat: Histogram[][],
  flows: readonly { requests: readonly { method: string; path: string }[] }[],
): FlowSummary[] {
  return snaps.map((f, i) => ({
    name: f.name,
    arrivals: f.arrivals,
    dropped: f.dropped,
    connections: { attempted: f.attempts, ok: f.connects, failed: f.connectFailures },
    requests: f.requests,
    responses: f.responses,
    failedRequests: f.failedRequests,
    latencyUs: brief(flowLat[i]),
    entries: f.entries.map((e, j) => ({ method: flows[i].requests[j].method, url: flows[i].requests[j].path, requests: e.requests, responses: e.responses, latencyUs: brief(entryLat[i][j]) })),
  }));
}

/** `lastFailure`: each reason's last message by Fail code. */
export function summarize(
  elapsedUs: number,
  s: LoadSnapshot,
  lat: Histogram,
  verify: boolean,
  sha256: string | null,
  lastFailure: readonly string[],
  flows: FlowSummary[] = [],
): LoadSummary {
  const secs = Math.max(1e-6, elapsedUs / 1e6);
  const p = PERCENTILES.map((q) => lat.valueAtPercentile(q));
  const cancelled = s.cancelled + s.opening;
  const failures: Record<string, FailureSummary> = {};
  let failed = 0;
  s.failures.forEach((n, i) => {
    failed += n;
    if (n > 0) failures[FAIL_KEYS[i]] = { count: n, lastMessage: lastFailure[i] ?? '' };
  });
  return {
    seconds: Number(secs.toFixed(3)),
    connections: { attempted: s.attempts, ok: s.connects, failed: s.connectFailures, cancelled, perSecond: Math.round(s.connects / secs) },
    requests: s.requests,
    responses: s.responses,
    failedRequests: s.failedRequests,
    inFlight: s.inFlight,
    accounted:
      s.attempts === s.connects + s.connectFailures + cancelled &&
      s.requests === s.responses + s.failedRequests + s.inFlight &&
      failed === s.connectFailures + s.failedRequests,
    failures,
    status: { '1xx': s.status[1], '2xx': s.status[2], '3xx': s.status[3], '4xx': s.status[4], '5xx': s.status[5] },
    bodyBytes: s.bodyBytes,
    requestsPerSecond: Math.round(s.responses / secs),
    bytesPerSecond: Math.round(s.bodyBytes / secs),
    latencyUs: { min: lat.min, mean: Math.round(lat.mean), p50: p[0], p90: p[1], p99: p[2], p999: p[3], max: lat.max },
    verify: verify ? { ok: s.verifyOk, failed: s.verifyFailed } : null,
    sha256,
    arrivals: s.arrivals,
    dropped: s.dropped,
    peakOpen: s.peakOpen,
    flows,
  };
}

export function summaryText(title: string, m: LoadSummary): string {
  const l = m.latencyUs;
  const st = m.status;
  const c = m.connections;
  const lines = [
    `${title}: ${m.seconds.toFixed(2)} s`,
    `  connections  ${c.ok} ok, ${c.failed} failed, ${c.cancelled} cancelled of ${c.attempted} attempted (${fmtRate(c.perSecond)}/s)`,
    `  requests     ${m.requests} sent, ${m.responses} answered (${fmtRate(m.requestsPerSecond)}/s), ${m.failedRequests} failed, ${m.inFlight} in flight`,
  ];
  if (m.arrivals > 0) lines.push(`  arrivals     ${m.arrivals} scheduled, ${m.dropped} dropped at the concurrency cap (max_concurrent), ${m.peakOpen} connections open at most`);
  for (const [i, [key, f]] of Object.entries(m.failures).entries()) {
    lines.push(`  ${i === 0 ? 'failures    ' : '            '} ${key} ${f.count}: ${f.lastMessage}`);
  }
  if (!m.accounted) lines.push('  accounting   MISMATCH: the counts above do not add up (a bug; please report it)');
  lines.push(
    `  status       1xx ${st['1xx']}  2xx ${st['2xx']}  3xx ${st['3xx']}  4xx ${st['4xx']}  5xx ${st['5xx']}`,
    `  body         ${fmtBytes(m.bodyBytes)} (${fmtBytes(m.bytesPerSecond)}/s, ${((m.bytesPerSecond * 8) / 1e6).toFixed(1)} Mbit/s)`,
    `  latency      min ${fmtUs(l.min)}  mean ${fmtUs(l.mean)}  p50 ${fmtUs(l.p50)}  p90 ${fmtUs(l.p90)}  p99 ${fmtUs(l.p99)}  p99.9 ${fmtUs(l.p999)}  max ${fmtUs(l.max)}`,
  );
  if (m.flows.length > 1 || m.flows.some((f) => f.entries.length > 1)) {
    for (const f of m.flows) {
      lines.push(`  flow ${f.name}: ${f.connections.ok} connections, ${f.requests} sent, ${f.responses} answered, ${f.failedRequests} failed${f.dropped > 0 ? `, ${f.dropped} dropped` : ''}, p50 ${fmtUs(f.latencyUs.p50)} p99 ${fmtUs(f.latencyUs.p99)}`);
      if (f.entries.length > 1) for (const e of f.entries) lines.push(`    ${e.method} ${e.url}: ${e.requests} sent, ${e.responses} answered, p50 ${fmtUs(e.latencyUs.p50)} p99 ${fmtUs(e.latencyUs.p99)}`);
    }
  }
  if (m.verify !== null) lines.push(`  verify       ${m.verify.ok} ok, ${m.verify.failed} failed`);
  if (m.sha256 !== null) lines.push(`  sha256       ${m.sha256}`);
  return lines.join('\n');
}

/**
 * The exit code a client run earns (README, exit codes): 3 when it completed
 * with failures (a failed connection or request, a body that did not verify,
 * or counts that do not add up) beyond the share `allowErrors` tolerates (of
 * failed connections and requests plus mismatches, over answers plus
 * failures), else 0; with the reason, printed last.
 */
export function clientExitCode(m: LoadSummary, allowErrors: number): { code: number; reason: string } {
  if (!m.accounted) return { code: 3, reason: 'the client\'s counts do not add up' };
  const failed = m.connections.failed + m.failedRequests;
  const bad = failed + (m.verify?.failed ?? 0);
  if (bad === 0) return { code: 0, reason: '' };
  const share = bad / Math.max(1, m.responses + failed);
  const what = [
    m.connections.failed > 0 ? `${m.connections.failed} connections failed` : '',
    m.failedRequests > 0 ? `${m.failedRequests} requests failed` : '',
    (m.verify?.failed ?? 0) > 0 ? `${m.verify?.failed} bodies did not verify` : '',
  ].filter((w) => w !== '').join(', ');
  const reasons = Object.entries(m.failures).map(([k, f]) => `${k} ${f.count}`).join(', ');
  const detail = `${what}${reasons === '' ? '' : ` (${reasons})`}: ${(share * 100).toFixed(2)}% of the work`;
  if (share <= allowErrors) return { code: 0, reason: `${detail}, within --allow-errors ${allowErrors}` };
  return { code: 3, reason: `the run completed with failures: ${detail}${allowErrors > 0 ? `, over --allow-errors ${allowErrors}` : ''}` };
}
