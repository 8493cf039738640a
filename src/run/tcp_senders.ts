/**
 * The TCP senders' cwnd and SRTT over the run (issue 19: "cwnd and SRTT
 * percentiles in the result"): each worker's TcpStats histograms arrive
 * encoded in its final report; management merges them into the result's
 * `tcpSenders` and a summary line.
 */
import { Histogram } from '../telemetry/histogram.js';
import { CWND_PARAMS, SRTT_PARAMS } from '../net/tcp/tcp_stats.js';
import type { TcpSenders, TcpDistribution } from './result_schema.js';
import { phaseStats } from './run_record.js';

/** One worker's TcpStats, encoded (HdrHistogram V2). */
export interface EncodedTcpStats {
  cwnd: string;
  srttUs: string;
}

/** A histogram's figures as the phases give them (run_record.ts), the ones a sender's distribution keeps. */
function distribution(h: Histogram): TcpDistribution {
  const { count, p50, p90, p99, max, hdr } = phaseStats(h) ?? { count: 0, p50: 0, p90: 0, p99: 0, max: 0, hdr: h.encode() };
  return { count, p50, p90, p99, max, hdr };
}

/** The workers' cwnd and SRTT merged, or null when no worker sampled any (no TCP sender ran). */
export function mergeTcpSenders(reports: readonly (EncodedTcpStats | null | undefined)[]): TcpSenders | null {
  const cwnd = new Histogram(CWND_PARAMS);
  const srtt = new Histogram(SRTT_PARAMS);
  for (const r of reports) {
    if (r == null) continue;
    cwnd.add(Histogram.decode(r.cwnd));
    srtt.add(Histogram.decode(r.srttUs));
  }
  if (cwnd.totalCount === 0) return null;
  return { cwnd: distribution(cwnd), srttUs: distribution(srtt) };
}

/** The summary's line. */
export function tcpSendersText(s: TcpSenders): string {
  const { cwnd: c, srttUs: r } = s;
  return `tcp senders: cwnd p50/p90/p99 ${c.p50}/${c.p90}/${c.p99} B (max ${c.max}), srtt ${r.p50}/${r.p90}/${r.p99} us (max ${r.max}); ${c.count} samples`;
}
