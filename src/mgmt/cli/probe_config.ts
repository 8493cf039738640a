/**
 * `--client tcp://IP:PORT`, `udp://IP:PORT` and `icmp://IP`: the connect-rate
 * and datagram modes' options, parsed into the one-flow profile they describe.
 * Options of the HTTP client that mean nothing here are refused by name.
 */
import { InvalidOptionError, InvalidProfileError } from '../../common/errors.js';
import { PROBE_HDR } from '../../engine/probe.js';
import type { ModePlan } from '../../run/plan.js';
import type { Profile } from '../../run/profile.js';
import { checkProfile } from '../../run/profile_check.js';
import { DEFAULT_DATAGRAM_PAYLOAD, probePlanOf } from '../../run/probe_profile.js';
import { UDP_MAX_PAYLOAD } from '../../net/udp.js';
import { parseIp } from '../../wire/ipv4_addr.js';
import type { RawRunOptions } from './stack_config.js';

/** The schemes this file parses. */
export const PROBE_SCHEMES = /^(tcp|udp|icmp):\/\//;

/** HTTP client options, by the RawRunOptions field and the flag's name. */
const HTTP_ONLY: [keyof RawRunOptions, string][] = [
  ['keepalive', '--keepalive'], ['connPerRequest', '--conn-per-request'], ['requestsPerConn', '--requests-per-conn'], ['pipeline', '--pipeline'],
  ['method', '--method'], ['bodyFile', '--body-file'], ['saveBody', '--save-body'], ['sha256', '--sha256'], ['expectSha256', '--expect-sha256'],
  ['sni', '--sni'], ['insecure', '--insecure'], ['ca', '--ca'], ['tlsVersion', '--tls-version'], ['tlsEngine', '--tls-engine'],
];

function int(option: string, text: string, min: number, max: number, whole = text): number {
  const t = text.trim();
  const n = /^\d+$/.test(t) ? Number(t) : NaN;
  if (!(n >= min && n <= max)) throw new InvalidOptionError(option, `"${whole}": ${t === '' ? 'missing number' : `"${t}" is not an integer in ${min}..${max}`}`);
  return n;
}

function positive(option: string, text: string, what: string): number {
  const v = Number(text);
  if (!Number.isFinite(v) || v <= 0) throw new InvalidOptionError(option, `"${text}" is not a positive number of ${what}`);
  return v;
}

/**
 * The one-flow profile `--client tcp://`, `udp://` or `icmp://` and its flags
 * describe, and its plan (probe_profile.ts): --connections (at once), --rate
 * (connections per second, an open model capped at --connections; datagrams
 * per second), --requests (connections or datagrams in all), --close and
 * --payload-size.
 */
export function parseProbeClient(o: RawRunOptions, durationS: number): ModePlan {
  const url = o.client ?? '';
  const m = /^(tcp|udp|icmp):\/\/(\d+\.\d+\.\d+\.\d+)(?::(\d+))?\/?$/.exec(url);
  if (m === null) throw new InvalidOptionError('--client', `"${url}" is not tcp://IPv4:port, udp://IPv4:port or icmp://IPv4`);
  const scheme = m[1] as 'tcp' | 'udp' | 'icmp';
  if (parseIp(m[2]) < 0) throw new InvalidOptionError('--client', `"${m[2]}" is not an IPv4 address`);
  if (scheme === 'icmp' && m[3] !== undefined) throw new InvalidOptionError('--client', `"${url}": ICMP has no port`);
  if (scheme !== 'icmp' && m[3] === undefined) throw new InvalidOptionError('--client', `"${url}" needs a port`);
  const dstPort = m[3] === undefined ? undefined : int('--client', m[3], 1, 65535, url);
  for (const [k, flag] of HTTP_ONLY) if (o[k] !== undefined && o[k] !== false) throw new InvalidOptionError(flag, `is an option of http:// and https:// clients, not ${scheme}://`);
  // Without a count or a duration, one connection or datagram (as ab and ping -c 1 do).
  const requests = o.requests !== undefined ? int('--requests', o.requests, 1, 2 ** 50) : durationS > 0 ? 0 : 1;
  const flow: Record<string, unknown> = { name: 'flow0', dst_ip: m[2], proto: scheme, ...(dstPort !== undefined ? { dst_port: dstPort } : {}) };
  if (o.dscp !== undefined) flow.dscp = int('--dscp', o.dscp, 0, 63);
  const load: Record<string, unknown> = { requests, duration_secs: durationS };
  if (scheme === 'tcp') {
    const close = o.close ?? 'fin';
    if (close !== 'fin' && close !== 'rst') throw new InvalidOptionError('--close', `"${close}" is not fin or rst`);
    flow.close = close;
    flow.payload_size = o.payloadSize === undefined ? 0 : int('--payload-size', o.payloadSize, 0, 2 ** 40);
    const connections = o.connections === undefined ? 1 : int('--connections', o.connections, 1, 1 << 24);
    if (o.rate === undefined) Object.assign(load, { model: 'closed', connections });
    else Object.assign(load, { model: 'open', target_cps: positive('--rate', o.rate, 'connections per second'), max_concurrent: connections });
  } else {
    if (o.close !== undefined) throw new InvalidOptionError('--close', `is an option of tcp:// clients, not ${scheme}://`);
    if (o.connections !== undefined) throw new InvalidOptionError('--connections', `is an option of connection clients, not ${scheme}://`);
    flow.payload_size = o.payloadSize === undefined ? DEFAULT_DATAGRAM_PAYLOAD : int('--payload-size', o.payloadSize, PROBE_HDR, UDP_MAX_PAYLOAD);
    // One a second by default, as ping sends.
    load.target_rps = o.rate === undefined ? 1 : positive('--rate', o.rate, 'datagrams per second');
  }
  const raw = { flows: [flow], load, ...(o.seed !== undefined ? { seed: int('--seed', o.seed, 0, 2 ** 32 - 1) } : {}) };
  let profile: Profile;
  try {
    profile = checkProfile(raw, 'command line');
  } catch (e) {
    // The flags were checked one by one above: what the profile adds is told by --client.
    if (e instanceof InvalidProfileError) throw new InvalidOptionError('--client', e.message.replace(/^command line: \S+: /, ''));
    throw e;
  }
  return { ...probePlanOf(profile, 'command line'), profile };
}
