/**
 * The datagram probes of a client run (UDP and ICMP echo): datagrams at a
 * rate, each carrying a run tag, a sequence number and its send time, so an
 * echoed one gives its round-trip time with no per-datagram state but a
 * seen-bit per sequence number (duplicates). Bounded by a count and/or a
 * duration; once sending stops, answers may arrive for --drain more. While
 * the next hop is not resolved, one datagram a second goes out (it starts
 * ARP) and the rest wait rather than overflow ARP's queue.
 *
 * Data layout: tag u32 at 0, sequence u32 at 4, send time (µs, f64) at 8,
 * then the filler pattern.
 */
import { AddrCycle } from '../common/addr_cycle.js';
import type { Clock } from '../common/clock.js';
import type { HdrRecorder } from '../telemetry/histogram.js';
import { RateBudget } from './rate_budget.js';
import { Schedule, type StageSpan } from './schedule.js';

/** Bytes of the probe header in the data: the smallest --payload-size. */
export const PROBE_HDR = 16;
const SEEN_MASK = 0xffff;
/** While the next hop is unresolved: one datagram per this long. */
const ARP_PROBE_US = 1e6;

/** What a UDP or ICMP probe asks for, as the command line gives it. */
export interface ProbePlan {
  dstIp: number;
  /** UDP destination port; 0 for ICMP. */
  dstPort: number;
  /** Datagrams in all; 0 = as the duration allows. */
  requests: number;
  /** Datagrams per second; 0 = as fast as the loop goes. */
  rate: number;
  /** Bytes of data per datagram, PROBE_HDR or more. */
  payloadSize: number;
  /** Stages scaling the rate over the run; absent or empty: the rate throughout. */
  stages?: StageSpan[];
  /** DSCP of its datagrams (RFC 2474), 0..63; absent: 0. */
  dscp?: number;
  /** Source addresses srcLo..srcHi (owned), used in turn; absent: the first owned address. */
  srcLo?: number;
  srcHi?: number;
}

/** The probe counters as the worker's slab names them (app_<key>), after which the pipeline adds the steering ones. */
export const PROBE_KEYS = ['sent', 'received', 'duplicates', 'unreachable', 'bytes_out', 'bytes_in', 'elapsed_us', 'finished'] as const;

export interface ProbeConfig extends ProbePlan {
  clock: Clock;
  /** The source address without a range (srcLo..srcHi). */
  srcIp: number;
  durationUs: number;
  drainUs: number;
  /** True once datagrams to the destination leave without waiting for ARP. */
  nextHopReady: () => boolean;
  /** Where round-trip times go (the worker's shared histogram), or null. */
  rtt: HdrRecorder | null;
  /** Identifies this run's datagrams (a stale echo of an earlier run is not counted). */
  tag: number;
}

export abstract class ProbeLoad {
  sent = 0;
  received = 0;
  duplicates = 0;
  unreachable = 0;
  bytesOut = 0;
  bytesIn = 0;
  readonly startUs: number;
  private stopUs = -1;
  /** When a datagram last went out toward an unresolved next hop. */
  private probeUs = -Infinity;
  /** The sends' pacing (a live change sets its rate). */
  readonly budget: RateBudget;
  /** The datagrams' source addresses: the range's in turn, else srcIp. */
  protected readonly src: AddrCycle;
  private readonly seen = new Uint8Array(SEEN_MASK + 1);
  /** The data of every datagram, stamped per send. */
  protected readonly template: Uint8Array;
  private readonly tdv: DataView;

  constructor(protected readonly cfg: ProbeConfig) {
    this.src = new AddrCycle(cfg.srcLo ?? cfg.srcIp, cfg.srcHi ?? cfg.srcIp);
    this.budget = new RateBudget(cfg.rate, cfg.stages?.length ? new Schedule(cfg.stages) : null);
    this.template = new Uint8Array(cfg.payloadSize);
    for (let i = PROBE_HDR; i < cfg.payloadSize; i++) this.template[i] = 0x21 + (i % 94);
    this.tdv = new DataView(this.template.buffer);
    this.tdv.setUint32(0, cfg.tag);
    this.startUs = cfg.clock.nowUs();
  }

  /** Builds and sends datagram `seq` with the stamped template (from src); false when no buffer was free. */
  protected abstract emit(seq: number): boolean;

  /** Sends what the rate allows, and stops at the count or the time bound. */
  tick(nowUs: number): void {
    if (this.stopUs >= 0) return;
    const c = this.cfg;
    if ((c.requests > 0 && this.sent >= c.requests) || (c.durationUs > 0 && nowUs - this.startUs >= c.durationUs)) {
      this.stop();
      return;
    }
    let left = c.requests > 0 ? c.requests - this.sent : 1 << 30;
    if (!c.nextHopReady()) {
      if (nowUs - this.probeUs < ARP_PROBE_US) return;
      this.probeUs = nowUs;
      left = 1;
    }
    const n = this.budget.due(nowUs, left);
    let k = 0;
    for (; k < n; k++) {
      const seq = this.sent;
      this.tdv.setUint32(4, seq >>> 0);
      this.tdv.setFloat64(8, nowUs);
      if (!this.emit(seq >>> 0)) break;
      this.seen[seq & SEEN_MASK] = 1;
      this.sent++;
      this.bytesOut += c.payloadSize;
    }
    this.budget.spend(k);
  }

  /** No more sends; answers still count for the drain time. */
  stop(): void {
    if (this.stopUs < 0) this.stopUs = this.cfg.clock.nowUs();
  }

  /** Sending stopped and every datagram was answered, or the drain time ran out. */
  finished(): boolean {
    return this.stopUs >= 0 && (this.received >= this.sent || this.cfg.clock.nowUs() - this.stopUs >= this.cfg.drainUs);
  }

  /** From the start to the end of sending (or now while sending). */
  elapsedUs(): number {
    return (this.stopUs >= 0 ? this.stopUs : this.cfg.clock.nowUs()) - this.startUs;
  }

  /** An echoed datagram's data at `off` (absolute in `dv`): counted once per sequence number, its RTT recorded. */
  protected answer(dv: DataView, off: number, len: number, nowUs: number): void {
    if (len < PROBE_HDR || dv.getUint32(off) !== this.cfg.tag) return;
    const seq = dv.getUint32(off + 4);
    if (seq >= this.sent || this.seen[seq & SEEN_MASK] === 0) {
      this.duplicates++;
      return;
    }
    this.seen[seq & SEEN_MASK] = 0;
    this.received++;
    this.bytesIn += len;
    this.cfg.rtt?.record(Math.max(1, Math.round(nowUs - dv.getFloat64(off + 8))));
  }

  /** The counters in PROBE_KEYS order into the slab cells `ids[at..]`; returns the next index. */
  publish(c: Float64Array, ids: Int32Array, at: number): number {
    c[ids[at]] = this.sent;
    c[ids[at + 1]] = this.received;
    c[ids[at + 2]] = this.duplicates;
    c[ids[at + 3]] = this.unreachable;
    c[ids[at + 4]] = this.bytesOut;
    c[ids[at + 5]] = this.bytesIn;
    c[ids[at + 6]] = this.elapsedUs();
    c[ids[at + 7]] = this.finished() ? 1 : 0;
    return at + 8;
  }
}
