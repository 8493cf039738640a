/**
 * `--client tcp://IP:PORT`, `udp://IP:PORT` and `icmp://IP`: the connect-rate
 * and datagram modes' options, parsed into their plans. Options of the HTTP
 * client that mean nothing here are refused by name.
 */
import { InvalidOptionError } from '../../common/errors.js';
import { PROBE_HDR } from '../../engine/probe.js';
import type { ModePlan } from '../../run/plan.js';
import { UDP_MAX_PAYLOAD } from '../../net/udp.js';
import { parseIp } from '../../wire/ipv4_addr.js';
import type { RawRunOptions } from './stack_config.js';

/** The schemes this file parses. */
export const PROBE_SCHEMES = /^(tcp|udp|icmp):\/\//;

/** HTTP client options, by the RawRunOptions field and the flag's name. */
const HTTP_ONLY: [keyof RawRunOptions, string][] = [
  ['keepalive', '--keepalive'], ['connPerRequest', '--conn-per-request'], ['requestsPerConn', '--requests-per-conn'], ['pipeline', '--pipeline'], ['dscp', '--dscp'],
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

export function parseProbeClient(o: RawRunOptions, durationS: number): ModePlan {
  const url = o.client ?? '';
  const m = /^(tcp|udp|icmp):\/\/(\d+\.\d+\.\d+\.\d+)(?::(\d+))?\/?$/.exec(url);
  if (m === null) throw new InvalidOptionError('--client', `"${url}" is not tcp://IPv4:port, udp://IPv4:port or icmp://IPv4`);
  const scheme = m[1];
  const dstIp = parseIp(m[2]);
  if (dstIp < 0) throw new InvalidOptionError('--client', `"${m[2]}" is not an IPv4 address`);
  if (scheme === 'icmp' && m[3] !== undefined) throw new InvalidOptionError('--client', `"${url}": ICMP has no port`);
  if (scheme !== 'icmp' && m[3] === undefined) throw new InvalidOptionError('--client', `"${url}" needs a port`);
  const dstPort = m[3] === undefined ? 0 : int('--client', m[3], 1, 65535, url);
  for (const [k, flag] of HTTP_ONLY) if (o[k] !== undefined && o[k] !== false) throw new InvalidOptionError(flag, `is an option of http:// and https:// clients, not ${scheme}://`);
  // Without a count or a duration, one connection or datagram (as ab and ping -c 1 do).
  const requests = o.requests !== undefined ? int('--requests', o.requests, 1, 2 ** 50) : durationS > 0 ? 0 : 1;
  if (scheme === 'tcp') {
    const close = o.close ?? 'fin';
    if (close !== 'fin' && close !== 'rst') throw new InvalidOptionError('--close', `"${close}" is not fin or rst`);
    return {
      kind: 'tcp_connect',
      dstIp,
      dstPort,
      connections: o.connections === undefined ? 1 : int('--connections', o.connections, 1, 1 << 24),
      requests,
      rate: o.rate === undefined ? 0 : positive('--rate', o.rate, 'connections per second'),
      close,
      payloadSize: o.payloadSize === undefined ? 0 : int('--payload-size', o.payloadSize, 0, 2 ** 40),
    };
  }
  if (o.close !== undefined) throw new InvalidOptionError('--close', `is an option of tcp:// clients, not ${scheme}://`);
  if (o.connections !== undefined) throw new InvalidOptionError('--connections', `is an option of connection clients, not ${scheme}://`);
  return {
    kind: scheme === 'udp' ? 'udp_client' : 'icmp_client',
    dstIp,
    dstPort,
    requests,
    // One a second by default, as ping sends.
    rate: o.rate === undefined ? 1 : positive('--rate', o.rate, 'datagrams per second'),
    payloadSize: o.payloadSize === undefined ? 64 : int('--payload-size', o.payloadSize, PROBE_HDR, UDP_MAX_PAYLOAD),
  };
}
