/**
 * What the engine runs for a profile: the client load of its flow. The
 * command line's flags and a `--config` file both arrive here as a profile,
 * so a run takes one path whichever way it was described. What the load
 * engine cannot run yet is refused by the field that asks for it.
 */
import { InvalidProfileError } from '../common/errors.js';
import type { ClientPlan, FlowPlan } from '../engine/modes.js';
import { loadNativeTls, nativeTlsError } from '../tls/native_engine.js';
import { parseIp } from '../wire/ipv4_addr.js';
import type { OpenLoad } from '../engine/load.js';
import type { StageSpan } from '../engine/schedule.js';
import type { Flow, Profile } from './profile.js';
import { stagesOf } from './profile_check.js';
import { ccIndex } from '../net/tcp/reno.js';

/** What a run adds to its profile's client load: body checks and where the last body goes. */
export interface ClientChecks {
  saveBody: string | null;
  sha256: boolean;
  expectSha256: string | null;
  /** The bounds of ClientPlan, in seconds; the TLS handshake's goes into its TLS settings. */
  tlsTimeoutS: number;
  connectTimeoutS: number;
  responseTimeoutS: number;
  maxResponseTimeS: number;
  allowErrors: number;
}

/** The client load of `p`; `source` names where the profile came from in a refusal. */
export function clientPlanOf(p: Profile, checks: ClientChecks, source: string): ClientPlan {
  const refuse = (ptr: string, why: string): never => {
    throw new InvalidProfileError(ptr, why, source);
  };
  const f = p.flows[0];
  const l = p.load;
  const open = l.model === 'open';
  if (!open && l.connections < p.flows.length) refuse('/load/connections', `the closed model shares its connections among the flows by weight: at least one per flow (${p.flows.length})`);
  const tls = f.enable_tls || f.proto === 'https';
  p.flows.forEach((g, i) => {
    const at = `/flows/${i}`;
    if (g.proto !== 'http' && g.proto !== 'https') refuse(`${at}/proto`, `${g.proto} flows are not built yet: http and https`);
    if (open && g.pipeline > 1) refuse(`${at}/pipeline`, 'the open model sends each arrival on a connection of its own or an idle one: no pipelining');
    if (open && g.think_time_ms > 0) refuse(`${at}/think_time_ms`, 'the open model\'s schedule times the requests: think time is the closed model\'s');
    if ((g.enable_tls || g.proto === 'https') !== tls) refuse(`${at}/proto`, 'every flow over TLS, or none, in this version');
  });
  // The native engine (the addon's OpenSSL) when it is built: 1.7-1.9x less CPU per handshake (docs/PERFORMANCE.md).
  const engine = p.tls.engine ?? (loadNativeTls() !== null ? 'native' : 'node');
  if (tls && engine === 'native' && loadNativeTls() === null) refuse('/tls/engine', `native: ${nativeTlsError()}`);
  const flows = p.flows.map((g) => flowPlanOf(g, tls));
  const first = flows[0];
  const r = first.requests[0];
  return {
    dstIp: first.dstIp,
    dstPort: first.dstPort,
    host: first.host,
    path: r.path,
    method: r.method,
    bodyFile: r.bodyFile,
    flows,
    ...(p.seed !== undefined ? { seed: p.seed } : {}),
    connections: l.connections,
    requests: l.requests,
    perConn: f.requests_per_conn,
    pipeline: f.pipeline,
    rate: l.target_rps ?? 0,
    open: open ? openLoadOf(p) : null,
    stages: stageSpans(p),
    saveBody: checks.saveBody,
    sha256: checks.sha256,
    expectSha256: checks.expectSha256,
    connectTimeoutS: checks.connectTimeoutS,
    responseTimeoutS: checks.responseTimeoutS,
    maxResponseTimeS: checks.maxResponseTimeS,
    allowErrors: checks.allowErrors,
    tls: tls
      ? {
          sni: p.tls.sni ?? null,
          verify: p.tls.verify,
          ca: p.tls.ca ?? null,
          version: p.tls.version === undefined ? null : (`TLSv${p.tls.version}` as const),
          engine,
          resume: p.tls.resume,
          timeoutS: checks.tlsTimeoutS,
        }
      : null,
  };
}

/** A flow of the profile as the engine runs it: its destination, source range and weighted requests (Host apart from the other headers). */
function flowPlanOf(f: Flow, tls: boolean): FlowPlan {
  const dstPort = f.dst_port ?? (tls ? 443 : 80);
  const hostHeader = Object.entries(f.headers).find(([h]) => h.toLowerCase() === 'host')?.[1];
  const headers = Object.fromEntries(Object.entries(f.headers).filter(([h]) => h.toLowerCase() !== 'host'));
  const defaultPort = dstPort === (tls ? 443 : 80);
  return {
    name: f.name,
    weight: f.weight,
    srcLo: f.src_ip_lo === undefined ? 0 : parseIp(f.src_ip_lo),
    srcHi: f.src_ip_hi === undefined ? 0 : parseIp(f.src_ip_hi),
    dstIp: parseIp(f.dst_ip),
    dstPort,
    dscp: f.dscp,
    cc: f.cc === undefined ? -1 : ccIndex(f.cc),
    host: hostHeader ?? (defaultPort ? f.dst_ip : `${f.dst_ip}:${dstPort}`),
    requests: f.requests.map((r) => ({ method: r.method, path: r.url, headers, bodyFile: r.body_file ?? null, bodySize: r.body_size })),
    weights: f.requests.map((r) => r.weight),
    pipeline: f.pipeline,
    requestsPerConnection: f.requests_per_conn,
    thinkTimeUs: f.think_time_ms * 1000,
  };
}

/** The stages in µs: a stage without `from` starts at the previous one's target (the first holds its own). */
export function stageSpans(p: Profile): StageSpan[] {
  let prev = -1;
  return stagesOf(p).map((s) => {
    const from = s.from ?? (prev < 0 ? s.target : prev);
    prev = s.target;
    return { durationUs: s.duration_secs * 1e6, from, to: s.target };
  });
}

/** The open model's arrivals. */
function openLoadOf(p: Profile): OpenLoad {
  const l = p.load;
  const f = p.flows[0];
  const cps = l.target_cps ?? 0;
  return {
    cps,
    // Both targets: each connection carries target_rps / target_cps requests on average.
    perConn: cps > 0 && l.target_rps !== undefined ? l.target_rps / cps : Math.max(1, f.requests_per_conn),
    maxConcurrent: l.max_concurrent,
    poisson: l.arrivals === 'poisson',
  };
}
