/**
 * The run command's options, parsed into what a NetStack needs. Every error
 * names the option and the text it could not use.
 *
 *   --src-ip A | A-B | A/len | A-B/len   owned addresses (repeatable or comma-separated);
 *            [@vlan]                     the subnet is /len (default /24), as with `ip addr add`;
 *                                        `@N` puts this range on VLAN N (overrides --vlan)
 *   --gateway G                          default route via G
 *   --route "P/len via G"                a route (repeatable); "P/len" alone is connected
 *   --vlan N                             802.1Q VLAN of the owned addresses without `@N` (0..4094)
 *   --mac M                              our MAC (default: the port's)
 *   --cc cubic|newreno                   TCP congestion control (default cubic)
 *   --duration S                         seconds to run (default: until SIGINT/SIGTERM); with
 *                                        --client, the load's time bound
 *   --pcap FILE                          every frame the port receives and sends, to FILE
 *   --sslkeylog FILE                     TLS secrets of every session (NSS key log format), appended
 *                                        to FILE; the SSLKEYLOGFILE environment variable otherwise
 *   -- EAL ARGS                          everything after `--`: EAL arguments of a dpdk port
 *
 * and what the stack does on top (at most one of):
 *   --server [--listen-port P --http-status S --body-size N --tls --cert F --key F --tls-version V]
 *   --tcp-sink [--sha256] | --tcp-source BYTES [--listen-port P]
 *   --client URL [--connections N --requests M --keepalive|--conn-per-request|--requests-per-conn K
 *                 --pipeline D --rate R --method M --body-file F --sni NAME --insecure|--ca F
 *                 --tls-version V --save-body FILE --sha256 --expect-sha256 HEX]
 */
import type { ClientPlan, TlsVersion } from '../../engine/modes.js';
import type { ModePlan, RunPlan, ServerPlan } from '../../run/plan.js';
import { TLS_ENGINES, type TlsEngine } from '../../tls/engine.js';
import { loadNativeTls, nativeTlsError } from '../../tls/native_engine.js';
import type { AddrRange, RouteConfig } from '../../net/stack.js';
import { CC_NAMES } from '../../net/tcp/reno.js';
import { ipToString, parseIp, prefixMask } from '../../wire/ipv4_addr.js';
import { isMulticastMac, parseMac } from '../../wire/mac.js';

/** The options as commander hands them over (strings, repeatables as arrays). */
export interface RawRunOptions {
  port?: string;
  srcIp?: string[];
  gateway?: string;
  route?: string[];
  vlan?: string;
  mac?: string;
  duration?: string;
  json?: string;
  // Server and bulk modes.
  server?: boolean;
  listenPort?: string;
  httpStatus?: string;
  bodySize?: string;
  tcpSink?: boolean;
  tcpSource?: string;
  // Client mode.
  client?: string;
  connections?: string;
  requests?: string;
  keepalive?: boolean;
  connPerRequest?: boolean;
  requestsPerConn?: string;
  pipeline?: string;
  rate?: string;
  method?: string;
  bodyFile?: string;
  saveBody?: string;
  sha256?: boolean;
  expectSha256?: string;
  // TLS, both roles.
  tls?: boolean;
  cert?: string;
  key?: string;
  sni?: string;
  insecure?: boolean;
  ca?: string;
  tlsVersion?: string;
  tlsEngine?: string;
  maxConns?: string;
  tcpWindow?: string;
  cc?: string;
  // Capture and key log.
  pcap?: string;
  sslkeylog?: string;
}

export class OptionError extends Error {
  constructor(option: string, detail: string) {
    super(`${option}: ${detail}`);
  }
}

const DEFAULT_PREFIX_LEN = 24;

/**
 * Parses the options; `ealArgs` are the words after `--` (see ealOperands) and
 * `env` supplies SSLKEYLOGFILE.
 */
export function parseRunOptions(o: RawRunOptions, ealArgs: string[] = [], env: NodeJS.ProcessEnv = process.env): RunPlan {
  if (o.port === undefined || o.port.trim() === '') throw new OptionError('--port', 'required (e.g. af_packet:iface=eth1)');
  const portSpec = o.port.trim();
  if (ealArgs.length > 0 && !/^dpdk(:|$)/.test(portSpec)) {
    throw new OptionError('--', `"${ealArgs.join(' ')}": arguments after -- are EAL arguments, for a dpdk port only (--port dpdk:...)`);
  }
  const vlan = o.vlan === undefined ? -1 : parseIntIn('--vlan', o.vlan, 0, 4094);
  const texts = (o.srcIp ?? []).flatMap((s) => s.split(',')).filter((s) => s.trim() !== '');
  if (texts.length === 0) throw new OptionError('--src-ip', 'at least one address or range is required');
  const addrs = texts.map((t) => parseSrcRange(t, vlan));
  const routes: RouteConfig[] = [];
  if (o.gateway !== undefined) routes.push({ prefix: 0, len: 0, gateway: parseIpOpt('--gateway', o.gateway) });
  for (const r of o.route ?? []) routes.push(parseRoute(r));
  let mac = -1;
  if (o.mac !== undefined) {
    mac = parseMac(o.mac);
    if (mac < 0) throw new OptionError('--mac', `"${o.mac}" is not a MAC address (aa:bb:cc:dd:ee:ff)`);
    if (isMulticastMac(mac) || mac === 0) throw new OptionError('--mac', `"${o.mac}" is not a unicast MAC address`);
  }
  let durationS = 0;
  if (o.duration !== undefined) {
    durationS = Number(o.duration);
    if (!Number.isFinite(durationS) || durationS <= 0) throw new OptionError('--duration', `"${o.duration}" is not a positive number of seconds`);
  }
  const maxConns = o.maxConns === undefined ? DEFAULT_MAX_CONNS : parseIntIn('--max-conns', o.maxConns, 16, 1 << 24);
  const tcpWindow = o.tcpWindow === undefined ? 0 : parseWindow(o.tcpWindow);
  const cc = o.cc === undefined ? 'cubic' : CC_NAMES.find((n) => n === o.cc);
  if (cc === undefined) throw new OptionError('--cc', `"${o.cc}" is not ${CC_NAMES.join(' or ')}`);
  if (o.pcap !== undefined && o.pcap.trim() === '') throw new OptionError('--pcap', 'needs a file name');
  const mode = parseMode(o, durationS);
  if (o.tlsEngine !== undefined && !usesTls(mode)) throw new OptionError('--tls-engine', 'needs TLS: --server --tls, or --client https://...');
  return {
    portSpec,
    addrs,
    routes,
    mac,
    durationS,
    jsonPath: o.json ?? null,
    mode,
    maxConns,
    tcpWindow,
    cc,
    ealArgs,
    pcapPath: o.pcap ?? null,
    keylog: parseKeylog(o, mode, env),
  };
}

/**
 * The command's operands, which must all follow `--` in `argv` (the whole
 * command line): they are EAL arguments, and a stray word before `--` is a
 * mistake rather than one of them.
 */
export function ealOperands(operands: string[], argv: readonly string[]): string[] {
  const dashes = argv.indexOf('--');
  const after = dashes < 0 ? 0 : argv.length - dashes - 1;
  if (operands.length > after) {
    throw new OptionError('--', `unexpected argument "${operands[0]}" (EAL arguments of a dpdk port go after --)`);
  }
  return operands;
}

/**
 * --sslkeylog, else SSLKEYLOGFILE as browsers and curl read it. The option
 * without TLS is a mistake; the variable is a standing setting, ignored then.
 */
function parseKeylog(o: RawRunOptions, mode: ModePlan, env: NodeJS.ProcessEnv): RunPlan['keylog'] {
  const tls = usesTls(mode);
  if (o.sslkeylog !== undefined) {
    if (o.sslkeylog.trim() === '') throw new OptionError('--sslkeylog', 'needs a file name');
    if (!tls) throw new OptionError('--sslkeylog', 'needs TLS: --server --tls, or --client https://...');
    return { path: o.sslkeylog, from: '--sslkeylog' };
  }
  const p = env.SSLKEYLOGFILE;
  return tls && p !== undefined && p.trim() !== '' ? { path: p, from: 'SSLKEYLOGFILE' } : null;
}

function usesTls(mode: ModePlan): boolean {
  return (mode.kind === 'http' && mode.tls !== null) || (mode.kind === 'client' && mode.tls !== null);
}

const DEFAULT_MAX_CONNS = 65536;

function parseMode(o: RawRunOptions, durationS: number): ModePlan {
  const modes = [o.server === true && '--server', o.tcpSink === true && '--tcp-sink', o.tcpSource !== undefined && '--tcp-source', o.client !== undefined && '--client'].filter(
    (m): m is string => m !== false,
  );
  if (modes.length > 1) throw new OptionError(modes[1], `cannot be combined with ${modes[0]}`);
  const listenPort = o.listenPort === undefined ? -1 : parseIntIn('--listen-port', o.listenPort, 1, 65535);
  if (o.server === true) {
    let tls: ServerPlan['tls'] = null;
    if (o.tls === true) {
      if (o.cert === undefined || o.key === undefined) throw new OptionError('--tls', 'a server needs --cert and --key (PEM files)');
      tls = { cert: o.cert, key: o.key, version: parseTlsVersion(o.tlsVersion), engine: parseTlsEngine(o.tlsEngine) };
    }
    return {
      kind: 'http',
      port: listenPort > 0 ? listenPort : tls !== null ? 443 : 80,
      status: o.httpStatus === undefined ? 200 : parseIntIn('--http-status', o.httpStatus, 100, 999),
      bodySize: o.bodySize === undefined ? 0 : parseIntIn('--body-size', o.bodySize, 0, 2 ** 40),
      tls,
    };
  }
  if (o.tcpSink === true) return { kind: 'sink', port: listenPort > 0 ? listenPort : 9, bytes: 0, sha256: o.sha256 === true };
  if (o.tcpSource !== undefined) {
    return { kind: 'source', port: listenPort > 0 ? listenPort : 19, bytes: parseIntIn('--tcp-source', o.tcpSource, 0, 2 ** 50), sha256: false };
  }
  if (o.client !== undefined) return { kind: 'client', ...parseClient(o, durationS) };
  return { kind: 'stack' };
}

function parseClient(o: RawRunOptions, durationS: number): ClientPlan {
  const m = /^(https?):\/\/(\d+\.\d+\.\d+\.\d+)(?::(\d+))?(\/[^\s]*)?$/.exec(o.client ?? '');
  if (m === null) throw new OptionError('--client', `"${o.client}" is not http[s]://IPv4[:port][/path] (no DNS names)`);
  const dstIp = parseIpOpt('--client', m[2]);
  const https = m[1] === 'https';
  const dstPort = m[3] === undefined ? (https ? 443 : 80) : parseIntIn('--client', m[3], 1, 65535, o.client);
  const modes = [o.keepalive === true, o.connPerRequest === true, o.requestsPerConn !== undefined].filter(Boolean).length;
  if (modes > 1) throw new OptionError('--keepalive', 'give one of --keepalive, --conn-per-request and --requests-per-conn');
  const perConn = o.connPerRequest === true ? 1 : o.requestsPerConn !== undefined ? parseIntIn('--requests-per-conn', o.requestsPerConn, 1, 2 ** 40) : 0;
  // Without a count or a duration, one request (as ab and curl do).
  const requests = o.requests !== undefined ? parseIntIn('--requests', o.requests, 1, 2 ** 50) : durationS > 0 ? 0 : 1;
  let rate = 0;
  if (o.rate !== undefined) {
    rate = Number(o.rate);
    if (!Number.isFinite(rate) || rate <= 0) throw new OptionError('--rate', `"${o.rate}" is not a positive number of requests per second`);
  }
  const method = (o.method ?? (o.bodyFile !== undefined ? 'POST' : 'GET')).toUpperCase();
  if (!/^[A-Z]+$/.test(method)) throw new OptionError('--method', `"${o.method}" is not a method name`);
  const expect = o.expectSha256?.toLowerCase() ?? null;
  if (expect !== null && !/^[0-9a-f]{64}$/.test(expect)) throw new OptionError('--expect-sha256', 'give 64 hex digits');
  if (!https && (o.sni !== undefined || o.insecure === true || o.ca !== undefined || o.tlsVersion !== undefined || o.tlsEngine !== undefined)) {
    const opt = o.sni !== undefined ? '--sni' : o.insecure === true ? '--insecure' : o.ca !== undefined ? '--ca' : o.tlsVersion !== undefined ? '--tls-version' : '--tls-engine';
    throw new OptionError(opt, 'needs an https:// URL');
  }
  if (o.insecure === true && o.ca !== undefined) throw new OptionError('--insecure', 'cannot be combined with --ca');
  return {
    dstIp,
    dstPort,
    host: m[3] === undefined ? m[2] : `${m[2]}:${m[3]}`,
    path: m[4] ?? '/',
    method,
    bodyFile: o.bodyFile ?? null,
    connections: o.connections === undefined ? 1 : parseIntIn('--connections', o.connections, 1, 1 << 24),
    requests,
    perConn,
    pipeline: o.pipeline === undefined ? 1 : parseIntIn('--pipeline', o.pipeline, 1, 1024),
    rate,
    saveBody: o.saveBody ?? null,
    sha256: o.sha256 === true,
    expectSha256: expect,
    tls: https ? { sni: o.sni ?? null, verify: o.insecure !== true, ca: o.ca ?? null, version: parseTlsVersion(o.tlsVersion), engine: parseTlsEngine(o.tlsEngine) } : null,
  };
}

function parseSrcRange(text: string, defaultVlan: number): AddrRange {
  let t = text.trim();
  let vlan = defaultVlan;
  const at = t.indexOf('@');
  if (at >= 0) {
    vlan = parseIntIn('--src-ip', t.slice(at + 1), 0, 4094, t);
    t = t.slice(0, at);
  }
  const slash = t.indexOf('/');
  const prefixLen = slash < 0 ? DEFAULT_PREFIX_LEN : parseIntIn('--src-ip', t.slice(slash + 1), 1, 32, t);
  const body = slash < 0 ? t : t.slice(0, slash);
  const dash = body.indexOf('-');
  const lo = parseIp(dash < 0 ? body : body.slice(0, dash));
  const hi = dash < 0 ? lo : parseIp(body.slice(dash + 1));
  if (lo < 0 || hi < 0) throw new OptionError('--src-ip', `"${t}" is not an address or range (A, A-B, A/len or A-B/len, optionally @vlan)`);
  if (hi < lo) throw new OptionError('--src-ip', `"${t}" ends before it starts`);
  const mask = prefixMask(prefixLen);
  if (((lo & mask) >>> 0) !== ((hi & mask) >>> 0)) {
    throw new OptionError('--src-ip', `"${t}" does not fit one /${prefixLen} subnet (give the subnet as A-B/len)`);
  }
  return { lo, hi, prefixLen, vlan };
}

/**
 * The native engine (the addon's OpenSSL) when the addon has it: it takes
 * 1.7-1.9x less CPU per handshake and 2.8-3.4x less per byte than Node's tls
 * (docs/PERFORMANCE.md); Node's tls otherwise.
 */
function parseTlsEngine(text: string | undefined): TlsEngine {
  if (text === undefined) return loadNativeTls() !== null ? 'native' : 'node';
  const e = TLS_ENGINES.find((x) => x === text);
  if (e === undefined) throw new OptionError('--tls-engine', `"${text}" is not ${TLS_ENGINES.join(' or ')}`);
  if (e === 'native' && loadNativeTls() === null) throw new OptionError('--tls-engine', `native: ${nativeTlsError()}`);
  return e;
}

/** `262144`, `256k`, `4m` (k = 1024): 4 KiB to 64 MiB, what window scaling and the buffer pool allow. */
function parseWindow(text: string): number {
  const m = /^(\d+)([kKmM]?)$/.exec(text.trim());
  const bytes = m === null ? NaN : Number(m[1]) * (m[2] === '' ? 1 : m[2].toLowerCase() === 'k' ? 1024 : 1 << 20);
  if (!(bytes >= 4096 && bytes <= 64 << 20)) throw new OptionError('--tcp-window', `"${text}" is not a size in 4k..64m (bytes, or with k or m)`);
  return bytes;
}

function parseTlsVersion(text: string | undefined): TlsVersion | null {
  if (text === undefined) return null;
  if (text === '1.2' || text === '1.3') return `TLSv${text}`;
  throw new OptionError('--tls-version', `"${text}" is not 1.2 or 1.3`);
}

function parseRoute(text: string): RouteConfig {
  const parts = text.trim().split(/\s+/);
  const m = /^([^/]+)\/(\d+)$/.exec(parts[0] ?? '');
  if (m === null || !(parts.length === 1 || (parts.length === 3 && parts[1] === 'via'))) {
    throw new OptionError('--route', `"${text}" is not "prefix/len via gateway"`);
  }
  const prefix = parseIpOpt('--route', m[1]);
  const len = parseIntIn('--route', m[2], 0, 32, text);
  const gateway = parts.length === 3 ? parseIpOpt('--route', parts[2]) : 0;
  const mask = prefixMask(len);
  if (((prefix & mask) >>> 0) !== prefix) {
    throw new OptionError('--route', `"${text}" has host bits set (did you mean ${ipToString((prefix & mask) >>> 0)}/${len}?)`);
  }
  return { prefix, len, gateway };
}

function parseIpOpt(option: string, text: string): number {
  const ip = parseIp(text);
  if (ip < 0) throw new OptionError(option, `"${text}" is not an IPv4 address`);
  return ip;
}

function parseIntIn(option: string, text: string, min: number, max: number, whole = text): number {
  const t = text.trim();
  const n = /^\d+$/.test(t) ? Number(t) : NaN;
  if (!(n >= min && n <= max)) throw new OptionError(option, `"${whole}": ${t === '' ? 'missing number' : `"${t}" is not an integer in ${min}..${max}`}`);
  return n;
}
