/**
 * Distributions of the senders' cwnd and SRTT, for the run's result: one
 * sample of each per eighth RTT measurement (ACKs that give one), in
 * log-linear histograms (8 buckets per power of two, 12.5% resolution) that
 * allocate nothing after construction.
 */

/** Buckets: 16 exact values, then 8 per power of two up to 2^32. */
const BUCKETS = 16 + 28 * 8;

export class LogHistogram {
  readonly counts = new Float64Array(BUCKETS);
  total = 0;

  static index(v: number): number {
    if (v < 16) return v > 0 ? v : 0;
    const e = 31 - Math.clz32(v);
    return 16 + (e - 4) * 8 + ((v >>> (e - 3)) & 7);
  }

  /** The smallest value of bucket `i`. */
  static lower(i: number): number {
    if (i < 16) return i;
    const e = ((i - 16) >> 3) + 4;
    return (8 + ((i - 16) & 7)) * 2 ** (e - 3);
  }

  add(v: number): void {
    this.counts[LogHistogram.index(v >>> 0)]++;
    this.total++;
  }

  /** The value at quantile `q` (0..1): the lower edge of the bucket holding it; -1 when empty. */
  quantile(q: number): number {
    if (this.total === 0) return -1;
    const want = Math.max(1, Math.ceil(q * this.total));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i];
      if (seen >= want) return LogHistogram.lower(i);
    }
    return LogHistogram.lower(BUCKETS - 1);
  }
}

export interface Percentiles {
  samples: number;
  p50: number;
  p90: number;
  p99: number;
}

export class TcpStats {
  /** cwnd in bytes and SRTT in µs, sampled with each RTT measurement. */
  readonly cwnd = new LogHistogram();
  readonly srtt = new LogHistogram();

  /** RTT measurements seen (every eighth is sampled). */
  private seen = 0;

  sample(cwnd: number, srttUs: number): void {
    if ((++this.seen & 7) !== 1) return;
    this.cwnd.add(cwnd);
    this.srtt.add(srttUs);
  }

  /** cwnd (bytes) and SRTT (µs) percentiles, for the summary and --json. */
  percentiles(): { cwnd: Percentiles; srttUs: Percentiles } {
    const p = (h: LogHistogram): Percentiles => ({ samples: h.total, p50: h.quantile(0.5), p90: h.quantile(0.9), p99: h.quantile(0.99) });
    return { cwnd: p(this.cwnd), srttUs: p(this.srtt) };
  }
}
