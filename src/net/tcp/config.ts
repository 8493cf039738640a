/** TcpOptions resolved to plain numbers once, at setup. */
import type { TcpOptions } from './api.js';
import { CHUNK_SIZE } from './chunk_pool.js';
import { CC_CUBIC, type CcName, ccIndex } from './reno.js';
import { ECN_MODES, type EcnMode } from './ecn.js';

/**
 * A run's TCP options: its TCBs, when `windowBytes` > 0 the receive window
 * and send buffer of every connection (as iperf's -w; 0 keeps the defaults),
 * the congestion controller (`--cc`; undefined: the default, CUBIC) and ECN (`--ecn`).
 */
export function runTcpOptions(maxConns: number, windowBytes: number, cc?: CcName, ecn?: EcnMode): TcpOptions {
  // A window given is fixed, as iperf's -w sets SO_RCVBUF and Linux then stops autotuning.
  const o: TcpOptions = windowBytes > 0 ? { maxConns, rcvBuf: windowBytes, rcvBufMax: windowBytes, sndBuf: windowBytes } : { maxConns };
  if (cc !== undefined) o.cc = cc;
  if (ecn !== undefined) o.ecn = ecn;
  return o;
}

/** Autotuning's ceiling by default: Linux's tcp_rmem[2] is 6 MB; 4 MB keeps the scale at 7. */
const DEFAULT_RCV_BUF_MAX = 4 * 1024 * 1024;

export class TcpConfig {
  readonly maxConns: number;
  readonly chunks: number;
  readonly mss: number;
  /** The window a connection offers first, and the ceiling autotuning grows it to (rcv_space.ts); equal: no autotuning. */
  readonly rcvBuf: number;
  readonly rcvBufMax: number;
  /** Our window scale shift (RFC 7323 §2.3), derived from rcvBufMax. */
  readonly rcvWs: number;
  readonly sndBuf: number;
  readonly timestamps: boolean;
  readonly sack: boolean;
  readonly windowScale: boolean;
  readonly rtoMinUs: number;
  readonly rtoMaxUs: number;
  readonly rtoInitialUs: number;
  readonly retries: number;
  readonly synRetries: number;
  readonly delayedAckMs: number;
  readonly timeWaitMs: number;
  readonly keepaliveMs: number;
  readonly keepaliveIntervalMs: number;
  readonly keepaliveProbes: number;
  readonly finWait2Ms: number;
  readonly backlog: number;
  /** Challenge ACKs per second (RFC 5961 §7; Linux tcp_challenge_ack_limit). */
  readonly challengeAckLimit: number;
  /** Congestion controller of new connections (CC_NEWRENO, CC_CUBIC). */
  readonly cc: number;
  /** ECN_OFF, ECN_PASSIVE or ECN_ON (ecn.ts). */
  readonly ecn: number;
  /** Pace every connection's sending (pacing.ts). */
  readonly pacing: boolean;

  constructor(o: TcpOptions) {
    this.maxConns = o.maxConns;
    const bytes = o.bufferBytes ?? 64 * 1024 * 1024;
    this.chunks = Math.max(16, Math.floor(bytes / CHUNK_SIZE));
    this.mss = o.mss ?? 1460;
    if (this.mss < 88 || this.mss > 65495) throw new RangeError(`mss must be in 88..65495, got ${this.mss}`);
    this.rcvBuf = o.rcvBuf ?? 256 * 1024;
    this.windowScale = o.windowScale ?? true;
    // Without window scaling no window above 64 KB can be said: nothing to grow into.
    this.rcvBufMax = o.rcvBufMax ?? (this.windowScale ? Math.max(this.rcvBuf, DEFAULT_RCV_BUF_MAX) : this.rcvBuf);
    if (this.rcvBufMax < this.rcvBuf) throw new RangeError(`rcvBufMax ${this.rcvBufMax} is below rcvBuf ${this.rcvBuf}`);
    let ws = 0;
    if (this.windowScale) while (ws < 14 && this.rcvBufMax >>> ws > 65535) ws++;
    this.rcvWs = ws;
    if (this.rcvBufMax >>> ws > 65535) throw new RangeError(`rcvBuf ${this.rcvBufMax} needs window scaling`);
    this.sndBuf = o.sndBuf ?? 256 * 1024;
    this.timestamps = o.timestamps ?? true;
    this.sack = o.sack ?? true;
    this.rtoMinUs = o.rtoMinUs ?? 200_000;
    this.rtoMaxUs = o.rtoMaxUs ?? 60_000_000;
    this.rtoInitialUs = o.rtoInitialUs ?? 1_000_000;
    this.retries = o.retries ?? 15;
    this.synRetries = o.synRetries ?? 6;
    this.delayedAckMs = Math.max(1, Math.round((o.delayedAckUs ?? 40_000) / 1000));
    this.timeWaitMs = Math.max(1, Math.round((o.timeWaitUs ?? 60_000_000) / 1000));
    this.keepaliveMs = Math.round((o.keepaliveUs ?? 0) / 1000);
    this.keepaliveIntervalMs = Math.max(1, Math.round((o.keepaliveIntervalUs ?? 75_000_000) / 1000));
    this.keepaliveProbes = o.keepaliveProbes ?? 9;
    this.finWait2Ms = Math.max(1, Math.round((o.finWait2Us ?? 60_000_000) / 1000));
    this.backlog = o.backlog ?? 4096;
    this.challengeAckLimit = 1000;
    const ecn = ECN_MODES.indexOf(o.ecn ?? 'passive');
    if (ecn < 0) throw new RangeError(`ecn must be ${ECN_MODES.join(', ')}, got ${String(o.ecn)}`);
    this.ecn = ecn;
    const cc = o.cc === undefined ? CC_CUBIC : ccIndex(o.cc);
    if (cc < 0) throw new RangeError(`cc must be newreno or cubic, got ${String(o.cc)}`);
    this.cc = cc;
    this.pacing = o.pacing ?? false;
  }
}
