/**
 * The traffic profile: one JSON document that says what a run sends (the
 * architecture's config: flows, the load model, TLS, the seed). Its JSON
 * Schema is generated from these TypeBox types (`vaigai schema` prints it, for
 * editors); the command line builds a one-flow profile, so a run from flags
 * and a run from `--config FILE` take the same path. Field names are the
 * architecture's (snake_case), extended.
 */
import { Type, type Static } from '@sinclair/typebox';

const Ipv4 = Type.String({
  pattern: '^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$',
  description: 'dotted-quad IPv4 address',
});
const seconds = (description: string) => Type.Number({ minimum: 0, maximum: 31_536_000, default: 0, description });
const PositiveRate = Type.Number({ exclusiveMinimum: 0, maximum: 1e9 });

export const RequestEntry = Type.Object(
  {
    method: Type.String({ pattern: '^[A-Z]+$', default: 'GET', description: 'a request method in capitals' }),
    url: Type.String({ pattern: '^/[^\\s]*$', default: '/', description: 'a request target: a path starting with /, with its query, no spaces' }),
    weight: Type.Number({ exclusiveMinimum: 0, default: 1, description: 'share of the requests of its flow' }),
    body_size: Type.Integer({ minimum: 0, maximum: 1 << 30, default: 0, description: 'request body bytes (a repeating pattern), sent with Content-Length' }),
    body_file: Type.Optional(Type.String({ minLength: 1, description: 'request body from this file (instead of body_size)' })),
  },
  { additionalProperties: false },
);

export const Flow = Type.Object(
  {
    name: Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$', description: 'a name of 1-64 letters, digits, _ . or -: it names the flow in counters and reports' }),
    weight: Type.Number({ exclusiveMinimum: 0, default: 1, description: 'share of the connections (and requests) of the run' }),
    src_ip_lo: Type.Optional(Ipv4),
    src_ip_hi: Type.Optional(Ipv4),
    src_prefix_len: Type.Integer({ minimum: 1, maximum: 32, default: 24, description: 'the subnet of the source range' }),
    dst_ip: Ipv4,
    dst_port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535, description: 'required but for icmp flows' })),
    vlan_id: Type.Integer({ minimum: 0, maximum: 4094, default: 0, description: '802.1Q VLAN of the flow: its source range must be owned on it (--src-ip A-B@N); 0: as owned' }),
    cc: Type.Optional(Type.Union([Type.Literal('newreno'), Type.Literal('cubic')], { description: "its connections' congestion control (default: the run's --cc, cubic)" })),
    dscp: Type.Integer({ minimum: 0, maximum: 63, default: 0, description: 'DSCP (RFC 2474) of every packet of the flow\'s connections' }),
    proto: Type.Union([Type.Literal('http'), Type.Literal('https'), Type.Literal('tcp'), Type.Literal('udp'), Type.Literal('icmp')], { default: 'http' }),
    enable_tls: Type.Boolean({ default: false, description: 'TLS on this flow (implied by proto https)' }),
    requests: Type.Array(RequestEntry, { default: [{ method: 'GET', url: '/', weight: 1, body_size: 0 }] }),
    headers: Type.Record(Type.String({ pattern: '^[!#$%&\'*+.^_`|~0-9A-Za-z-]+$' }), Type.String({ pattern: '^[^\\r\\n]*$' }), { default: {} }),
    requests_per_conn: Type.Integer({ minimum: 0, maximum: 2 ** 40, default: 0, description: '0: keep-alive until the end' }),
    pipeline: Type.Integer({ minimum: 1, maximum: 1024, default: 1 }),
    think_time_ms: Type.Number({ minimum: 0, maximum: 3_600_000, default: 0 }),
    close: Type.Union([Type.Literal('fin'), Type.Literal('rst')], { default: 'fin', description: 'how a tcp flow ends its connections' }),
    payload_size: Type.Integer({ minimum: 0, maximum: 2 ** 40, default: 0, description: 'tcp: bytes written on each connection before it closes; udp and icmp: bytes per datagram (16..1472, default 64)' }),
  },
  { additionalProperties: false },
);

export const Stage = Type.Object(
  {
    duration_secs: Type.Number({ exclusiveMinimum: 0, maximum: 31_536_000 }),
    target: Type.Number({ minimum: 0, maximum: 1000, description: 'the targets are scaled by this at the end of the stage' }),
    from: Type.Optional(
      Type.Number({ minimum: 0, maximum: 1000, description: "the scale at the start of the stage (default: the previous stage's target; the first stage holds its target)" }),
    ),
  },
  { additionalProperties: false },
);

export const Load = Type.Object(
  {
    model: Type.Union([Type.Literal('open'), Type.Literal('closed')], { default: 'closed' }),
    target_cps: Type.Optional(PositiveRate),
    target_rps: Type.Optional(PositiveRate),
    connections: Type.Integer({ minimum: 1, maximum: 1 << 24, default: 1, description: 'closed model: connections (virtual users), each looping requests' }),
    max_concurrent: Type.Integer({ minimum: 1, maximum: 1 << 24, default: 65536, description: 'open model: connections at once; an arrival beyond is dropped and counted' }),
    arrivals: Type.Union([Type.Literal('constant'), Type.Literal('poisson')], { default: 'constant' }),
    requests: Type.Integer({ minimum: 0, maximum: 2 ** 50, default: 0, description: 'requests in all; 0: as the duration allows' }),
    ramp_up_secs: seconds('shorthand for a first stage from 0 to the targets'),
    duration_secs: seconds('shorthand for a stage at the targets'),
    ramp_down_secs: seconds('shorthand for a last stage from the targets to 0'),
    stages: Type.Optional(Type.Array(Stage, { minItems: 1 })),
  },
  { additionalProperties: false },
);

export const TlsSettings = Type.Object(
  {
    version: Type.Optional(Type.Union([Type.Literal('1.2'), Type.Literal('1.3')])),
    sni: Type.Optional(Type.String({ minLength: 1, maxLength: 253 })),
    verify: Type.Boolean({ default: true }),
    ca: Type.Optional(Type.String({ minLength: 1, description: 'PEM CA bundle to verify servers with' })),
    engine: Type.Optional(Type.Union([Type.Literal('native'), Type.Literal('node')])),
    resume: Type.Boolean({ default: false, description: 'resume sessions (tickets and IDs) on new connections to the same server; off: every handshake is a full one' }),
  },
  { additionalProperties: false },
);

export const Profile = Type.Object(
  {
    flows: Type.Array(Flow, { minItems: 1, maxItems: 1024 }),
    load: Load,
    tls: Type.Unsafe<Static<typeof TlsSettings>>({ ...TlsSettings, default: {} }),
    seed: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 2 ** 32 - 1, description: 'the same seed repeats the run: flows, URLs, source addresses and ports, arrivals, payloads (without: picks from seed 1, source ports from a random start per run)' }),
    ),
    thresholds: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 200, description: 'a pass criterion checked at the end of the run, e.g. "http.p99<5ms", "errors<0.1%", "rps>9000" (README, Thresholds)' }), { maxItems: 64 }),
    ),
  },
  { additionalProperties: false, title: 'vaigAI traffic profile' },
);

export type RequestEntry = Static<typeof RequestEntry>;
export type Flow = Static<typeof Flow>;
export type Stage = Static<typeof Stage>;
export type Load = Static<typeof Load>;
export type TlsSettings = Static<typeof TlsSettings>;
export type Profile = Static<typeof Profile>;

/**
 * The schema for editors: a field with a default may be left out of a
 * profile (the loader fills it in), so it is not listed as required.
 */
export function editorSchema(): Record<string, unknown> {
  const strip = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(strip);
    if (v === null || typeof v !== 'object') return v;
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) o[k] = strip(x);
    const props = o.properties as Record<string, { default?: unknown }> | undefined;
    if (Array.isArray(o.required) && props !== undefined) {
      o.required = (o.required as string[]).filter((k) => props[k]?.default === undefined);
      if ((o.required as string[]).length === 0) delete o.required;
    }
    return o;
  };
  return { $schema: 'http://json-schema.org/draft-07/schema#', ...(strip(Profile) as Record<string, unknown>) };
}
