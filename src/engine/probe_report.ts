/**
 * What the TCP connect-rate, UDP and ICMP client runs print: a live line per
 * second, a summary and its JSON, from the workers' summed counters
 * (camelCase, as the run groups them) and the merged histogram of connect
 * times or round-trip times.
 */
import type { Histogram } from '../telemetry/histogram.js';
import { fmtBytes, fmtRate, fmtUs } from './report.js';

export type ProbeKind = 'tcp_connect' | 'udp_client' | 'icmp_client';

const LABEL: Record<ProbeKind, string> = { tcp_connect: 'tcp', udp_client: 'udp', icmp_client: 'icmp' };

function percentiles(h: Histogram): { min: number; mean: number; p50: number; p90: number; p99: number; p999: number; max: number } {
  return {
    min: h.totalCount > 0 ? h.min : 0,
    mean: Math.round(h.mean),
    p50: h.valueAtPercentile(50),
    p90: h.valueAtPercentile(90),
    p99: h.valueAtPercentile(99),
    p999: h.valueAtPercentile(99.9),
    max: h.max,
  };
}

/** `[   3s] udp sent 300 (100/s) received 300 lost 0 | rtt p50 120us p99 310us` */
export function probeLiveLine(kind: ProbeKind, s: number, dtS: number, prev: Record<string, number>, cur: Record<string, number>, interval: Histogram): string {
  const head = `[${s.toFixed(0).padStart(4)}s] ${LABEL[kind]}`;
  const lat = interval.totalCount > 0 ? ` p50 ${fmtUs(interval.valueAtPercentile(50))} p99 ${fmtUs(interval.valueAtPercentile(99))}` : '';
  const dt = Math.max(1e-6, dtS);
  if (kind === 'tcp_connect') {
    const failed = cur.refused + cur.timeout + cur.reset + cur.unreachable;
    return (
      `${head} attempts ${cur.attempts} (${fmtRate((cur.attempts - prev.attempts) / dt)}/s) established ${cur.established} closed ${cur.closed}` +
      `${failed > 0 ? ` failed ${failed}` : ''}${cur.bytesOut > 0 ? ` | ${fmtBytes((cur.bytesOut - prev.bytesOut) / dt)}/s` : ''}${lat === '' ? '' : ` | connect${lat}`}`
    );
  }
  return `${head} sent ${cur.sent} (${fmtRate((cur.sent - prev.sent) / dt)}/s) received ${cur.received}${cur.unreachable > 0 ? ` unreachable ${cur.unreachable}` : ''}${lat === '' ? '' : ` | rtt${lat}`}`;
}

/** The summary as JSON (the run's `app`): counts, rates and the connect-time or RTT percentiles in µs. */
export function probeSummary(kind: ProbeKind, a: Record<string, number>, elapsedUs: number, hist: Histogram, connections: number): Record<string, unknown> {
  const secs = Math.max(1e-6, elapsedUs / 1e6);
  if (kind === 'tcp_connect') {
    const failed = { refused: a.refused, timeout: a.timeout, reset: a.reset, unreachable: a.unreachable };
    return {
      seconds: Number(secs.toFixed(3)),
      attempts: a.attempts,
      established: a.established,
      failed,
      cancelled: a.cancelled,
      closed: a.closed,
      connectsPerSecond: Math.round(a.established / secs),
      bytesOut: a.bytesOut,
      bytesPerSecond: Math.round(a.bytesOut / secs),
      bytesPerSecondPerStream: Math.round(a.bytesOut / secs / Math.max(1, connections)),
      connectUs: percentiles(hist),
    };
  }
  return {
    seconds: Number(secs.toFixed(3)),
    sent: a.sent,
    received: a.received,
    lost: a.sent - a.received,
    duplicates: a.duplicates,
    unreachable: a.unreachable,
    sentPerSecond: Math.round(a.sent / secs),
    bytesOut: a.bytesOut,
    bytesIn: a.bytesIn,
    rttUs: percentiles(hist),
  };
}

export function probeSummaryText(kind: ProbeKind, j: Record<string, unknown>): string {
  const n = j as Record<string, number>;
  const lat = (l: ReturnType<typeof percentiles>): string =>
    `min ${fmtUs(l.min)}  mean ${fmtUs(l.mean)}  p50 ${fmtUs(l.p50)}  p90 ${fmtUs(l.p90)}  p99 ${fmtUs(l.p99)}  p99.9 ${fmtUs(l.p999)}  max ${fmtUs(l.max)}`;
  const lines = [`${LABEL[kind]}: ${n.seconds.toFixed(2)} s`];
  if (kind === 'tcp_connect') {
    const f = j.failed as Record<string, number>;
    lines.push(
      `  connections  ${n.attempts} attempts, ${n.established} established, ${n.closed} closed, ${n.cancelled} cancelled (${fmtRate(n.connectsPerSecond)}/s)`,
      `  failed       refused ${f.refused}  timeout ${f.timeout}  reset ${f.reset}  unreachable ${f.unreachable}`,
      `  connect      ${lat(j.connectUs as ReturnType<typeof percentiles>)}`,
    );
    if (n.bytesOut > 0) lines.push(`  payload      ${fmtBytes(n.bytesOut)} (${fmtBytes(n.bytesPerSecond)}/s, ${fmtBytes(n.bytesPerSecondPerStream)}/s per stream)`);
  } else {
    lines.push(
      `  datagrams    ${n.sent} sent, ${n.received} received, ${n.lost} lost, ${n.duplicates} duplicates, ${n.unreachable} unreachable (${fmtRate(n.sentPerSecond)}/s)`,
      `  rtt          ${lat(j.rttUs as ReturnType<typeof percentiles>)}`,
    );
  }
  return lines.join('\n');
}
