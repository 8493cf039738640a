/**
 * What a run is asked to do, as the command line (and later a profile) gives
 * it: the port, the owned addresses and routes, the mode and its settings.
 * The run layer turns a plan into ports, workers, the engine and telemetry.
 */
import type { ClientPlan, ServerTimeouts, TlsVersion } from '../engine/modes.js';
import type { ListenPlan } from '../engine/listen.js';
import type { ProbePlan } from '../engine/probe.js';
import type { TcpConnectPlan } from '../engine/tcp_connect.js';
import type { TlsEngine } from '../tls/engine.js';
import type { AddrRange, RouteConfig } from '../net/stack.js';
import type { Profile } from './profile.js';
import type { CcName } from '../net/tcp/reno.js';
import type { EcnMode } from '../net/tcp/ecn.js';
import type { Threshold } from './threshold.js';

/** The HTTP responder (--server). */
export interface ServerPlan {
  kind: 'http';
  port: number;
  status: number;
  bodySize: number;
  /** PEM files when serving HTTPS, else null. */
  tls: { cert: string; key: string; version: TlsVersion | null; engine: TlsEngine } | null;
  /** --header-timeout and --idle-timeout. */
  timeouts: ServerTimeouts;
  /** --count-targets: requests by request-target in the summary and --json. */
  countTargets: boolean;
}

/** Plain TCP bulk modes: discard what arrives, or send `bytes` per connection. */
export interface BulkPlan {
  kind: 'sink' | 'source';
  port: number;
  bytes: number;
  sha256: boolean;
}

export type ModePlan =
  | { kind: 'stack' }
  | ServerPlan
  | BulkPlan
  /** The client's load comes with the profile it was made from (flags build a one-flow profile). */
  | ({ kind: 'client'; profile: Profile } & ClientPlan)
  /** --client tcp:// or a tcp flow: the TCP connect rate (with the profile it was made from). */
  | ({ kind: 'tcp_connect'; profile: Profile } & TcpConnectPlan)
  /** --client udp:// and icmp://, or such a flow: datagrams at a rate. */
  | ({ kind: 'udp_client' | 'icmp_client'; profile: Profile } & ProbePlan)
  /** --listen (repeatable). */
  | ({ kind: 'listen' } & ListenPlan);

export interface RunPlan {
  portSpec: string;
  addrs: AddrRange[];
  routes: RouteConfig[];
  /** Our MAC, or -1 for the port's own. */
  mac: number;
  /** Seconds to run; 0 = until a signal. */
  durationS: number;
  /** Seconds open requests may take to finish once the run stops (--drain). */
  drainS: number;
  /** Where to write the run's result as JSON at the end (result_schema.ts), or null. */
  jsonPath: string | null;
  /** Pass criteria of a client run (the profile's, then --threshold's), measured at the end. */
  thresholds: Threshold[];
  /** --abort-on-fail: stop once a threshold has failed for good. */
  abortOnFail: boolean;
  /** --out ndjson=FILE: the run's events as they happen, or null. */
  ndjsonPath: string | null;
  /** --hdr-log FILE: HdrHistogram's interval log of every phase, or null. */
  hdrLogPath: string | null;
  mode: ModePlan;
  /** TCBs of the TCP layer. */
  maxConns: number;
  /** Per-connection TCP window and send buffer in bytes (--tcp-window); 0 = the TCP defaults. */
  tcpWindow: number;
  /** TCP congestion control (--cc). */
  cc: CcName;
  /** ECN (--ecn). */
  ecn: EcnMode;
  /** dpdk EAL arguments given after `--` (appended to the spec's `eal=`). */
  ealArgs: string[];
  /** Capture file, or null. */
  pcapPath: string | null;
  /** Where TLS secrets go and which setting named the file, or null (no TLS, or not asked for). */
  keylog: { path: string; from: '--sslkeylog' | 'SSLKEYLOGFILE' } | null;
}
