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
import { Http1Client, type ConnBudget } from '../app/http11/client.js';
import { splitByWeight, WeightedPick } from '../common/weighted.js';
import type { RequestSpec } from '../app/http11/request.js';
import type { StreamTransport } from '../net/tcp/stream.js';
import { Histogram, type HdrParams } from '../telemetry/histogram.js';
import type { PhaseRecorder } from '../telemetry/phases.js';
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
  /** Stages scaling the targets: the open model's rates, the closed model's connections and rate; absent: none. */
  stages?: StageSpan[];
  /** Several flows, each its own destination, sources and requests; absent: one, from the fields above. */
  flows?: LoadFlow[];
  /** Seeds the picks of flows and requests and the Poisson arrivals (default 1). */
  seed?: number;
  /**
   * Where each flow's phase times go: on workers, their region of the shared
   * phase histograms, which management merges (for the whole run and, by
   * difference, per interval); absent: nowhere.
   */
  phases?: PhaseRecorder;
}

/** A flow of the load: picked by `weight` (arrivals in the open model; a share of the connections and requests in the closed one). */
export interface LoadFlow {
  name: string;
  weight: number;
  /** Its source addresses srcLo..srcHi, used in turn (0, 0: any owned address). */
  srcLo: number;
  srcHi: number;
  dstIp: number;
  dstPort: number;
  /** DSCP of its packets (RFC 2474), 0..63. */
  dscp: number;
  /** Its connections' congestion controller (CC_* of reno.ts), -1: the TCP layer's default. */
  cc: number;
  host: string;
  requests: RequestSpec[];
  /** Each request entry's weight. */
  weights: number[];
  pipeline: number;
  requestsPerConnection: number;
  /** A pause between an answer and the connection's next request, µs. */
  thinkTimeUs: number;
}

/** A flow's counters, and each of its request entries'. */
export interface FlowSnapshot {
  name: string;
  arrivals: number;
  dropped: number;
  attempts: number;
  connects: number;
  connectFailures: number;
  requests: number;
  responses: number;
  failedRequests: number;
  entries: { requests: number; responses: number }[];
}

/** Targets changed while a load runs (each worker gets its share); absent: unchanged. */
export interface LiveTargets {
  cps?: number;
  rps?: number;
  /** The closed model's connections. */
  connections?: number;
  /** The open model's concurrency cap. */
  maxConcurrent?: number;
}

/** retarget()'s answer when the load has no such target (an ack rc beside the loop's own). */
export const LIVE_NOT_APPLICABLE = -16;

/** The open model's arrivals: requests at `rate`, or connections at `cps` carrying `perConn` requests on average. */
export interface OpenLoad {
  /** Connections per second; 0: arrivals are requests at `rate`. */
  cps: number;
  /** Requests per connection on average (cps arrivals; may be fractional). */
  perConn: number;
  maxConcurrent: number;
  poisson: boolean;
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
  /** One HTTP client per flow. */
  readonly clients: Http1Client[];
  readonly flows: LoadFlow[];
  /** Response times of the whole load (empty with `phases`: the shared response phase holds them). */
  readonly latency = new Histogram(LATENCY_PARAMS);
  /** Response times per flow (empty with `phases`: each flow's response phase holds them), and per request entry of each flow. */
  readonly flowLatency: Histogram[];
  readonly entryLatency: Histogram[][];
  readonly pacer: PacedTransport | null;
  /** sha256 of the last body, when asked for. */
  lastSha256: string | null = null;
  startUs = -1;
  endUs = -1;
  /** The most connections open at once, sampled every tick. */
  peakOpen = 0;

  /** Connections open (or opening) now, over every flow. */
  get openConns(): number {
    return this.budget.open;
  }
  private interval = new Histogram(LATENCY_PARAMS);
  private stopped = false;
  private readonly clock: Clock;
  private readonly durationUs: number;
  private readonly arrivals: Arrivals | null = null;
  private readonly budget: ConnBudget;
  private readonly schedule: Schedule;
  /** Closed model with stages: each flow's connections at scale 1, scaled every tick; else null. */
  private readonly scaledConns: number[] | null;
  private rate: number;
  /** The open model's arrivals (a copy: live changes move its figures), or null. */
  private readonly open: OpenLoad | null;
  /** The open model's arrivals are connections (target_cps), not requests. */
  private readonly arrivalsAreConns: boolean;
  /** The flows' weights, to share a live connection count among them. */
  private readonly weights: number[];
  /** Requests owed to connection arrivals (the fraction of perConn carried to the next). */
  private owedReqs = 0;

  constructor(cfg: LoadConfig) {
    if (cfg.totalRequests === 0 && cfg.durationUs === 0) throw new RangeError('a load needs a request count or a duration');
    this.clock = cfg.clock;
    this.durationUs = cfg.durationUs;
    const open = cfg.open === undefined ? null : { ...cfg.open };
    this.open = open;
    this.arrivalsAreConns = open !== null && open.cps > 0;
    this.pacer = cfg.rate > 0 && open === null ? new PacedTransport(cfg.transport, cfg.rate, cfg.maxConns) : null;
    const flows: LoadFlow[] = cfg.flows ?? [
      {
        name: 'flow0', weight: 1, srcLo: cfg.srcIp, srcHi: 0, dstIp: cfg.dstIp, dstPort: cfg.dstPort, dscp: 0, cc: -1, host: cfg.host,
        requests: [cfg.request], weights: [1], pipeline: cfg.pipeline, requestsPerConnection: cfg.requestsPerConnection, thinkTimeUs: 0,
      },
    ];
    if (flows.length === 0) throw new RangeError('a load needs a flow');
    this.flows = flows;
    const seed = cfg.seed ?? 1;
    this.budget = { open: 0, max: open?.maxConcurrent ?? Infinity };
    // The closed model shares its connections and its request count among the flows by weight.
    const weights = flows.map((f) => f.weight);
    this.weights = weights;
    const conns = open === null ? splitByWeight(cfg.connections, weights) : flows.map(() => 1);
    this.schedule = new Schedule(cfg.stages ?? []);
    // Stages that only hold the targets (a plain duration) scale nothing.
    this.scaledConns = open === null && (cfg.stages ?? []).some((st) => st.from !== 1 || st.to !== 1) ? conns : null;
    this.rate = cfg.rate;
    const totals = cfg.totalRequests > 0 && open === null ? splitByWeight(cfg.totalRequests, weights) : flows.map(() => (cfg.totalRequests > 0 ? cfg.totalRequests : Number.MAX_SAFE_INTEGER));
    // One flow's histogram is the total's, one entry's its flow's: each response time is recorded once per distinct histogram.
    const perFlow = flows.length > 1;
    this.flowLatency = flows.map(() => (perFlow ? new Histogram(LATENCY_PARAMS) : this.latency));
    this.entryLatency = flows.map((f, i) => (f.requests.length > 1 ? f.requests.map(() => new Histogram(LATENCY_PARAMS)) : [this.flowLatency[i]]));
    const onBody = cfg.onBody;
    // Both targets: a connection's requests are scheduled too, evenly within at most 1 s, so the request rate holds second by second.
    const gapUs = open !== null && open.cps > 0 && cfg.rate > 0 ? Math.min(1e6 / open.cps, 1e6 / open.perConn) : 0;
    const shared = cfg.phases !== undefined;
    this.clients = flows.map((f, i) => {
      const flowHist = perFlow ? this.flowLatency[i] : null;
      const entryHist = f.requests.length > 1 ? this.entryLatency[i] : null;
      return new Http1Client({
        transport: this.pacer ?? cfg.transport,
        clock: cfg.latencyClock ?? cfg.clock,
        srcIp: f.srcLo,
        srcIpHi: f.srcHi,
        dstIp: f.dstIp,
        dstPort: f.dstPort,
        connect: { tos: f.dscp << 2, cc: f.cc },
        host: f.host,
        // An expected digest makes the client verify; an empty one only makes it hash.
        requests: f.requests.map((r) => (cfg.expectSha256 !== null ? { ...r, sha256: cfg.expectSha256 } : cfg.sha256 ? { ...r, sha256: '' } : r)),
        weights: f.requests.length > 1 ? f.weights : null,
        rng: f.requests.length > 1 ? new Prng((seed * 0x9e3779b1 + i + 1) >>> 0) : null,
        connections: Math.max(1, conns[i]),
        pipeline: f.pipeline,
        requestsPerConnection: f.requestsPerConnection,
        totalRequests: conns[i] === 0 ? 0 : totals[i],
        keepBodies: cfg.keepBodies,
        // With shared phases (workers), those hold the load's and each flow's response times: not recorded twice,
        // and with one request entry, no digest and no bodies kept, nothing is left to do per response.
        onResponse:
          shared && entryHist === null && !cfg.sha256 && cfg.expectSha256 === null && !cfg.keepBodies
            ? null
            : (status, _bytes, rttUs, sha, body, entry) => {
                if (!shared) {
                  this.latency.record(rttUs);
                  this.interval.record(rttUs);
                  flowHist?.record(rttUs);
                }
                entryHist?.[entry].record(rttUs);
                if (sha !== null) this.lastSha256 = sha;
                if (body !== null && onBody !== null) onBody(status, body);
              },
        phases: cfg.phases?.sink(i) ?? null,
        onDone: () => {
          if (this.done) this.endUs = this.clock.nowUs();
        },
        connectTimeoutUs: cfg.connectTimeoutUs ?? 0,
        readTimeoutUs: cfg.readTimeoutUs ?? 0,
        responseTimeoutUs: cfg.responseTimeoutUs ?? 0,
        // A count alone bounds the run: once every connection slot failed in a row, it gives up.
        giveUpAfter: cfg.durationUs > 0 ? 0 : Math.max(1, conns[i]),
        open: open !== null,
        budget: this.budget,
        gapUs,
        thinkUs: f.thinkTimeUs,
      });
    });
    if (open !== null) {
      const schedule = this.schedule;
      const rng = new Prng(seed);
      const clients = this.clients;
      const pick = flows.length > 1 ? new WeightedPick(weights) : null;
      const flowOf = (): Http1Client => (pick === null ? clients[0] : clients[pick.pick(rng.next())]);
      this.arrivals =
        open.cps > 0
          ? new Arrivals(open.cps, schedule, open.poisson ? rng : null, (at) => {
              this.owedReqs += open.perConn;
              const n = Math.floor(this.owedReqs);
              this.owedReqs -= n;
              flowOf().arriveConn(at, n);
            })
          : new Arrivals(cfg.rate, schedule, open.poisson ? rng : null, (at) => flowOf().arriveRequest(at));
    }
  }

  /** The first flow's client (a one-flow load's). */
  get client(): Http1Client {
    return this.clients[0];
  }

  start(): void {
    this.startUs = this.clock.nowUs();
    this.scale(0);
    this.pacer?.tick(this.startUs);
    this.arrivals?.start(this.startUs);
    for (const c of this.clients) c.start();
  }

  /** From the poll loop: pacing, arrivals, and the time bound (no new requests past it). */
  tick(nowUs: number): void {
    if (this.scaledConns !== null) this.scale(nowUs - this.startUs);
    this.pacer?.tick(nowUs);
    this.arrivals?.run(nowUs);
    for (const c of this.clients) c.tick(nowUs);
    if (this.budget.open > this.peakOpen) this.peakOpen = this.budget.open;
    if (!this.stopped && this.durationUs > 0 && nowUs - this.startUs >= this.durationUs) this.stop();
  }

  /**
   * A live change of the targets (this worker's share of them): the open
   * model's connection or request rate, a connection's requests when both
   * rates are set, its concurrency cap; the closed model's request rate (a
   * paced load only) and connections. Returns 0, or LIVE_NOT_APPLICABLE when
   * the load has no such target (management checks first; a worker refuses
   * rather than guess).
   */
  retarget(t: LiveTargets): number {
    const open = this.open;
    const arrivals = this.arrivals;
    if (open !== null && arrivals !== null) {
      // Arrivals are connections (target_cps) or requests (target_rps alone), as the load started.
      const byConn = this.arrivalsAreConns;
      if (t.connections !== undefined || (t.cps !== undefined && !byConn)) return LIVE_NOT_APPLICABLE;
      if (t.cps !== undefined) {
        open.cps = t.cps;
        arrivals.setRate(t.cps);
      }
      if (t.rps !== undefined) {
        // Connection arrivals carry rps / cps requests each (a worker whose share is no connections keeps its figure).
        if (!byConn) arrivals.setRate(t.rps);
        else if (open.cps > 0) open.perConn = t.rps / open.cps;
        this.rate = t.rps;
      }
      if (t.maxConcurrent !== undefined) {
        open.maxConcurrent = t.maxConcurrent;
        this.budget.max = t.maxConcurrent;
      }
      return 0;
    }
    if (t.cps !== undefined || t.maxConcurrent !== undefined || (t.rps !== undefined && this.pacer === null)) return LIVE_NOT_APPLICABLE;
    if (t.rps !== undefined) {
      this.rate = t.rps;
      this.pacer?.setRate(this.scaledConns === null ? t.rps : t.rps * this.schedule.scaleAt(this.clock.nowUs() - this.startUs));
    }
    if (t.connections !== undefined) {
      const conns = splitByWeight(t.connections, this.weights);
      if (this.scaledConns !== null) {
        conns.forEach((n, i) => ((this.scaledConns as number[])[i] = n));
        if (this.startUs >= 0) this.scale(this.clock.nowUs() - this.startUs);
      } else {
        conns.forEach((n, i) => this.clients[i].setConnections(n));
      }
    }
    return 0;
  }

  /** The closed model's stages: each flow's connections, and the pacing rate, at the scale of `tUs` into the load. */
  private scale(tUs: number): void {
    const base = this.scaledConns;
    if (base === null) return;
    const k = this.schedule.scaleAt(tUs);
    for (let i = 0; i < base.length; i++) this.clients[i].setConnections(Math.round(base[i] * k));
    this.pacer?.setRate(this.rate * k);
  }

  /** No new requests; connections close as their answers arrive. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    // Connections still opening close at once; the client counts them as cancelled.
    for (const c of this.clients) c.stop();
  }

  /** The run is over: what is in flight stays so when the connections are torn down. */
  end(): void {
    for (const c of this.clients) c.end();
  }

  get done(): boolean {
    // Read every poll round: a loop, no closure.
    for (let i = 0; i < this.clients.length; i++) if (!this.clients[i].done) return false;
    return true;
  }

  /** Microseconds from start to the last close (or to now while running). */
  elapsedUs(): number {
    return (this.endUs >= 0 ? this.endUs : this.clock.nowUs()) - this.startUs;
  }

  /** Each failure reason's last message, from the first flow that has one. */
  lastFailure(): string[] {
    return this.client.stats.lastFailure.map((_, i) => this.clients.map((c) => c.stats.lastFailure[i]).find((m) => m !== '') ?? '');
  }

  /** The counters of every flow, summed. */
  snapshot(): LoadSnapshot {
    const out: LoadSnapshot = {
      us: this.clock.nowUs(), attempts: 0, connects: 0, connectFailures: 0, cancelled: 0, opening: 0, requests: 0, responses: 0,
      failedRequests: 0, inFlight: 0, failures: new Array<number>(this.client.stats.failures.length).fill(0), status: [0, 0, 0, 0, 0, 0],
      bodyBytes: 0, verifyOk: 0, verifyFailed: 0, arrivals: 0, dropped: 0, peakOpen: this.peakOpen,
    };
    for (const c of this.clients) {
      const s = c.stats;
      out.attempts += s.attempts;
      out.connects += s.connects;
      out.connectFailures += s.connectFailures;
      out.cancelled += s.cancelled;
      out.opening += c.opening;
      out.requests += s.requests;
      out.responses += s.responses;
      out.failedRequests += s.failedRequests;
      out.inFlight += c.inFlight;
      s.failures.forEach((n, i) => (out.failures[i] += n));
      s.statusClass.forEach((n, i) => (out.status[i] += n));
      out.bodyBytes += s.bodyBytes;
      out.verifyOk += s.verifyOk;
      out.verifyFailed += s.verifyFailed;
      out.arrivals += s.arrivals;
      out.dropped += s.dropped;
    }
    return out;
  }

  /** Each flow's counters. */
  flowSnapshots(): FlowSnapshot[] {
    return this.clients.map((c, i) => {
      const s = c.stats;
      return {
        name: this.flows[i].name, arrivals: s.arrivals, dropped: s.dropped, attempts: s.attempts, connects: s.connects, connectFailures: s.connectFailures,
        requests: s.requests, responses: s.responses, failedRequests: s.failedRequests,
        entries: Array.from(s.entryRequests, (n, j) => ({ requests: n, responses: s.entryResponses[j] })),
      };
    });
  }

  /** Response times since the last call. */
  takeInterval(): Histogram {
    const h = this.interval;
    this.interval = new Histogram(LATENCY_PARAMS);
    return h;
  }
}
