/**
 * Distributions of the senders' cwnd and SRTT, for the run's result: one
 * sample of each per eighth RTT measurement (ACKs that give one), in HDR
 * histograms (telemetry/histogram.ts, two significant digits) that allocate
 * nothing after construction and that management merges across workers.
 */
import { Histogram, type HdrParams } from '../../telemetry/histogram.js';

/** cwnd in bytes: up to 4 GB. */
export const CWND_PARAMS: HdrParams = { lowest: 1, highest: 2 ** 32, digits: 2 };
/** SRTT in µs: up to a minute. */
export const SRTT_PARAMS: HdrParams = { lowest: 1, highest: 60_000_000, digits: 2 };

export interface Percentiles {
  samples: number;
  p50: number;
  p90: number;
  p99: number;
}

/** A histogram's sample count and percentiles (-1 when it has none). */
export function percentilesOf(h: Histogram): Percentiles {
  const n = h.totalCount;
  const at = (p: number): number => (n === 0 ? -1 : h.valueAtPercentile(p));
  return { samples: n, p50: at(50), p90: at(90), p99: at(99) };
}

export class TcpStats {
  readonly cwnd = new Histogram(CWND_PARAMS);
  readonly srttUs = new Histogram(SRTT_PARAMS);

  /** RTT measurements seen (every eighth is sampled). */
  private seen = 0;

  sample(cwnd: number, srttUs: number): void {
    if ((++this.seen & 7) !== 1) return;
    this.cwnd.record(cwnd);
    this.srttUs.record(srttUs);
  }

  /** cwnd (bytes) and SRTT (µs) percentiles. */
  percentiles(): { cwnd: Percentiles; srttUs: Percentiles } {
    return { cwnd: percentilesOf(this.cwnd), srttUs: percentilesOf(this.srttUs) };
  }
}
