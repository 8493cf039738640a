/**
 * `--client tcp://IP:PORT`: the TCP connect rate. Up to --connections
 * connections open at once, new ones at --rate per second, each SYN ->
 * established -> closed by FIN (RFC 9293 §3.10.4 CLOSE) or RST (§3.10.5
 * ABORT, `--close rst`), optionally after writing --payload-size bytes
 * (throughput: bytes per second per stream). Bounded by --requests
 * (connections) and/or --duration; at the time bound a stream still writing
 * stops and closes, so a payload larger than the run makes long-lived
 * streams, as iperf runs them. Every attempt ends under one reason.
 */
import { AddrCycle } from '../common/addr_cycle.js';
import type { Clock } from '../common/clock.js';
import type { ConnectOptions } from '../net/tcp/api.js';
import { CloseReason, type StreamHandler, type StreamTransport } from '../net/tcp/stream.js';
import type { HdrRecorder } from '../telemetry/histogram.js';
import { DEFAULT_PATTERN } from '../app/http11/server.js';
import { RateBudget } from './rate_budget.js';
import { Schedule, type StageSpan } from './schedule.js';

export interface TcpConnectPlan {
  dstIp: number;
  dstPort: number;
  /** Connections open at once. */
  connections: number;
  /** Connections in all; 0 = as the duration allows. */
  requests: number;
  /** New connections per second; 0 = as fast as they close. */
  rate: number;
  close: 'fin' | 'rst';
  /** Bytes written on each connection before it closes. */
  payloadSize: number;
  /** Stages scaling the rate over the run; absent or empty: the rate throughout. */
  stages?: StageSpan[];
  /** DSCP of its segments (RFC 2474), 0..63; absent: 0. */
  dscp?: number;
  /** Source addresses srcLo..srcHi (owned), used in turn; absent: the owned addresses' pool. */
  srcLo?: number;
  srcHi?: number;
}

/** The counters as the worker's slab names them (app_<key>); the steering ones follow. */
export const TCP_CONNECT_KEYS = [
  'attempts', 'established', 'refused', 'timeout', 'reset', 'unreachable', 'cancelled', 'closed', 'bytes_out', 'elapsed_us', 'finished',
] as const;

export interface TcpConnectConfig extends TcpConnectPlan {
  transport: StreamTransport;
  clock: Clock;
  /** The time of the burst or tick being handled (stackClock of the TCP layer). */
  stamp: Clock;
  srcIp: number;
  durationUs: number;
  maxConns: number;
  /** Connect times (SYN to established), or null. */
  connectTime: HdrRecorder | null;
}

const IDLE = 0;
const OPENING = 1;
const UP = 2;
/** Bytes handed to one write. */
const CHUNK = 64 * 1024;

export class TcpConnectLoad implements StreamHandler {
  attempts = 0;
  established = 0;
  refused = 0;
  timeout = 0;
  reset = 0;
  unreachable = 0;
  cancelled = 0;
  closed = 0;
  bytesOut = 0;
  readonly startUs: number;
  private stopUs = -1;
  private open = 0;
  /** The connections' pacing (a live change sets its rate). */
  readonly budget: RateBudget;
  private readonly synUs: Float64Array;
  private readonly left: Float64Array;
  /** Per connection id: IDLE, OPENING (SYN sent) or UP (established). */
  private readonly st: Uint8Array;
  private readonly src: Uint8Array;

  /** The next source's place in srcLo..srcHi. */
  /** Its source addresses: the range's in turn, else srcIp (0: the TCP layer's pool). */
  private readonly sources: AddrCycle;
  /** Its connections' TOS byte; the layer's controller. */
  private readonly marks: ConnectOptions;

  constructor(private readonly cfg: TcpConnectConfig) {
    this.marks = { tos: (cfg.dscp ?? 0) << 2, cc: -1 };
    this.sources = new AddrCycle(cfg.srcLo ?? cfg.srcIp, cfg.srcHi ?? cfg.srcIp);
    this.budget = new RateBudget(cfg.rate, cfg.stages?.length ? new Schedule(cfg.stages) : null);
    this.synUs = new Float64Array(cfg.maxConns);
    this.left = new Float64Array(cfg.maxConns);
    this.st = new Uint8Array(cfg.maxConns);
    const p = DEFAULT_PATTERN;
    this.src = new Uint8Array(Math.min(CHUNK, Math.max(1, cfg.payloadSize)) + p.length);
    for (let i = 0; i < this.src.length; i++) this.src[i] = p[i % p.length];
    this.startUs = cfg.clock.nowUs();
  }

  /** Opens what the rate and the concurrency allow; stops at the time bound (the count only ends the opening). */
  tick(nowUs: number): void {
    if (this.stopUs >= 0) return;
    const c = this.cfg;
    if (c.durationUs > 0 && nowUs - this.startUs >= c.durationUs) {
      this.stop();
      return;
    }
    if (this.counted()) {
      // Every connection was attempted: the time the last one ended is the run's.
      if (this.open === 0) this.stopUs = nowUs;
      return;
    }
    this.fill(nowUs);
  }

  private counted(): boolean {
    return this.cfg.requests > 0 && this.attempts >= this.cfg.requests;
  }

  private fill(nowUs: number): void {
    const c = this.cfg;
    let room = c.connections - this.open;
    if (c.requests > 0 && c.requests - this.attempts < room) room = c.requests - this.attempts;
    const n = this.budget.due(nowUs, room);
    let k = 0;
    for (; k < n; k++) {
      const id = c.transport.connect(this.sources.next(), c.dstIp, c.dstPort, this, 0, this.marks);
      if (id < 0) break;
      this.attempts++;
      this.open++;
      this.synUs[id] = c.stamp.nowUs();
      this.st[id] = OPENING;
      this.left[id] = c.payloadSize;
    }
    this.budget.spend(k);
  }

  /** No new connections; those still opening are given up (cancelled), streams still writing stop and close. */
  stop(): void {
    if (this.stopUs >= 0) return;
    this.stopUs = this.cfg.clock.nowUs();
    for (let id = 0; id < this.st.length; id++) {
      if (this.st[id] === OPENING) this.cfg.transport.abort(id);
      else if (this.st[id] === UP && this.left[id] > 0) {
        this.left[id] = 0;
        this.end(id);
      }
    }
  }

  finished(): boolean {
    return this.open === 0 && (this.stopUs >= 0 || this.counted());
  }

  elapsedUs(): number {
    return (this.stopUs >= 0 ? this.stopUs : this.cfg.clock.nowUs()) - this.startUs;
  }

  onConnected(id: number): void {
    this.established++;
    this.st[id] = UP;
    // The TCP layer's own SYN -> SYN-ACK time is on the wire stamps; ours is the poll loop's.
    const tcpUs = this.cfg.transport.connectUs?.(id) ?? -1;
    this.cfg.connectTime?.record(Math.max(1, Math.round(tcpUs >= 0 ? tcpUs : this.cfg.stamp.nowUs() - this.synUs[id])));
    this.pump(id);
  }

  onData(): void {}

  onWritable(id: number): void {
    this.pump(id);
  }

  /** The peer closed first: close our side as well. */
  onPeerClosed(id: number): void {
    this.cfg.transport.close(id);
  }

  onClosed(id: number, reason: number): void {
    this.open--;
    const wasUp = this.st[id] === UP;
    this.st[id] = IDLE;
    if (reason === CloseReason.RESET) {
      // A RST answering the SYN is a refusal (RFC 9293 §3.10.7.3); after it, a reset.
      if (wasUp) this.reset++;
      else this.refused++;
    } else if (reason === CloseReason.REFUSED) this.refused++;
    else if (reason === CloseReason.TIMEOUT) this.timeout++;
    else if (reason === CloseReason.UNREACHABLE) this.unreachable++;
    else if (wasUp) this.closed++;
    else this.cancelled++;
    if (this.stopUs < 0 && !this.counted()) this.fill(this.cfg.stamp.nowUs());
  }

  /** Writes what is left of the payload, then closes as asked. */
  private pump(id: number): void {
    const c = this.cfg;
    const plen = DEFAULT_PATTERN.length;
    const room = this.src.length - plen;
    while (this.left[id] > 0) {
      const sent = c.payloadSize - this.left[id];
      const n = c.transport.write(id, this.src, sent % plen, Math.min(this.left[id], room));
      if (n <= 0) return;
      this.left[id] -= n;
      this.bytesOut += n;
    }
    this.end(id);
  }

  private end(id: number): void {
    if (this.cfg.close === 'rst') this.cfg.transport.abort(id);
    else this.cfg.transport.close(id);
  }

  /** The counters in TCP_CONNECT_KEYS order into the slab cells `ids[at..]`; returns the next index. */
  publish(cells: Float64Array, ids: Int32Array, at: number): number {
    cells[ids[at]] = this.attempts;
    cells[ids[at + 1]] = this.established;
    cells[ids[at + 2]] = this.refused;
    cells[ids[at + 3]] = this.timeout;
    cells[ids[at + 4]] = this.reset;
    cells[ids[at + 5]] = this.unreachable;
    cells[ids[at + 6]] = this.cancelled;
    cells[ids[at + 7]] = this.closed;
    cells[ids[at + 8]] = this.bytesOut;
    cells[ids[at + 9]] = this.elapsedUs();
    cells[ids[at + 10]] = this.finished() ? 1 : 0;
    return at + 11;
  }
}
