/**
 * What the engine runs for a profile of a tcp, udp or icmp flow: the TCP
 * connect rate, or datagrams at a rate. `--client tcp://`, `udp://` and
 * `icmp://` build such a one-flow profile, as `--client http://` builds an
 * http one, so both ways of asking take one path. What these engines cannot
 * run yet is refused by the field that asks for it.
 */
import { InvalidProfileError } from '../common/errors.js';
import { PROBE_HDR, type ProbePlan } from '../engine/probe.js';
import type { TcpConnectPlan } from '../engine/tcp_connect.js';
import { UDP_MAX_PAYLOAD } from '../net/udp.js';
import { parseIp } from '../wire/ipv4_addr.js';
import type { Profile } from './profile.js';
import { stageSpans } from './profile_plan.js';

export type ProbeProto = 'tcp' | 'udp' | 'icmp';

/** The plan of a tcp, udp or icmp profile, as ModePlan holds it. */
export type ProbeModePlan = ({ kind: 'tcp_connect' } & TcpConnectPlan) | ({ kind: 'udp_client' | 'icmp_client' } & ProbePlan);

/** Payload bytes of a udp or icmp datagram when the profile gives none (as ping sends 56 + 8). */
export const DEFAULT_DATAGRAM_PAYLOAD = 64;

/** The proto of a profile's tcp, udp or icmp flow, or null for an http(s) profile. */
export function probeProtoOf(p: Profile): ProbeProto | null {
  const f = p.flows.find((g) => g.proto === 'tcp' || g.proto === 'udp' || g.proto === 'icmp');
  return f === undefined ? null : (f.proto as ProbeProto);
}

/** The connect-rate or datagram plan of `p`, whose flows are not http; `source` names the profile in a refusal. */
export function probePlanOf(p: Profile, source: string): ProbeModePlan {
  const refuse = (ptr: string, why: string): never => {
    throw new InvalidProfileError(ptr, why, source);
  };
  const i = p.flows.findIndex((g) => g.proto === 'tcp' || g.proto === 'udp' || g.proto === 'icmp');
  const f = p.flows[i];
  const proto = f.proto as ProbeProto;
  if (p.flows.length > 1) refuse(`/flows/${i}/proto`, `a ${proto} flow is its profile's only flow in this version (http and https flows may be many)`);
  const l = p.load;
  // Stages scale the rate: target_cps of the open model's connections, target_rps of datagrams.
  const stages = stageSpans(p);
  const held = stages.every((s) => s.from === 1 && s.to === 1);
  if (!held && proto === 'tcp' && l.model !== 'open') {
    refuse(l.stages !== undefined ? '/load/stages' : '/load/ramp_up_secs', 'stages scale a tcp flow\'s load.target_cps: give load.model "open"');
  }
  // A source range is checked as owned, on the flow's VLAN, where the run knows its addresses (checkSources).
  const src = f.src_ip_lo !== undefined && f.src_ip_hi !== undefined ? { srcLo: parseIp(f.src_ip_lo), srcHi: parseIp(f.src_ip_hi) } : {};
  if (f.enable_tls) refuse('/flows/0/enable_tls', 'TLS runs on http(s) flows in this version');
  const dstIp = parseIp(f.dst_ip);
  if (proto === 'tcp') {
    if (l.target_rps !== undefined) refuse('/load/target_rps', 'a tcp flow opens connections: its rate is load.target_cps (open model)');
    const open = l.model === 'open';
    return {
      kind: 'tcp_connect',
      dstIp,
      dstPort: f.dst_port ?? 0,
      // The open model's arrivals at target_cps, at most max_concurrent open; the closed model's connections, each replaced as it closes.
      connections: open ? l.max_concurrent : l.connections,
      requests: l.requests,
      rate: open ? (l.target_cps ?? 0) : 0,
      close: f.close,
      payloadSize: f.payload_size,
      ...(held ? {} : { stages }),
      ...(f.dscp !== 0 ? { dscp: f.dscp } : {}),
      ...src,
    };
  }
  if (l.target_cps !== undefined) refuse('/load/target_cps', `a ${proto} flow sends datagrams: its rate is load.target_rps`);
  const payloadSize = f.payload_size === 0 ? DEFAULT_DATAGRAM_PAYLOAD : f.payload_size;
  if (payloadSize < PROBE_HDR || payloadSize > UDP_MAX_PAYLOAD) refuse('/flows/0/payload_size', `a ${proto} datagram carries ${PROBE_HDR}..${UDP_MAX_PAYLOAD} bytes (vaigAI's probe header is ${PROBE_HDR})`);
  return {
    kind: proto === 'udp' ? 'udp_client' : 'icmp_client',
    dstIp,
    dstPort: f.dst_port ?? 0,
    requests: l.requests,
    rate: l.target_rps ?? 0,
    payloadSize,
    ...(held ? {} : { stages }),
    ...(f.dscp !== 0 ? { dscp: f.dscp } : {}),
    ...src,
  };
}
