/**
 * Loads and checks a traffic profile: the JSON Schema from the TypeBox types
 * first (unknown fields, types, ranges; defaults filled in), then what a
 * schema cannot say (a source range that ends before it starts or spans
 * subnets, addresses a host cannot use, a request rate below the connection
 * rate, a run with no end, a threshold that does not parse...). A profile is
 * refused whole, before any traffic, with the JSON pointer (RFC 6901) of the
 * field at fault.
 */
import { readFileSync } from 'node:fs';
import { Value } from '@sinclair/typebox/value';
import type { TSchema } from '@sinclair/typebox';
import { InvalidProfileError } from '../common/errors.js';
import { ipToString, parseIp, prefixMask } from '../wire/ipv4_addr.js';
import { Flow, Profile, type Stage } from './profile.js';
import { parseThresholds } from './threshold.js';

/** Errors listed in one refusal, at most. */
const MAX_ERRORS = 8;

/** Each flow field's default, as the schema gives it. */
const FLOW_DEFAULTS = Object.fromEntries(Object.entries(Flow.properties).map(([k, s]) => [k, (s as TSchema).default])) as Partial<Record<keyof Flow, unknown>>;

/** Why an address cannot be a host's (RFC 1122 §3.2.1.3): null for a unicast one. */
export function notUnicast(ip: number): string | null {
  const top = ip >>> 24;
  if (top === 0) return 'in 0.0.0.0/8 ("this network")';
  if (top === 127) return 'loopback';
  if (top >= 224 && top <= 239) return 'multicast';
  if (ip >>> 0 === 0xffffffff) return 'the broadcast address';
  if (top >= 240) return 'reserved (240.0.0.0/4)';
  return null;
}

/** A schema error's text, with the choices of a union of literals spelled out. */
function describe(message: string, schema: TSchema): string {
  const choices = (schema.anyOf as TSchema[] | undefined)?.map((s) => s.const).filter((c) => c !== undefined);
  if (choices !== undefined && choices.length > 0) return `expected one of ${choices.map((c) => JSON.stringify(c)).join(', ')}`;
  if (schema.pattern !== undefined && typeof schema.description === 'string' && message.startsWith('Expected string to match')) return `expected ${schema.description}`;
  if (message === 'Expected required property') return 'required';
  return message.charAt(0).toLowerCase() + message.slice(1);
}

/** The profile in `raw` (parsed JSON), checked whole; throws InvalidProfileError naming the field. */
export function checkProfile(raw: unknown, source = 'profile'): Profile {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new InvalidProfileError('', 'a profile is a JSON object', source);
  const value = Value.Default(Profile, structuredClone(raw)) as unknown;
  const errors = [...Value.Errors(Profile, value)];
  if (errors.length > 0) {
    // The deepest error first: a bad field inside a flow says more than "flows[0] is not a Flow".
    errors.sort((a, b) => b.path.split('/').length - a.path.split('/').length);
    const first = errors[0];
    const more = errors.slice(1, MAX_ERRORS).filter((e) => e.path !== first.path).map((e) => `; ${e.path}: ${describe(e.message, e.schema)}`);
    throw new InvalidProfileError(first.path, describe(first.message, first.schema) + more.join(''), source);
  }
  const p = value as Profile;
  checkFlows(p, raw as Record<string, unknown>, source);
  checkLoad(p, source);
  parseThresholds(p.thresholds ?? [], (i) => `${source}: /thresholds/${i}`);
  return p;
}

function checkFlows(p: Profile, raw: Record<string, unknown>, source: string): void {
  const fail = (ptr: string, why: string): never => {
    throw new InvalidProfileError(ptr, why, source);
  };
  const rawFlows = raw.flows as Record<string, unknown>[];
  const names = new Map<string, number>();
  p.flows.forEach((f, i) => {
    const at = `/flows/${i}`;
    const seen = names.get(f.name);
    if (seen !== undefined) fail(`${at}/name`, `"${f.name}" is flow ${seen}'s name already`);
    names.set(f.name, i);
    if ((f.src_ip_lo === undefined) !== (f.src_ip_hi === undefined)) fail(`${at}/${f.src_ip_lo === undefined ? 'src_ip_lo' : 'src_ip_hi'}`, 'give src_ip_lo and src_ip_hi together');
    if (f.src_ip_lo !== undefined && f.src_ip_hi !== undefined) {
      const lo = parseIp(f.src_ip_lo);
      const hi = parseIp(f.src_ip_hi);
      if (hi < lo) fail(`${at}/src_ip_hi`, `${f.src_ip_hi} is below src_ip_lo ${f.src_ip_lo}`);
      for (const [field, ip] of [['src_ip_lo', lo], ['src_ip_hi', hi]] as const) {
        const why = notUnicast(ip);
        if (why !== null) fail(`${at}/${field}`, `${ipToString(ip)} is ${why}, not an address a host may own`);
      }
      const mask = prefixMask(f.src_prefix_len);
      if (((lo & mask) >>> 0) !== ((hi & mask) >>> 0)) fail(`${at}/src_ip_hi`, `${f.src_ip_lo}-${f.src_ip_hi} spans more than one /${f.src_prefix_len} subnet (src_prefix_len)`);
      if (lo < 0x7f000000 && hi > 0x7fffffff) fail(`${at}/src_ip_hi`, 'the range spans 127.0.0.0/8 (loopback)');
    }
    const dstWhy = notUnicast(parseIp(f.dst_ip));
    if (dstWhy !== null) fail(`${at}/dst_ip`, `${f.dst_ip} is ${dstWhy}`);
    const web = f.proto === 'http' || f.proto === 'https';
    if (f.proto !== 'icmp' && f.dst_port === undefined) fail(`${at}/dst_port`, `a ${f.proto} flow needs a destination port`);
    if (f.proto === 'icmp' && f.dst_port !== undefined) fail(`${at}/dst_port`, 'an icmp flow has no port');
    if (!web && f.enable_tls && f.proto !== 'tcp') fail(`${at}/enable_tls`, `TLS runs over tcp, not ${f.proto}`);
    // A field another proto's flows use is refused when set to anything but its default (a saved profile writes every default).
    const rf = rawFlows[i];
    const given = (k: keyof Flow): boolean => rf[k] !== undefined && JSON.stringify(rf[k]) !== JSON.stringify(FLOW_DEFAULTS[k]);
    for (const k of ['requests', 'headers', 'requests_per_conn', 'pipeline'] as const) {
      if (!web && given(k)) fail(`${at}/${k}`, `only http and https flows send requests (this flow is ${f.proto})`);
    }
    if (web && f.requests.length === 0) fail(`${at}/requests`, 'an http flow needs at least one request entry');
    if (!web && f.proto !== 'tcp' && given('close')) fail(`${at}/close`, `only tcp flows close connections (this flow is ${f.proto})`);
    if ((f.proto === 'udp' || f.proto === 'icmp') && given('think_time_ms')) fail(`${at}/think_time_ms`, `${f.proto} sends at the load's rate; think time is for connections`);
    if (f.proto === 'https') f.enable_tls = true;
    f.requests.forEach((r, j) => {
      if (r.body_size > 0 && (r.method === 'GET' || r.method === 'HEAD')) fail(`${at}/requests/${j}/body_size`, `a ${r.method} request has no body`);
      if (r.body_size > 0 && r.body_file !== undefined) fail(`${at}/requests/${j}/body_file`, 'give body_size or body_file, not both');
    });
    // The default a saved profile carries (--save-config, `save`) is as good as left out.
    if (p.load.target_cps !== undefined && p.load.target_rps !== undefined && given('requests_per_conn')) {
      fail(`${at}/requests_per_conn`, 'with load.target_cps and load.target_rps both set, connections carry target_rps / target_cps requests: leave requests_per_conn out');
    }
  });
}

function checkLoad(p: Profile, source: string): void {
  const l = p.load;
  const fail = (ptr: string, why: string): never => {
    throw new InvalidProfileError(ptr, why, source);
  };
  if (l.model === 'open' && l.target_cps === undefined && l.target_rps === undefined) fail('/load/model', 'the open model needs load.target_cps or load.target_rps');
  if (l.model === 'closed' && l.target_cps !== undefined) fail('/load/target_cps', 'the closed model holds load.connections open; a connection rate is the open model\'s (model: "open")');
  if (l.target_cps !== undefined && l.target_rps !== undefined && l.target_rps < l.target_cps) {
    fail('/load/target_rps', `${l.target_rps} requests/s cannot carry ${l.target_cps} connections/s: each connection sends at least one request`);
  }
  const shorthand = l.ramp_up_secs + l.duration_secs + l.ramp_down_secs;
  if (l.stages !== undefined && shorthand > 0) fail('/load/stages', 'give stages, or the ramp_up_secs/duration_secs/ramp_down_secs shorthand, not both');
  if (l.stages === undefined && shorthand === 0 && l.requests === 0) fail('/load/duration_secs', 'a run needs an end: duration_secs (or stages, or a ramp) or a request count (load.requests)');
  const rates = p.flows.some((f) => f.proto === 'udp' || f.proto === 'icmp');
  if (rates && l.target_rps === undefined) fail('/load/target_rps', 'udp and icmp flows send at load.target_rps (packets per second)');
  if (l.max_concurrent < 1) fail('/load/max_concurrent', 'at least 1');
}

/** The load's stages: its own, or the ramp-up / duration / ramp-down shorthand as stages. */
export function stagesOf(p: Profile): Stage[] {
  const l = p.load;
  if (l.stages !== undefined) return l.stages;
  const out: Stage[] = [];
  if (l.ramp_up_secs > 0) out.push({ duration_secs: l.ramp_up_secs, from: 0, target: 1 });
  if (l.duration_secs > 0) out.push({ duration_secs: l.duration_secs, target: 1 });
  if (l.ramp_down_secs > 0) out.push({ duration_secs: l.ramp_down_secs, target: 0 });
  return out;
}

/** The load's length in seconds: its stages' (0: bounded by its request count alone). */
export function profileSeconds(p: Profile): number {
  return stagesOf(p).reduce((t, s) => t + s.duration_secs, 0);
}

/** A profile file (JSON), checked; an unreadable or malformed file is refused by `option`. */
export function loadProfile(path: string, option = '--config'): Profile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new InvalidProfileError('', `cannot read: ${(e as Error).message}`, `${option} ${path}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new InvalidProfileError('', `not JSON: ${(e as Error).message}`, `${option} ${path}`);
  }
  return checkProfile(raw, `${option} ${path}`);
}
