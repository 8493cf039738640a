/**
 * The client load models of the `vaigai` command. Closed: N concurrent
 * connections, keep-alive or a fixed number of requests per connection,
 * pipelining, optionally paced to a request rate. Open: arrivals on a
 * schedule (requests at a rate, or connections at a rate each carrying its
 * requests), timed from their intended start, dropped beyond a concurrency
 * cap. Both are bounded by a request count and/or a duration.
 * The HTTP work is Http1Client's; this adds pacing, the time bound and
 * latency percentiles (HDR histograms, whole run and per interval).
 */
import type { Clock } from '../common/clock.js';
import { Http1Client } from '../app/http11/client.js';
import type { RequestSpec } from '../app/http11/request.js';
import type { StreamTransport } from '../net/tcp/stream.js';
import { Histogram, type HdrParams, type HdrRecorder } from '../telemetry/histogram.js';
import { Prng } from '../common/prng.js';
import { PacedTransport } from './pacer.js';
import { Arrivals, Schedule, type StageSpan } from './schedule.js';

/**
 * The time a TCP layer works at: a received burst's inside its callbacks,
 * a fresh clock read for an API call from outside (tcp_layer.ts apiNow).
 */
export function stackClock(tcp: { readonly nowUs: number }): Clock {
  return { nowUs: () => tcp.nowUs };
}

/** Response times in µs, 1 µs to 10 min, 3 significant digits. */
export const LATENCY_PARAMS: HdrParams = { lowest: 1, highest: 600_000_000, digits: 3 };

export interface LoadConfig {
  transport: StreamTransport;
  clock: Clock;
  /**
   * Stamps requests and responses (default `clock`). Over the user-space TCP,
   * `stackClock(tcp)`: the time of the burst that carried the response, and of
   * the write that sent the request, without two clock reads per request.
   */
  latencyClock?: Clock;
  srcIp: number;
  dstIp: number;
  dstPort: number;
  host: string;
  request: RequestSpec;
  connections: number;
  /** Requests in flight per connection. */
  pipeline: number;
  /** Requests per connection before it closes; 0 = keep-alive to the end. */
  requestsPerConnection: number;
  /** Requests in all; 0 = as many as the duration allows. */
  totalRequests: number;
  /** Time bound in µs; 0 = none. */
  durationUs: number;
  /** Requests per second; 0 = as fast as answers come. */
  rate: number;
  /** Connection ids the transport may hand out (sizes the pacer). */
  maxConns: number;
  /** Hash each body (sha256); the last digest is kept. */
  sha256: boolean;
  /** Expected sha256 of every body (hex), counted as verified ok/failed. */
  expectSha256: string | null;
  /** Keep each body and hand it to onBody (buffers it). */
  keepBodies: boolean;
  onBody: ((status: number, body: Buffer) => void) | null;
  /** A connection not usable this long after connect() fails (µs); 0 (default) = no bound. */
  connectTimeoutUs?: number;
  /** A connection awaiting answers that receives nothing this long fails them (µs); 0 (default) = no bound. */
  readTimeoutUs?: number;
  /** A request not answered this long after it was written fails (µs); 0 (default) = no bound. */
  responseTimeoutUs?: number;
  /** The open model (arrivals on the schedule); absent: the closed model. */
  open?: OpenLoad;
}

/** The open model's arrivals: requests at `rate`, or connections at `cps` carrying `perConn` requests on average. */
export interface OpenLoad {
  /** Connections per second; 0: arrivals are requests at `rate`. */
  cps: number;
  /** Requests per connection on average (cps arrivals; may be fractional). */
  perConn: number;
  maxConcurrent: number;
  stages: StageSpan[];
  poisson: boolean;
  seed: number;
}

/**
 * Counters at one instant, for rates between two of them. They balance:
 * attempts = connects + connectFailures + cancelled + opening, and
 * requests = responses + failedRequests + inFlight.
 */
export interface LoadSnapshot {
  us: number;
  attempts: number;
  connects: number;
  /** Connections that failed to open (not counting those the time bound cancelled). */
  connectFailures: number;
  /** Connections still opening when the time bound stopped the load, closed by us. */
  cancelled: number;
  /** Connections opening now. */
  opening: number;
  requests: number;
  responses: number;
  failedRequests: number;
  /** Requests sent and not answered yet. */
  inFlight: number;
  /** Failures by reason (Fail code, FAIL_KEYS names). */
  failures: number[];
  /** Index 1..5: 1xx..5xx. */
  status: number[];
  bodyBytes: number;
  verifyOk: number;
  verifyFailed: number;
  /** Open model: arrivals, and those dropped at the concurrency cap. */
  arrivals: number;
  dropped: number;
  /** The most connections open at once. */
  peakOpen: number;
}

export class LoadRun {
  readonly client: Http1Client;
  readonly latency = new Histogram(LATENCY_PARAMS);
  readonly pacer: PacedTransport | null;
  /** sha256 of the last body, when asked for. */
  lastSha256: string | null = null;
  startUs = -1;
  endUs = -1;
  private interval = new Histogram(LATENCY_PARAMS);
  /** A worker's shared histogram that also gets every response time (see mirrorLatency). */
  private mirror: HdrRecorder | null = null;
  private stopped = false;
  private readonly clock: Clock;
  private readonly durationUs: number;
  private readonly arrivals: Arrivals | null = null;
  /** Requests owed to connection arrivals (the fraction of perConn carried to the next). */
  private owedReqs = 0;

  constructor(cfg: LoadConfig) {
    if (cfg.totalRequests === 0 && cfg.durationUs === 0) throw new RangeError('a load needs a request count or a duration');
    this.clock = cfg.clock;
    this.durationUs = cfg.durationUs;
    const open = cfg.open ?? null;
    this.pacer = cfg.rate > 0 && open === null ? new PacedTransport(cfg.transport, cfg.rate, cfg.maxConns) : null;
    const request: RequestSpec = { ...cfg.request };
    // An expected digest makes the client verify; an empty one only makes it hash.
    if (cfg.expectSha256 !== null) request.sha256 = cfg.expectSha256;
    else if (cfg.sha256) request.sha256 = '';
    const onBody = cfg.onBody;
    this.client = new Http1Client({
      transport: this.pacer ?? cfg.transport,
      clock: cfg.latencyClock ?? cfg.clock,
      srcIp: cfg.srcIp,
      dstIp: cfg.dstIp,
      dstPort: cfg.dstPort,
      host: cfg.host,
      requests: [request],
      connections: cfg.connections,
      pipeline: cfg.pipeline,
      requestsPerConnection: cfg.requestsPerConnection,
      totalRequests: cfg.totalRequests > 0 ? cfg.totalRequests : Number.MAX_SAFE_INTEGER,
      keepBodies: cfg.keepBodies,
      onResponse: (status, _bytes, rttUs, sha, body) => {
        this.latency.record(rttUs);
        this.interval.record(rttUs);
        this.mirror?.record(rttUs);
        if (sha !== null) this.lastSha256 = sha;
        if (body !== null && onBody !== null) onBody(status, body);
      },
      onDone: () => {
        this.endUs = this.clock.nowUs();
      },
      connectTimeoutUs: cfg.connectTimeoutUs ?? 0,
      readTimeoutUs: cfg.readTimeoutUs ?? 0,
      responseTimeoutUs: cfg.responseTimeoutUs ?? 0,
      // A count alone bounds the run: once every connection slot failed in a row, it gives up.
      giveUpAfter: cfg.durationUs > 0 ? 0 : cfg.connections,
      open: open !== null,
      maxConcurrent: open?.maxConcurrent ?? Infinity,
    });
    if (open !== null) {
      const schedule = new Schedule(open.stages);
      const rng = open.poisson ? new Prng(open.seed) : null;
      const client = this.client;
      this.arrivals =
        open.cps > 0
          ? new Arrivals(open.cps, schedule, rng, (at) => {
              this.owedReqs += open.perConn;
              const n = Math.floor(this.owedReqs);
              this.owedReqs -= n;
              client.arriveConn(at, n);
            })
          : new Arrivals(cfg.rate, schedule, rng, (at) => client.arriveRequest(at));
    }
  }

  /**
   * Records every response time into `rec` too: on workers, each records into
   * its own region of the shared HDR histograms and management merges them
   * (the counts add), for the whole run and, by difference, per interval.
   */
  mirrorLatency(rec: HdrRecorder): void {
    this.mirror = rec;
  }

  start(): void {
    this.startUs = this.clock.nowUs();
    this.pacer?.tick(this.startUs);
    this.arrivals?.start(this.startUs);
    this.client.start();
  }

  /** From the poll loop: pacing, and the time bound (no new requests past it). */
  tick(nowUs: number): void {
    this.pacer?.tick(nowUs);
    this.arrivals?.run(nowUs);
    this.client.tick(nowUs);
    if (!this.stopped && this.durationUs > 0 && nowUs - this.startUs >= this.durationUs) this.stop();
  }

  /** No new requests; connections close as their answers arrive. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    // Connections still opening close at once; the client counts them as cancelled.
    this.client.stop();
  }

  get done(): boolean {
    return this.client.done;
  }

  /** Microseconds from start to the last close (or to now while running). */
  elapsedUs(): number {
    return (this.endUs >= 0 ? this.endUs : this.clock.nowUs()) - this.startUs;
  }

  snapshot(): LoadSnapshot {
    const s = this.client.stats;
    const c = this.client;
    return {
      us: this.clock.nowUs(),
      attempts: s.attempts,
      connects: s.connects,
      connectFailures: s.connectFailures,
      cancelled: s.cancelled,
      opening: c.opening,
      requests: s.requests,
      responses: s.responses,
      failedRequests: s.failedRequests,
      inFlight: c.inFlight,
      failures: Array.from(s.failures),
      status: Array.from(s.statusClass),
      bodyBytes: s.bodyBytes,
      verifyOk: s.verifyOk,
      verifyFailed: s.verifyFailed,
      arrivals: s.arrivals,
      dropped: s.dropped,
      peakOpen: s.peakOpen,
    };
  }

  /** Response times since the last call. */
  takeInterval(): Histogram {
    const h = this.interval;
    this.interval = new Histogram(LATENCY_PARAMS);
    return h;
  }
}
