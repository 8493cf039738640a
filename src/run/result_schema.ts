/**
 * The run's result (what `--json FILE` writes at the end, the `result` event
 * of `--out ndjson=`, what reports render): TypeBox types, so that the
 * producers and readers of the object share one shape and a saved result can
 * be checked (`Value.Check(RunResult, x)`). Latencies are µs; `hdr` is the
 * HdrHistogram V2 compressed encoding ("HISTF..." in base64) of the phase's
 * histogram, which HdrHistogram's own tools decode.
 */
import { Type, type Static } from '@sinclair/typebox';

const Counts = Type.Record(Type.String(), Type.Number());

export const PhaseStats = Type.Object({
  unit: Type.Literal('us'),
  count: Type.Number(),
  min: Type.Number(),
  mean: Type.Number(),
  p50: Type.Number(),
  p90: Type.Number(),
  p99: Type.Number(),
  p999: Type.Number(),
  max: Type.Number(),
  hdr: Type.String({ description: 'HdrHistogram V2 compressed encoding, base64' }),
});
export type PhaseStats = Static<typeof PhaseStats>;

/** Phase name -> its figures; a phase that did not occur is absent. */
export const PhaseMap = Type.Record(Type.String(), PhaseStats);
export type PhaseMap = Static<typeof PhaseMap>;

/** See WireClock: kernel stamps at both ends, the kernel's receive stamp only, or the poll loop's clock. */
export const ClockKind = Type.Union([Type.Literal('stack'), Type.Literal('kernel-rx'), Type.Literal('kernel')]);

export const ResultMeta = Type.Object({
  tool: Type.Literal('vaigai'),
  version: Type.String(),
  startedAt: Type.String({ description: 'ISO 8601' }),
  endedAt: Type.String({ description: 'ISO 8601' }),
  argv: Type.Array(Type.String()),
  host: Type.Object({ hostname: Type.String(), cpus: Type.Number(), node: Type.String(), kernel: Type.String() }),
  /** Which clock each phase was measured with. */
  clocks: Type.Record(Type.String(), ClockKind),
});
export type ResultMeta = Static<typeof ResultMeta>;

export const FlowResult = Type.Object({ name: Type.String(), counters: Counts, phases: PhaseMap });
export type FlowResult = Static<typeof FlowResult>;

/** One second's interval figures of a phase. */
export const IntervalLatency = Type.Object({ count: Type.Number(), p50: Type.Number(), p90: Type.Number(), p99: Type.Number(), max: Type.Number() });
export type IntervalLatency = Static<typeof IntervalLatency>;

/** A flow's part of a series entry (loads of several flows): its counters' change over the second and its phases' interval. */
export const FlowSeriesEntry = Type.Object({
  name: Type.String(),
  requests: Type.Number(),
  responses: Type.Number(),
  connects: Type.Number(),
  connectFailures: Type.Number(),
  failedRequests: Type.Number(),
  /** Open model: arrivals dropped at the concurrency cap. */
  dropped: Type.Number(),
  /** Its responses and connects per second over the entry's span. */
  rps: Type.Number(),
  cps: Type.Number(),
  latency: Type.Record(Type.String(), IntervalLatency),
});
export type FlowSeriesEntry = Static<typeof FlowSeriesEntry>;

/** One elapsed second (the last entry may be shorter: up to the end of the run); the counts sum to the run's totals. */
export const SeriesEntry = Type.Object({
  /** Seconds since the start: 1, 2, ... */
  t: Type.Number(),
  requests: Type.Number(),
  responses: Type.Number(),
  connects: Type.Number(),
  /** Responses and connects per second over the entry's span. */
  rps: Type.Number(),
  cps: Type.Number(),
  /** Connections open at the end of the second. */
  concurrency: Type.Number(),
  /** Wire bytes (the port's frames). */
  bytesIn: Type.Number(),
  bytesOut: Type.Number(),
  /** Failures by reason in that second (non-zero ones). */
  errors: Counts,
  latency: Type.Record(Type.String(), IntervalLatency),
  /** Each flow's part, in the profile's order, when the load has several (they sum to the entry's counts). */
  flows: Type.Optional(Type.Array(FlowSeriesEntry)),
});
export type SeriesEntry = Static<typeof SeriesEntry>;

export const ThresholdResult = Type.Object({
  expr: Type.String(),
  metric: Type.String(),
  op: Type.Union([Type.Literal('<'), Type.Literal('<='), Type.Literal('>'), Type.Literal('>='), Type.Literal('==')]),
  limit: Type.Number(),
  value: Type.Union([Type.Number(), Type.Null()]),
  ok: Type.Boolean(),
});
export type ThresholdResult = Static<typeof ThresholdResult>;

const Group = Type.Union([Counts, Type.Null()]);

/** A TCP sender quantity's distribution over the run (cwnd in bytes, SRTT in µs), sampled every eighth RTT measurement. */
export const TcpDistribution = Type.Pick(PhaseStats, ['count', 'p50', 'p90', 'p99', 'max', 'hdr']);
export type TcpDistribution = Static<typeof TcpDistribution>;
export const TcpSenders = Type.Object({ cwnd: TcpDistribution, srttUs: TcpDistribution });
export type TcpSenders = Static<typeof TcpSenders>;

export const RunResult = Type.Object({
  // The keys the live --json file always had.
  seconds: Type.Number(),
  workers: Type.Number(),
  counters: Counts,
  port: Counts,
  tcp: Group,
  udp: Group,
  app: Type.Unknown(),
  loop: Counts,
  perWorker: Type.Array(Type.Unknown()),
  // The result proper.
  meta: ResultMeta,
  /** The traffic profile as --save-config writes it; absent for server and listener runs. */
  profile: Type.Optional(Type.Unknown()),
  phases: PhaseMap,
  flows: Type.Array(FlowResult),
  series: Type.Array(SeriesEntry),
  thresholds: Type.Optional(Type.Array(ThresholdResult)),
  /** The TCP senders' cwnd and SRTT, when a connection sent data. */
  tcpSenders: Type.Optional(TcpSenders),
});
export type RunResult = Static<typeof RunResult>;
