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
 *   --ecn off|passive|on                 ECN (RFC 3168): agree when asked (default), or ask too
 *   --duration S                         seconds to run (default: until SIGINT/SIGTERM); with
 *                                        --client, the load's time bound
 *   --pcap FILE                          every frame the port receives and sends, to FILE
 *   --sslkeylog FILE                     TLS secrets of every session (NSS key log format), appended
 *                                        to FILE; the SSLKEYLOGFILE environment variable otherwise
 *   -- EAL ARGS                          everything after `--`: EAL arguments of a dpdk port
 *
 * and what the stack does on top (at most one of):
 *   --server [--listen-port P --http-status S --body-size N --tls --cert F --key F --tls-version V
 *             --header-timeout S --idle-timeout S]
 *   --listen proto:port[:handler] ... [--http-status S --body-size N --cert F --key F]  (listen_config.ts)
 *   --client tcp://IP:PORT | udp://IP:PORT | icmp://IP [--connections N --requests M --rate R
 *            --close fin|rst --payload-size N]                                          (probe_config.ts)
 *   --tcp-sink [--sha256] | --tcp-source BYTES [--listen-port P]
 *   --client URL [--connections N --requests M --keepalive|--conn-per-request|--requests-per-conn K
 *                 --pipeline D --rate R --method M --body-file F --sni NAME --insecure|--ca F
 *                 --tls-version V --save-body FILE --sha256 --expect-sha256 HEX
 *                 --connect-timeout S --response-timeout S --max-response-time S --tls-timeout S
 *                 --allow-errors RATIO --threshold EXPR... --abort-on-fail]  (src/run/threshold.ts)
 */
import type { TlsVersion } from '../../engine/modes.js';
import type { Profile } from '../../run/profile.js';
import { checkProfile, loadProfile, notUnicast, profileSeconds } from '../../run/profile_check.js';
import { clientPlanOf, type ClientChecks } from '../../run/profile_plan.js';
import type { ModePlan, RunPlan, ServerPlan } from '../../run/plan.js';
import type { LoadPlan } from '../../run/controller.js';
import { parseThresholds, type Threshold } from '../../run/threshold.js';
import { parseListeners } from './listen_config.js';
import { parseOutputs } from './output_config.js';
import { parseProbeClient, PROBE_SCHEMES } from './probe_config.js';
import { probePlanOf, probeProtoOf } from '../../run/probe_profile.js';
import { InvalidOptionError, InvalidProfileError, InvalidThresholdError, NoRouteError } from '../../common/errors.js';
import { TLS_ENGINES, type TlsEngine } from '../../tls/engine.js';
import { loadNativeTls, nativeTlsError } from '../../tls/native_engine.js';
import type { AddrRange, RouteConfig } from '../../net/stack.js';
import { CC_NAMES } from '../../net/tcp/reno.js';
import { ECN_MODES, type EcnMode } from '../../net/tcp/ecn.js';
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
  threshold?: string[];
  abortOnFail?: boolean;
  out?: string;
  hdrLog?: string;
  // Server and bulk modes.
  server?: boolean;
  listen?: string[];
  listenPort?: string;
  countTargets?: boolean;
  httpStatus?: string;
  bodySize?: string;
  headerTimeout?: string;
  idleTimeout?: string;
  tcpSink?: boolean;
  tcpSource?: string;
  // Client mode: a profile file, or the flags of a one-flow profile.
  config?: string;
  saveConfig?: string;
  seed?: string;
  client?: string;
  close?: string;
  payloadSize?: string;
  connections?: string;
  requests?: string;
  keepalive?: boolean;
  connPerRequest?: boolean;
  requestsPerConn?: string;
  pipeline?: string;
  dscp?: string;
  rate?: string;
  method?: string;
  bodyFile?: string;
  saveBody?: string;
  sha256?: boolean;
  expectSha256?: string;
  connectTimeout?: string;
  responseTimeout?: string;
  maxResponseTime?: string;
  tlsTimeout?: string;
  allowErrors?: string;
  // TLS, both roles.
  tls?: boolean;
  cert?: string;
  key?: string;
  sni?: string;
  insecure?: boolean;
  ca?: string;
  tlsVersion?: string;
  tlsResume?: boolean;
  tlsEngine?: string;
  maxConns?: string;
  tcpWindow?: string;
  cc?: string;
  ecn?: string;
  // Capture and key log.
  pcap?: string;
  sslkeylog?: string;
  drain?: string;
}


const DEFAULT_PREFIX_LEN = 24;

/**
 * Parses the options; `ealArgs` are the words after `--` (see ealOperands) and
 * `env` supplies SSLKEYLOGFILE.
 */
export function parseRunOptions(o: RawRunOptions, ealArgs: string[] = [], env: NodeJS.ProcessEnv = process.env): RunPlan {
  if (o.port === undefined || o.port.trim() === '') throw new InvalidOptionError('--port', 'required (e.g. af_packet:iface=eth1)');
  const portSpec = o.port.trim();
  if (ealArgs.length > 0 && !/^dpdk(:|$)/.test(portSpec)) {
    throw new InvalidOptionError('--', `"${ealArgs.join(' ')}": arguments after -- are EAL arguments, for a dpdk port only (--port dpdk:...)`);
  }
  const vlan = o.vlan === undefined ? -1 : parseIntIn('--vlan', o.vlan, 0, 4094);
  const texts = (o.srcIp ?? []).flatMap((s) => s.split(',')).filter((s) => s.trim() !== '');
  if (texts.length === 0) throw new InvalidOptionError('--src-ip', 'at least one address or range is required');
  const addrs = texts.map((t) => parseSrcRange(t, vlan));
  const routes: RouteConfig[] = [];
  if (o.gateway !== undefined) routes.push({ prefix: 0, len: 0, gateway: unicastIp('--gateway', o.gateway) });
  for (const r of o.route ?? []) routes.push(parseRoute(r));
  let mac = -1;
  if (o.mac !== undefined) {
    mac = parseMac(o.mac);
    if (mac < 0) throw new InvalidOptionError('--mac', `"${o.mac}" is not a MAC address (aa:bb:cc:dd:ee:ff)`);
    if (isMulticastMac(mac) || mac === 0) throw new InvalidOptionError('--mac', `"${o.mac}" is not a unicast MAC address`);
  }
  let durationS = 0;
  if (o.duration !== undefined) {
    durationS = Number(o.duration);
    if (!Number.isFinite(durationS) || durationS <= 0) throw new InvalidOptionError('--duration', `"${o.duration}" is not a positive number of seconds`);
  }
  const drainS = o.drain === undefined ? DEFAULT_DRAIN_S : Number(o.drain);
  if (!(Number.isFinite(drainS) && drainS >= 0 && drainS <= 3600)) throw new InvalidOptionError('--drain', `"${o.drain}" is not a number of seconds in 0..3600`);
  const maxConns = o.maxConns === undefined ? DEFAULT_MAX_CONNS : parseIntIn('--max-conns', o.maxConns, 16, 1 << 24);
  const tcpWindow = o.tcpWindow === undefined ? 0 : parseWindow(o.tcpWindow);
  const cc = o.cc === undefined ? 'cubic' : CC_NAMES.find((n) => n === o.cc);
  if (cc === undefined) throw new InvalidOptionError('--cc', `"${o.cc}" is not ${CC_NAMES.join(' or ')}`);
  if (o.pcap !== undefined && o.pcap.trim() === '') throw new InvalidOptionError('--pcap', 'needs a file name');
  const mode = parseMode(o, durationS);
  // A profile file carries the run's length.
  if ('profile' in mode && o.config !== undefined) durationS = profileSeconds(mode.profile);
  if (mode.kind === 'client') for (const f of mode.flows ?? []) checkReachable(f.dstIp, addrs, routes);
  if ('profile' in mode) checkSources(mode.profile, addrs, o.config !== undefined ? `--config ${o.config}` : 'command line');
  if (mode.kind === 'client' || mode.kind === 'tcp_connect' || mode.kind === 'udp_client' || mode.kind === 'icmp_client') checkReachable(mode.dstIp, addrs, routes);
  if (o.tlsEngine !== undefined && !usesTls(mode)) throw new InvalidOptionError('--tls-engine', 'needs TLS: --server --tls, --listen https:PORT, or --client https://...');
  return {
    portSpec,
    addrs,
    routes,
    mac,
    durationS,
    drainS,
    jsonPath: o.json ?? null,
    thresholds: runThresholds(o, mode),
    abortOnFail: o.abortOnFail === true,
    ...parseOutputs(o, mode),
    mode,
    maxConns,
    tcpWindow,
    cc,
    ecn: parseEcn(o.ecn),
    ealArgs,
    pcapPath: o.pcap ?? null,
    keylog: parseKeylog(o, mode, env),
  };
}

/** The rates and ratios a tcp, udp or icmp load does not count: a threshold on them is refused. */
const UNCOUNTED: Partial<Record<ModePlan['kind'], string[]>> = {
  tcp_connect: ['rps', 'errors', 'dropped'],
  udp_client: ['cps', 'connect_errors', 'dropped'],
  icmp_client: ['cps', 'connect_errors', 'dropped'],
};

/**
 * The run's thresholds: the profile's, then --threshold's, which join the
 * profile (so that --save-config keeps them). Only a client load has the
 * figures they read.
 */
function runThresholds(o: RawRunOptions, mode: ModePlan): Threshold[] {
  const given = o.threshold ?? [];
  if (mode.kind !== 'client' && mode.kind !== 'tcp_connect' && mode.kind !== 'udp_client' && mode.kind !== 'icmp_client') {
    if (given.length > 0) throw new InvalidOptionError('--threshold', 'needs a client load (--client or --config)');
    if (o.abortOnFail === true) throw new InvalidOptionError('--abort-on-fail', 'needs a client load with thresholds');
    return [];
  }
  const source = o.config !== undefined ? `--config ${o.config}` : 'command line';
  const own = parseThresholds(mode.profile.thresholds ?? [], (i) => `${source}: /thresholds/${i}`);
  const added = parseThresholds(given, () => '--threshold');
  const what = mode.kind === 'client' ? 'client' : (mode.profile.flows[0]?.proto ?? mode.kind);
  [...own, ...added].forEach((t, i) => {
    const name = t.metric.split('.')[0];
    const where = i < own.length ? `${source}: /thresholds/${i}` : '--threshold';
    if (t.measure.kind !== 'phase' && UNCOUNTED[mode.kind]?.includes(name)) throw new InvalidThresholdError(where, t.expr, name, `a ${what} load does not count ${name}`);
  });
  if (added.length > 0) mode.profile.thresholds = [...(mode.profile.thresholds ?? []), ...added.map((t) => t.expr)];
  const all = [...own, ...added];
  if (o.abortOnFail === true && all.length === 0) throw new InvalidOptionError('--abort-on-fail', "needs a threshold (--threshold, or the profile's thresholds)");
  return all;
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
    throw new InvalidOptionError('--', `unexpected argument "${operands[0]}" (EAL arguments of a dpdk port go after --)`);
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
    if (o.sslkeylog.trim() === '') throw new InvalidOptionError('--sslkeylog', 'needs a file name');
    if (!tls) throw new InvalidOptionError('--sslkeylog', 'needs TLS: --server --tls, --listen https:PORT, or --client https://...');
    return { path: o.sslkeylog, from: '--sslkeylog' };
  }
  const p = env.SSLKEYLOGFILE;
  return tls && p !== undefined && p.trim() !== '' ? { path: p, from: 'SSLKEYLOGFILE' } : null;
}

function usesTls(mode: ModePlan): boolean {
  if (mode.kind === 'listen') return mode.listeners.some((l) => l.proto === 'https');
  return (mode.kind === 'http' && mode.tls !== null) || (mode.kind === 'client' && mode.tls !== null);
}

const DEFAULT_MAX_CONNS = 65536;
/** Seconds in-flight requests get to finish once a run stops (--drain). */
const DEFAULT_DRAIN_S = 2;

function parseMode(o: RawRunOptions, durationS: number): ModePlan {
  const listen = o.listen !== undefined && o.listen.length > 0;
  const modes = [o.server === true && '--server', listen && '--listen', o.tcpSink === true && '--tcp-sink', o.tcpSource !== undefined && '--tcp-source', o.client !== undefined && '--client'].filter(
    (m): m is string => m !== false,
  );
  if (o.config !== undefined) modes.push('--config');
  if (modes.length > 1) throw new InvalidOptionError(modes[1], `cannot be combined with ${modes[0]}`);
  const listenPort = o.listenPort === undefined ? -1 : parseIntIn('--listen-port', o.listenPort, 1, 65535);
  if (listen) {
    if (listenPort > 0) throw new InvalidOptionError('--listen-port', 'not with --listen (the port is part of each --listen)');
    if (o.tls === true) throw new InvalidOptionError('--tls', 'not with --listen (give --listen https:PORT)');
    const wantsTls = o.cert !== undefined || o.key !== undefined;
    if (wantsTls && (o.cert === undefined || o.key === undefined)) throw new InvalidOptionError(o.key === undefined ? '--key' : '--cert', 'HTTPS needs both --cert and --key (PEM files)');
    return {
      kind: 'listen',
      ...parseListeners(o.listen ?? [], {
        status: o.httpStatus === undefined ? 200 : parseIntIn('--http-status', o.httpStatus, 100, 999),
        bodySize: o.bodySize === undefined ? 0 : parseIntIn('--body-size', o.bodySize, 0, 2 ** 40),
        tls: wantsTls && o.cert !== undefined && o.key !== undefined ? { cert: o.cert, key: o.key, version: parseTlsVersion(o.tlsVersion), engine: parseTlsEngine(o.tlsEngine) } : null,
      }),
    };
  }
  if (o.server === true) {
    let tls: ServerPlan['tls'] = null;
    if (o.tls === true) {
      if (o.cert === undefined || o.key === undefined) throw new InvalidOptionError('--tls', 'a server needs --cert and --key (PEM files)');
      tls = { cert: o.cert, key: o.key, version: parseTlsVersion(o.tlsVersion), engine: parseTlsEngine(o.tlsEngine) };
    }
    return {
      kind: 'http',
      port: listenPort > 0 ? listenPort : tls !== null ? 443 : 80,
      status: o.httpStatus === undefined ? 200 : parseIntIn('--http-status', o.httpStatus, 100, 999),
      bodySize: o.bodySize === undefined ? 0 : parseIntIn('--body-size', o.bodySize, 0, 2 ** 40),
      tls,
      timeouts: {
        headerUs: Math.round(parseSeconds('--header-timeout', o.headerTimeout, 30, true) * 1e6),
        idleUs: Math.round(parseSeconds('--idle-timeout', o.idleTimeout, 60, true) * 1e6),
      },
      countTargets: o.countTargets === true,
    };
  }
  if (o.countTargets === true) throw new InvalidOptionError('--count-targets', 'is a --server option');
  if (o.headerTimeout !== undefined || o.idleTimeout !== undefined) {
    throw new InvalidOptionError(o.headerTimeout !== undefined ? '--header-timeout' : '--idle-timeout', 'is a --server option');
  }
  if (o.tcpSink === true) return { kind: 'sink', port: listenPort > 0 ? listenPort : 9, bytes: 0, sha256: o.sha256 === true };
  if (o.tcpSource !== undefined) {
    return { kind: 'source', port: listenPort > 0 ? listenPort : 19, bytes: parseIntIn('--tcp-source', o.tcpSource, 0, 2 ** 50), sha256: false };
  }
  if (o.config !== undefined) return clientFromConfig(o, o.config, durationS);
  if (o.client !== undefined && PROBE_SCHEMES.test(o.client)) return parseProbeClient(o, durationS);
  if (o.client !== undefined) {
    const profile = profileFromFlags(o, durationS);
    return { kind: 'client', ...clientPlanOf(profile, checksOf(o), 'command line'), profile };
  }
  return { kind: 'stack' };
}

/** Flags that describe the traffic: with --config, the profile does. */
const PROFILE_FLAGS: [keyof RawRunOptions, string][] = [
  ['connections', '--connections'], ['requests', '--requests'], ['keepalive', '--keepalive'], ['connPerRequest', '--conn-per-request'],
  ['requestsPerConn', '--requests-per-conn'], ['pipeline', '--pipeline'], ['rate', '--rate'], ['method', '--method'], ['bodyFile', '--body-file'],
  ['sni', '--sni'], ['insecure', '--insecure'], ['ca', '--ca'], ['tlsVersion', '--tls-version'], ['tlsEngine', '--tls-engine'], ['tlsResume', '--tls-resume'],
  ['dscp', '--dscp'], ['close', '--close'], ['payloadSize', '--payload-size'],
];

/** The client load of a profile file (--config, or VAIGAI_CONFIG); flags that describe traffic are refused beside it. */
function clientFromConfig(o: RawRunOptions, path: string, durationS: number): ModePlan {
  for (const [k, flag] of PROFILE_FLAGS) {
    if (o[k] !== undefined) throw new InvalidOptionError(flag, `the profile (--config ${path}) describes the traffic: give it there, not as a flag`);
  }
  if (durationS > 0) throw new InvalidOptionError('--duration', `the profile (--config ${path}) has the run's length: load.duration_secs`);
  const profile = loadProfile(path);
  if (o.seed !== undefined) profile.seed = parseIntIn('--seed', o.seed, 0, 2 ** 32 - 1);
  return modeOfProfile(profile, o, `--config ${path}`);
}

/** The load a profile describes: its http(s) flows' client load, or its tcp, udp or icmp flow's. */
function modeOfProfile(profile: Profile, o: RawRunOptions, source: string): ModePlan {
  if (probeProtoOf(profile) !== null) return { ...probePlanOf(profile, source), profile };
  return { kind: 'client', ...clientPlanOf(profile, checksOf(o), source), profile };
}

/**
 * A profile's load on the plan's stack, for the long-running generator's
 * start and config changes: its client plan (with the command line's checks
 * and bounds), its sources owned and its destinations reachable, and its
 * length. Refusals name the profile's field (its JSON pointer).
 */
export function profileLoad(profile: Profile, plan: RunPlan, o: RawRunOptions, source: string): LoadPlan {
  const mode = modeOfProfile(profile, o, source);
  const dsts = mode.kind === 'client' ? (mode.flows ?? []) : 'dstIp' in mode ? [mode] : [];
  dsts.forEach((f, i) => {
    try {
      checkReachable(f.dstIp, plan.addrs, plan.routes);
    } catch (e) {
      throw new InvalidProfileError(`/flows/${i}/dst_ip`, (e as Error).message.replace(/^--client: /, ''), source);
    }
  });
  checkSources(profile, plan.addrs, source);
  return { mode, durationS: profileSeconds(profile) };
}

/** What the run adds to the profile's client load: checks, bounds and the failure share it tolerates. */
function checksOf(o: RawRunOptions): ClientChecks {
  const expect = o.expectSha256?.toLowerCase() ?? null;
  if (expect !== null && !/^[0-9a-f]{64}$/.test(expect)) throw new InvalidOptionError('--expect-sha256', 'give 64 hex digits');
  let allowErrors = 0;
  if (o.allowErrors !== undefined) {
    allowErrors = Number(o.allowErrors);
    if (o.allowErrors.trim() === '' || !(allowErrors >= 0 && allowErrors <= 1)) throw new InvalidOptionError('--allow-errors', `"${o.allowErrors}" is not a ratio in 0..1 (e.g. 0.01)`);
  }
  return {
    saveBody: o.saveBody ?? null,
    sha256: o.sha256 === true,
    expectSha256: expect,
    tlsTimeoutS: parseSeconds('--tls-timeout', o.tlsTimeout, DEFAULT_TLS_TIMEOUT_S, false),
    connectTimeoutS: parseSeconds('--connect-timeout', o.connectTimeout, DEFAULT_CONNECT_TIMEOUT_S, true),
    responseTimeoutS: parseSeconds('--response-timeout', o.responseTimeout, DEFAULT_RESPONSE_TIMEOUT_S, true),
    maxResponseTimeS: parseSeconds('--max-response-time', o.maxResponseTime, 0, true),
    allowErrors,
  };
}

/**
 * The one-flow profile the client flags describe: --client URL, --connections
 * (the closed model's connections), --requests, --duration, --rate (the
 * request rate), the connection policy, --pipeline and the TLS settings.
 */
export function profileFromFlags(o: RawRunOptions, durationS: number): Profile {
  const m = /^(https?):\/\/(\d+\.\d+\.\d+\.\d+)(?::(\d+))?(\/[^\s]*)?$/.exec(o.client ?? '');
  if (m === null) throw new InvalidOptionError('--client', `"${o.client}" is not http[s]://IPv4[:port][/path] (no DNS names), tcp://IPv4:port, udp://IPv4:port or icmp://IPv4`);
  if (o.close !== undefined) throw new InvalidOptionError('--close', 'is an option of tcp:// clients');
  if (o.payloadSize !== undefined) throw new InvalidOptionError('--payload-size', 'is an option of tcp://, udp:// and icmp:// clients (HTTP bodies: --body-file)');
  parseIpOpt('--client', m[2]);
  const https = m[1] === 'https';
  const dstPort = m[3] === undefined ? (https ? 443 : 80) : parseIntIn('--client', m[3], 1, 65535, o.client);
  const modes = [o.keepalive === true, o.connPerRequest === true, o.requestsPerConn !== undefined].filter(Boolean).length;
  if (modes > 1) throw new InvalidOptionError('--keepalive', 'give one of --keepalive, --conn-per-request and --requests-per-conn');
  const perConn = o.connPerRequest === true ? 1 : o.requestsPerConn !== undefined ? parseIntIn('--requests-per-conn', o.requestsPerConn, 1, 2 ** 40) : 0;
  // Without a count or a duration, one request (as ab and curl do).
  const requests = o.requests !== undefined ? parseIntIn('--requests', o.requests, 1, 2 ** 50) : durationS > 0 ? 0 : 1;
  let rate: number | undefined;
  if (o.rate !== undefined) {
    rate = Number(o.rate);
    if (!Number.isFinite(rate) || rate <= 0) throw new InvalidOptionError('--rate', `"${o.rate}" is not a positive number of requests per second`);
  }
  const method = (o.method ?? (o.bodyFile !== undefined ? 'POST' : 'GET')).toUpperCase();
  if (!/^[A-Z]+$/.test(method)) throw new InvalidOptionError('--method', `"${o.method}" is not a method name`);
  if (!https && (o.sni !== undefined || o.insecure === true || o.ca !== undefined || o.tlsVersion !== undefined || o.tlsEngine !== undefined || o.tlsResume === true)) {
    const opt = o.sni !== undefined ? '--sni' : o.insecure === true ? '--insecure' : o.ca !== undefined ? '--ca' : o.tlsVersion !== undefined ? '--tls-version' : o.tlsEngine !== undefined ? '--tls-engine' : '--tls-resume';
    throw new InvalidOptionError(opt, 'needs an https:// URL');
  }
  if (o.insecure === true && o.ca !== undefined) throw new InvalidOptionError('--insecure', 'cannot be combined with --ca');
  if (!https && o.tlsTimeout !== undefined) throw new InvalidOptionError('--tls-timeout', 'needs an https:// URL');
  const version = parseTlsVersion(o.tlsVersion);
  const engine = https ? parseTlsEngine(o.tlsEngine) : undefined;
  const profile = {
    flows: [
      {
        name: 'flow0',
        dst_ip: m[2],
        dst_port: dstPort,
        proto: https ? 'https' : 'http',
        headers: { Host: m[3] === undefined ? m[2] : `${m[2]}:${m[3]}` },
        requests: [{ method, url: m[4] ?? '/', ...(o.bodyFile !== undefined ? { body_file: o.bodyFile } : {}) }],
        requests_per_conn: perConn,
        pipeline: o.pipeline === undefined ? 1 : parseIntIn('--pipeline', o.pipeline, 1, 1024),
        ...(o.dscp !== undefined ? { dscp: parseIntIn('--dscp', o.dscp, 0, 63) } : {}),
      },
    ],
    load: {
      model: 'closed',
      connections: o.connections === undefined ? 1 : parseIntIn('--connections', o.connections, 1, 1 << 24),
      requests,
      duration_secs: durationS,
      ...(rate !== undefined ? { target_rps: rate } : {}),
    },
    ...(o.seed !== undefined ? { seed: parseIntIn('--seed', o.seed, 0, 2 ** 32 - 1) } : {}),
    tls: {
      verify: o.insecure !== true,
      ...(o.sni !== undefined ? { sni: o.sni } : {}),
      ...(o.ca !== undefined ? { ca: o.ca } : {}),
      ...(version !== null ? { version: version.slice(4) } : {}),
      ...(engine !== undefined ? { engine } : {}),
      ...(o.tlsResume === true ? { resume: true } : {}),
    },
  };
  try {
    return checkProfile(profile, 'command line');
  } catch (e) {
    // The flags were checked one by one above; what the profile adds (addresses a host cannot use...) is told by the flag.
    if (e instanceof InvalidProfileError) throw new InvalidOptionError(flagOf(e.pointer), e.message.replace(/^command line: \S+: /, ''));
    throw e;
  }
}

/** The flag behind a field of the one-flow profile the flags build. */
function flagOf(pointer: string): string {
  const flags: [RegExp, string][] = [
    [/^\/load\/target_rps/, '--rate'], [/^\/load\/connections/, '--connections'], [/^\/load\/duration_secs/, '--duration'], [/^\/load\/requests/, '--requests'],
    [/^\/flows\/0\/pipeline/, '--pipeline'], [/^\/flows\/0\/requests_per_conn/, '--requests-per-conn'], [/^\/flows\/0\/requests\/0\/method/, '--method'],
    [/^\/tls\/sni/, '--sni'], [/^\/tls\/ca/, '--ca'],
  ];
  return flags.find(([re]) => re.test(pointer))?.[1] ?? '--client';
}

/**
 * Client bounds in seconds, each failing the attempt, not the run. The
 * response's is on silence (nothing received while answers are awaited), as
 * a reverse proxy's read timeout: a whole-response bound by default would
 * fail a large download on a slow link (--max-response-time sets one).
 */
export const DEFAULT_CONNECT_TIMEOUT_S = 5;
export const DEFAULT_RESPONSE_TIMEOUT_S = 30;
export const DEFAULT_TLS_TIMEOUT_S = 30;

/** A number of seconds (fractions allowed); `zeroOff`: 0 means no bound. */
function parseSeconds(option: string, text: string | undefined, dflt: number, zeroOff: boolean): number {
  if (text === undefined) return dflt;
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v) || v < 0 || v > 86_400 || (v === 0 && !zeroOff)) {
    throw new InvalidOptionError(option, `"${text}" is not a ${zeroOff ? 'number of seconds in 0..86400 (0: no bound)' : 'positive number of seconds up to 86400'}`);
  }
  return v;
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
  if (lo < 0 || hi < 0) throw new InvalidOptionError('--src-ip', `"${t}" is not an address or range (A, A-B, A/len or A-B/len, optionally @vlan)`);
  if (hi < lo) throw new InvalidOptionError('--src-ip', `"${t}" ends before it starts`);
  for (const ip of [lo, hi]) {
    const why = notUnicast(ip);
    if (why !== null) throw new InvalidOptionError('--src-ip', `"${t}": ${ipToString(ip)} is ${why}, not an address a host may own`);
  }
  // Both ends unicast, the range can still straddle 127.0.0.0/8.
  if (lo < 0x7f000000 && hi > 0x7fffffff) {
    throw new InvalidOptionError('--src-ip', `"${t}" spans 127.0.0.0/8 (loopback)`);
  }
  const mask = prefixMask(prefixLen);
  if (((lo & mask) >>> 0) !== ((hi & mask) >>> 0)) {
    throw new InvalidOptionError('--src-ip', `"${t}" does not fit one /${prefixLen} subnet (give the subnet as A-B/len)`);
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
  if (e === undefined) throw new InvalidOptionError('--tls-engine', `"${text}" is not ${TLS_ENGINES.join(' or ')}`);
  if (e === 'native' && loadNativeTls() === null) throw new InvalidOptionError('--tls-engine', `native: ${nativeTlsError()}`);
  return e;
}

/** `262144`, `256k`, `4m` (k = 1024): 4 KiB to 64 MiB, what window scaling and the buffer pool allow. */
function parseWindow(text: string): number {
  const m = /^(\d+)([kKmM]?)$/.exec(text.trim());
  const bytes = m === null ? NaN : Number(m[1]) * (m[2] === '' ? 1 : m[2].toLowerCase() === 'k' ? 1024 : 1 << 20);
  if (!(bytes >= 4096 && bytes <= 64 << 20)) throw new InvalidOptionError('--tcp-window', `"${text}" is not a size in 4k..64m (bytes, or with k or m)`);
  return bytes;
}


function parseTlsVersion(text: string | undefined): TlsVersion | null {
  if (text === undefined) return null;
  if (text === '1.2' || text === '1.3') return `TLSv${text}`;
  throw new InvalidOptionError('--tls-version', `"${text}" is not 1.2 or 1.3`);
}

function parseRoute(text: string): RouteConfig {
  const parts = text.trim().split(/\s+/);
  const m = /^([^/]+)\/(\d+)$/.exec(parts[0] ?? '');
  if (m === null || !(parts.length === 1 || (parts.length === 3 && parts[1] === 'via'))) {
    throw new InvalidOptionError('--route', `"${text}" is not "prefix/len via gateway"`);
  }
  const prefix = parseIpOpt('--route', m[1]);
  const len = parseIntIn('--route', m[2], 0, 32, text);
  const gateway = parts.length === 3 ? parseIpOpt('--route', parts[2]) : 0;
  const mask = prefixMask(len);
  if (((prefix & mask) >>> 0) !== prefix) {
    throw new InvalidOptionError('--route', `"${text}" has host bits set (did you mean ${ipToString((prefix & mask) >>> 0)}/${len}?)`);
  }
  return { prefix, len, gateway };
}

function unicastIp(option: string, text: string): number {
  const ip = parseIpOpt(option, text);
  const why = notUnicast(ip);
  if (why !== null) throw new InvalidOptionError(option, `"${text}" is ${why}`);
  return ip;
}

/**
 * The client's destination must be on one of the owned subnets or covered by
 * a route: otherwise no frame could ever leave for it, and the run would wait
 * for nothing.
 */
function checkReachable(dst: number, addrs: AddrRange[], routes: RouteConfig[]): void {
  const why = notUnicast(dst);
  if (why !== null) throw new NoRouteError('--client', `${ipToString(dst)} is ${why}`);
  const within = (prefix: number, len: number): boolean => ((dst & prefixMask(len)) >>> 0) === ((prefix & prefixMask(len)) >>> 0);
  if (addrs.some((a) => within(a.lo, a.prefixLen)) || routes.some((r) => within(r.prefix, r.len))) return;
  const nets = addrs.map((a) => `${ipToString((a.lo & prefixMask(a.prefixLen)) >>> 0)}/${a.prefixLen}`).join(', ');
  throw new NoRouteError('--client', `${ipToString(dst)} is not on an owned subnet (${nets}) and no route covers it: give --gateway or --route`);
}

/**
 * A flow's source range must be owned (--src-ip): the client opens its
 * connections from it. A flow's VLAN is its source range's: the frames of a
 * connection carry the tag of the subnet its addresses are owned on.
 */
function checkSources(p: Profile, addrs: AddrRange[], source: string): void {
  p.flows.forEach((f, i) => {
    if (f.src_ip_lo === undefined || f.src_ip_hi === undefined) {
      if (f.vlan_id !== 0) throw new InvalidProfileError(`/flows/${i}/vlan_id`, `VLAN ${f.vlan_id} needs the flow's source range (src_ip_lo, src_ip_hi) owned on it (--src-ip A-B@${f.vlan_id})`, source);
      return;
    }
    const lo = parseIp(f.src_ip_lo);
    const hi = parseIp(f.src_ip_hi);
    const owner = addrs.find((a) => a.lo <= lo && hi <= a.hi);
    if (owner === undefined) {
      throw new InvalidProfileError(`/flows/${i}/src_ip_lo`, `${f.src_ip_lo}-${f.src_ip_hi} is not within the owned addresses (--src-ip)`, source);
    }
    if (f.vlan_id !== 0 && owner.vlan !== f.vlan_id) {
      const on = owner.vlan < 0 ? 'untagged' : `on VLAN ${owner.vlan}`;
      throw new InvalidProfileError(`/flows/${i}/vlan_id`, `${f.src_ip_lo}-${f.src_ip_hi} is owned ${on}: give --src-ip ${f.src_ip_lo}-${f.src_ip_hi}@${f.vlan_id}`, source);
    }
  });
}

function parseEcn(text: string | undefined): EcnMode {
  const mode = ECN_MODES.find((m) => m === (text ?? 'passive'));
  if (mode === undefined) throw new InvalidOptionError('--ecn', `"${text}" is not ${ECN_MODES.join(', ')}`);
  return mode;
}

function parseIpOpt(option: string, text: string): number {
  const ip = parseIp(text);
  if (ip < 0) throw new InvalidOptionError(option, `"${text}" is not an IPv4 address`);
  return ip;
}

function parseIntIn(option: string, text: string, min: number, max: number, whole = text): number {
  const t = text.trim();
  const n = /^\d+$/.test(t) ? Number(t) : NaN;
  if (!(n >= min && n <= max)) throw new InvalidOptionError(option, `"${whole}": ${t === '' ? 'missing number' : `"${t}" is not an integer in ${min}..${max}`}`);
  return n;
}
