/**
 * The long-running generator: it brings the stack up on its workers and
 * waits for commands (`vaigai --interactive`, or `vaigai -R PORT` with no
 * load), starts and stops loads, changes them live, and answers what it is
 * doing. The console, the REST API and /metrics all drive this one object.
 *
 * Idle and loaded are two sessions of the one run path (runSession), one
 * after the other on the same port and the same neighbour table: while idle,
 * the workers run the stack with no application (ARP, ping); `start`
 * stops that session and starts one with the load; when the load ends
 * (its bound, `stop`), an idle session takes over again. Why not add the load
 * to the idle workers through the IPC rings: a worker's pipeline, its metric
 * slab (every flow's counters by name), its steering rings and TCP layer and
 * its share of the load are all built from the load when the worker starts,
 * and a 256-byte IPC record cannot carry a profile; rebuilding them inside a
 * running worker would be a second start path. The switch costs closing and
 * reopening the port's queues (milliseconds); the ARP table, a
 * SharedArrayBuffer, survives it. What the IPC rings do carry is what the
 * load engine can take mid-run: its rates and concurrency (`set`, config
 * patches), each worker acking with its code within LIVE_ACK_MS.
 *
 * The last load's counters stay readable (stats, /metrics) after it ended,
 * until the next start or `reset`, as a traffic generator's console shows them.
 *
 * Events: 'state' (state, previous), 'config' (profile), 'live' (LiveResult),
 * 'result' (RunResult of the load that ended), 'error' (Error).
 */
import { EventEmitter } from 'node:events';
import { closeSync, openSync } from 'node:fs';
import { FileAccessError, InvalidOptionError, InvalidProfileError, NotLiveError, StateError } from '../common/errors.js';
import type { ArpCache } from '../net/arp_cache.js';
import type { Histogram } from '../telemetry/histogram.js';
import type { MetricsSnapshot } from '../telemetry/metrics.js';
import { ipToString, parseIp } from '../wire/ipv4_addr.js';
import { macToString } from '../wire/mac.js';
import { liveChange, liveShares, mergePatch } from './config_patch.js';
import type { ModePlan, RunPlan } from './plan.js';
import type { Profile } from './profile.js';
import { checkProfile } from './profile_check.js';
import { probePlanOf } from './probe_profile.js';
import { newArpCache, probeRateShares, runSession, type LiveSession, type RunWorkersOptions } from './session.js';
import type { RunResult } from './result_schema.js';
import { mergedPhases, PHASES, type PhaseName } from '../telemetry/phases.js';
import { LIVE_NO_SHARE, MAC_METRIC } from './stack_pipeline.js';
import { LIVE_ACK_MS, type WorkerAck } from './workers.js';
import { LiveTrace } from './live_trace.js';
import { logControllerEvents } from './controller_log.js';

export type ControllerState = 'starting' | 'idle' | 'running' | 'stopping' | 'closed';

/** A load as the run layer runs it: its mode and its time bound. */
export interface LoadPlan {
  mode: ModePlan;
  /** Seconds; 0: until stopped (or the load's own count). */
  durationS: number;
}

export interface ControllerOptions {
  /** The stack (port, addresses, routes, TCP); its mode is the idle session's: { kind: 'stack' }, or a server that runs throughout. */
  plan: RunPlan;
  workers: number;
  /**
   * A profile's load, checked beyond its schema (destinations reachable,
   * sources owned...): the management layer's planner. Throws a VaigaiError
   * naming the field (InvalidProfileError with its pointer).
   */
  planLoad: (profile: Profile, source: string) => LoadPlan;
  /** A load to start at once (the command line's). */
  initial?: LoadPlan;
  /** Close once the initial load ends instead of idling (a run from the command line). */
  exitWhenDone?: boolean;
  log?: (line: string) => void;
  session?: Pick<RunWorkersOptions, 'cpus' | 'loop'>;
}

/** One worker's answer to a live change: rc 0 applied; null: no ack within LIVE_ACK_MS. */
export interface LiveAck {
  worker: number;
  rc: number | null;
  /** What the rc means. */
  status: 'applied' | 'no-share' | 'refused' | 'late';
}

/** What a config change did: the new profile (null for a tcp://, udp:// or icmp:// load's rate); when a load ran, the workers' acks. */
export interface LiveResult {
  config: Profile | null;
  /** True when the change reached a running load. */
  live: boolean;
  acks: LiveAck[];
  /** Workers that did not ack within LIVE_ACK_MS. */
  late: number[];
}

export interface ControllerStatus {
  state: ControllerState;
  /** ISO 8601 time of the last state change. */
  since: string;
  workers: number;
  /** Seconds the current (or last) load has run, or null without one. */
  loadSeconds: number | null;
  /** The current config has a load to start. */
  configured: boolean;
  /** The last error of a load (it failed to start, or a worker failed), or null. */
  lastError: string | null;
}

/** What stats and /metrics read: a session's counters, live while it runs, frozen once it ended. */
export interface RunView {
  readonly kind: 'idle' | 'load';
  /** The run's result (what --json holds), with its per-second series. */
  json(): RunResult;
  /** Each worker's counters by slab name. */
  perWorker(): MetricsSnapshot[];
  /** Each latency phase that holds values (µs), merged over the workers; none for a session that times none. */
  phases(): Partial<Record<PhaseName, Histogram>>;
  /** The load's flow names (app_flow<i>_* counters), [] without. */
  readonly flows: readonly string[];
}

export type ShowTopic = 'interface' | 'config' | 'flows' | 'arp' | 'routes' | 'workers' | 'connections';
export const SHOW_TOPICS: readonly ShowTopic[] = ['interface', 'config', 'flows', 'arp', 'routes', 'workers', 'connections'];

class LiveView implements RunView {
  constructor(
    readonly kind: 'idle' | 'load',
    private readonly live: LiveSession,
    readonly flows: readonly string[],
  ) {}
  json(): RunResult {
    return this.live.result();
  }
  perWorker(): MetricsSnapshot[] {
    return Array.from({ length: this.live.workers.size }, (_, w) => this.live.workers.metricsOf(w));
  }
  phases(): Partial<Record<PhaseName, Histogram>> {
    const shared = this.live.workers.sharedHistograms;
    const out: Partial<Record<PhaseName, Histogram>> = {};
    if (shared === null) return out;
    mergedPhases(shared, this.flows.length).forEach((h, i) => {
      if (h.totalCount > 0) out[PHASES[i]] = h;
    });
    return out;
  }
  get workers(): LiveSession['workers'] {
    return this.live.workers;
  }
}

/** A view read once its session ended (its workers' slabs and histograms outlive them), with the session's final result. */
function frozen(v: RunView, result: RunResult): RunView {
  const per = v.perWorker();
  const phases = v.phases();
  return { kind: v.kind, flows: v.flows, json: () => result, perWorker: () => per, phases: () => phases };
}

/** A load asked for: what runs, the profile it came from, who waits for it to run and to end. */
interface PendingLoad {
  load: LoadPlan;
  profile: Profile | null;
  started: Deferred<void> | null;
  ended: Deferred<RunResult>;
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (v: T) => void;
  reject: (e: unknown) => void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A live change's answer from the workers' acks. */
function liveResult(config: Profile | null, acks: WorkerAck[]): LiveResult {
  return {
    config,
    live: true,
    acks: acks.map(({ worker, rc }) => ({ worker, rc, status: rc === null ? 'late' : rc === 0 ? 'applied' : rc === LIVE_NO_SHARE ? 'no-share' : 'refused' })),
    late: acks.filter((a) => a.rc === null).map((a) => a.worker),
  };
}

function sum(per: MetricsSnapshot[], name: string): number {
  let n = 0;
  for (const m of per) n += m[name] ?? 0;
  return n;
}

export class Controller extends EventEmitter {
  private stateNow: ControllerState = 'starting';
  private sinceMs = Date.now();
  private readonly arp: ArpCache = newArpCache();
  private profile: Profile | null = null;
  /** The session running now (idle or load), null between sessions. */
  private current: LiveView | null = null;
  /** The current load's ClientPlan source profile, for live changes; null while idle. */
  private loadProfile: Profile | null = null;
  /** The running load's mode, for a tcp://, udp:// or icmp:// load's live rate; null while idle. */
  private loadMode: ModePlan | null = null;
  private last: RunView | null = null;
  private lastFailure: Error | null = null;
  private abort: AbortController | null = null;
  private pending: PendingLoad | null = null;
  private ending: Deferred<RunResult> | null = null;
  private loadStartMs = 0;
  private loadEndMs = 0;
  private closing = false;
  private readonly done: Promise<void>;
  private readonly log: (line: string) => void;
  /** The live capture running, or null. */
  private tracing: LiveTrace | null = null;

  private constructor(private readonly opts: ControllerOptions) {
    super();
    this.log = opts.log ?? ((l: string) => console.log(l));
    if (opts.initial?.mode.kind === 'client') this.profile = opts.initial.mode.profile;
    this.done = this.loop();
  }

  /** Brings the stack up (and the initial load, when given); resolves once it runs, rejects when it could not start. */
  static async open(opts: ControllerOptions): Promise<Controller> {
    const c = new Controller(opts);
    logControllerEvents(c);
    await new Promise<void>((resolve, reject) => {
      const onState = (s: ControllerState): void => {
        if (s === 'idle' || s === 'running') done(null);
      };
      const done = (e: unknown): void => {
        c.off('state', onState);
        if (e === null) resolve();
        else reject(e);
      };
      c.on('state', onState);
      c.done.then(() => done(c.lastFailure ?? new StateError('the generator stopped before it ran')), done);
    });
    return c;
  }

  /** Why the last load (or the stack) failed, or null. */
  get failure(): Error | null {
    return this.lastFailure;
  }

  get state(): ControllerState {
    return this.stateNow;
  }

  /** Resolves once the generator closed (close(), or its initial load ended with exitWhenDone). */
  get closed(): Promise<void> {
    return this.done;
  }

  status(): ControllerStatus {
    const end = this.stateNow === 'running' || this.stateNow === 'stopping' ? Date.now() : this.loadEndMs;
    return {
      state: this.stateNow,
      since: new Date(this.sinceMs).toISOString(),
      workers: this.opts.workers,
      loadSeconds: this.view()?.kind === 'load' ? (end - this.loadStartMs) / 1000 : null,
      configured: this.profile !== null,
      lastError: this.lastFailure?.message ?? null,
    };
  }

  /** The counters stats and /metrics show: the running load's, else the last load's, else the idle stack's. */
  view(): RunView | null {
    if (this.current?.kind === 'load') return this.current;
    return this.last ?? this.current;
  }

  /** The result of the view (as --json writes it, its per-second series included), with the state. */
  stats(): RunResult & { state: ControllerState } {
    const v = this.view();
    if (v === null) throw new StateError('the stack is between sessions: try again');
    return { state: this.stateNow, ...v.json() };
  }

  /** The view's latency histograms (µs) by phase (src/telemetry/phases.ts); none for a view that times none. */
  latencyPhases(): Partial<Record<PhaseName, Histogram>> {
    return this.view()?.phases() ?? {};
  }

  /** latencyPhases(), each HdrHistogram V2 compressed and base64 encoded. */
  histograms(): Record<string, string> {
    return Object.fromEntries(Object.entries(this.latencyPhases()).map(([k, h]) => [k, (h as Histogram).encode()]));
  }

  /** Clears the last load's counters (refused while a load runs). */
  reset(): void {
    if (this.stateNow !== 'idle') throw new StateError(`reset: the generator is ${this.stateNow}; stop the load first`);
    this.last = null;
    this.loadStartMs = 0;
    this.lastFailure = null;
  }

  /** The current traffic profile (what `start` runs), or null when none was given. */
  getConfig(): Profile | null {
    return this.profile === null ? null : structuredClone(this.profile);
  }

  /** Replaces the profile whole (checked whole first; live when a load runs and only its targets change). */
  putConfig(raw: unknown, source = 'config'): Promise<LiveResult> {
    return this.change(raw, source);
  }

  /** Applies a JSON Merge Patch (RFC 7396) to a copy of the profile, checked whole, then as putConfig. */
  patchConfig(patch: unknown, source = 'config'): Promise<LiveResult> {
    if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) throw new InvalidProfileError('', 'a merge patch of the profile is a JSON object', source);
    return this.change(mergePatch(this.profile ?? {}, patch), source);
  }

  /** `set cps|rps|concurrency N`: the profile's target (concurrency: the closed model's connections, the open model's cap). */
  set(what: 'cps' | 'rps' | 'concurrency', value: number): Promise<LiveResult> {
    const probe = this.stateNow === 'running' && this.loadProfile === null ? this.loadMode : null;
    if (probe !== null) return this.setProbeRate(probe, what, value);
    const p = this.profile;
    if (p === null) throw new StateError('set: no profile: start a load or PUT a config first');
    const field = what === 'cps' ? 'target_cps' : what === 'rps' ? 'target_rps' : p.load.model === 'open' ? 'max_concurrent' : 'connections';
    return this.patchConfig({ load: { [field]: value } }, `set ${what}`);
  }

  /** `set` on a running tcp:// (cps), udp:// or icmp:// (rps) load: its one rate, each worker its share. */
  private async setProbeRate(mode: ModePlan, what: 'cps' | 'rps' | 'concurrency', value: number): Promise<LiveResult> {
    const takes = mode.kind === 'tcp_connect' ? 'cps' : 'rps';
    if (what !== takes) throw new NotLiveError('', `a ${mode.kind} load has one rate: set ${takes}`, `set ${what}`);
    if (!(value > 0 && value <= 1e9)) throw new InvalidProfileError('', `${value} is not a rate in (0, 1e9]`, `set ${what}`);
    const shares = probeRateShares({ ...mode, rate: value } as ModePlan, this.opts.workers);
    const acks = this.current === null ? [] : await this.current.workers.updateEach(shares.map((r) => ({ op: 'set', [takes]: r })), LIVE_ACK_MS);
    const out = liveResult(null, acks);
    this.emit('live', out);
    return out;
  }

  private async change(raw: unknown, source: string): Promise<LiveResult> {
    if (this.stateNow !== 'idle' && this.stateNow !== 'running') throw new StateError(`config: the generator is ${this.stateNow}; try again`);
    const next = checkProfile(raw, source);
    const plan = this.opts.planLoad(next, source);
    const running = this.stateNow === 'running' ? this.loadProfile : null;
    if (running === null || this.current?.kind !== 'load' || plan.mode.kind !== 'client') {
      this.profile = next;
      this.emit('config', next);
      return { config: structuredClone(next), live: false, acks: [], late: [] };
    }
    const changed = liveChange(running, next, source);
    const shares = liveShares(plan.mode, this.opts.workers, changed);
    const acks = changed.length === 0 ? [] : await this.current.workers.updateEach(shares.map((t) => ({ op: 'set', ...t })), LIVE_ACK_MS);
    this.profile = next;
    this.loadProfile = next;
    const out = liveResult(structuredClone(next), acks);
    this.emit('config', next);
    this.emit('live', out);
    return out;
  }

  /**
   * Starts a load: the one given, else the current profile's. Resolves once
   * every worker runs it; rejects (and the generator idles again) when it
   * could not start.
   */
  async start(load?: LoadPlan): Promise<ControllerStatus> {
    if (this.stateNow !== 'idle') throw new StateError(`start: the generator is ${this.stateNow}`);
    if (this.opts.plan.mode.kind !== 'stack') throw new StateError(`start: this generator runs a ${this.opts.plan.mode.kind} service; loads start on one started without a mode`);
    let profile: Profile | null = load?.mode.kind === 'client' ? load.mode.profile : null;
    if (load === undefined) {
      if (this.profile === null) throw new StateError('start: no profile: give a load (run flags or --config) or PUT a config first');
      profile = this.profile;
      load = this.opts.planLoad(profile, 'config');
    }
    // A load started from its flags or a file becomes the config that `set`, `save` and GET /config see.
    if (profile !== null && profile !== this.profile) {
      this.profile = profile;
      this.emit('config', profile);
    }
    const started = deferred<void>();
    this.pending = { load, profile, started, ended: deferred<RunResult>() };
    this.abort?.abort();
    await started.promise;
    return this.status();
  }

  /** Stops the running load (drain, then close every connection, as SIGINT does); resolves with its final counters. */
  async stop(): Promise<RunResult> {
    if (this.stateNow !== 'running' || this.ending === null) throw new StateError(`stop: the generator is ${this.stateNow}; no load runs`);
    const ending = this.ending;
    this.setState('stopping');
    this.abort?.abort();
    const r = await ending.promise;
    await this.settled();
    return r;
  }

  /** Resolves once the generator is idle (or closed) again: a load's end resolves before the idle session is up. */
  private settled(): Promise<void> {
    const done = (s: ControllerState): boolean => s === 'idle' || s === 'closed';
    if (done(this.stateNow)) return Promise.resolve();
    return new Promise((resolve) => {
      const on = (s: ControllerState): void => {
        if (!done(s)) return;
        this.off('state', on);
        resolve();
      };
      this.on('state', on);
    });
  }

  /** `ping IP [count] [size] [interval_ms]`: ICMP echo from the stack (a short load of its own); resolves with its summary. */
  async ping(ip: string, count = 4, size = 64, intervalMs = 1000): Promise<unknown> {
    const dst = parseIp(ip);
    if (dst < 0) throw new InvalidProfileError('', `"${ip}" is not an IPv4 address`, 'ping');
    if (!(Number.isInteger(count) && count >= 1 && count <= 1e6)) throw new InvalidProfileError('', `count ${count} is not an integer in 1..1000000`, 'ping');
    if (!(Number.isInteger(size) && size >= 16 && size <= 1472)) throw new InvalidProfileError('', `size ${size} is not an integer in 16..1472`, 'ping');
    if (!(intervalMs >= 1 && intervalMs <= 60_000)) throw new InvalidProfileError('', `interval ${intervalMs} ms is not in 1..60000`, 'ping');
    // A one-flow icmp profile, as `--client icmp://` builds.
    const profile = checkProfile({ flows: [{ name: 'ping', dst_ip: ip, proto: 'icmp', payload_size: size }], load: { target_rps: 1000 / intervalMs, requests: count } }, 'ping');
    await this.start({ mode: { ...probePlanOf(profile, 'ping'), profile }, durationS: 0 });
    const ended = this.ending;
    if (ended === null) throw new StateError('ping: the probe ended before it ran');
    const app = (await ended.promise).app;
    // The next command finds the generator idle, as it was.
    await this.settled();
    return app;
  }

  /**
   * `trace start FILE`: every frame the workers receive and send, from now
   * on and across loads, until `trace stop`, which writes FILE (pcapng) and
   * resolves with its frames (live_trace.ts).
   */
  async trace(action: 'start' | 'stop', file?: string): Promise<{ file: string; frames: number | null }> {
    if (action === 'stop') {
      const t = this.tracing;
      if (t === null) throw new StateError('trace stop: no trace runs');
      this.tracing = null;
      return { file: t.file, frames: await t.finish(this.current?.workers ?? null) };
    }
    if (file === undefined || file === '') throw new InvalidOptionError('trace', 'give the capture file: trace start FILE.pcapng');
    if (this.tracing !== null) throw new StateError(`trace start: already tracing to ${this.tracing.file}`);
    if (this.opts.plan.pcapPath !== null) throw new StateError('trace start: the generator captures with --pcap already');
    try {
      closeSync(openSync(file, 'w'));
    } catch (e) {
      throw new FileAccessError('trace', `cannot write "${file}": ${(e as Error).message}`);
    }
    const t = new LiveTrace(file);
    this.tracing = t;
    const live = this.current;
    if (live !== null) await t.attach(live.workers).catch((e: unknown) => {
      this.tracing = null;
      throw e;
    });
    return { file, frames: null };
  }

  /** `show ...`: what the generator holds, as plain JSON. */
  show(topic: ShowTopic): unknown {
    const plan = this.opts.plan;
    const v = this.view();
    const per = v?.perWorker() ?? [];
    const live = this.current;
    switch (topic) {
      case 'config':
        return this.getConfig();
      case 'interface':
        return {
          port: plan.portSpec,
          mac: per.length > 0 ? macToString(per[0][MAC_METRIC]) : null,
          addresses: plan.addrs.map((a) => `${ipToString(a.lo)}-${ipToString(a.hi)}/${a.prefixLen}${a.vlan >= 0 ? ` vlan ${a.vlan}` : ''}`),
          workers: this.opts.workers,
          counters: v?.json().port ?? null,
        };
      case 'routes':
        return [
          ...plan.addrs.map((a) => ({ prefix: `${ipToString((a.lo & (a.prefixLen === 0 ? 0 : ~0 << (32 - a.prefixLen))) >>> 0)}/${a.prefixLen}`, via: null, vlan: a.vlan })),
          ...plan.routes.map((r) => ({ prefix: `${ipToString(r.prefix)}/${r.len}`, via: r.gateway === 0 ? null : ipToString(r.gateway), vlan: -1 })),
        ];
      case 'arp':
        return this.arp.entries().map((e) => ({ ip: ipToString(e.ip), vlan: e.vlan, mac: macToString(e.mac), state: e.state === 2 ? 'static' : 'reachable' }));
      case 'workers':
        return per.map((m, w) => ({
          worker: w,
          cpu: live?.workers.pinnedCpus[w] ?? -1,
          rxFrames: m.loop_rx_frames,
          txFrames: m.net_tx_frames,
          polls: m.loop_polls,
          parks: m.loop_parks,
          commands: m.loop_commands,
          commandErrors: m.loop_command_errors,
        }));
      case 'connections':
        return per.map((m, w) => ({
          worker: w,
          activeOpens: m.tcp_active_opens ?? 0,
          passiveOpens: m.tcp_passive_opens ?? 0,
          established: m.tcp_established ?? 0,
          closed: m.tcp_closed ?? 0,
          resets: m.tcp_resets ?? 0,
          open: (m.tcp_active_opens ?? 0) + (m.tcp_passive_opens ?? 0) - (m.tcp_closed ?? 0),
        }));
      case 'flows':
        return (v?.flows ?? []).map((name, i) => ({
          name,
          arrivals: sum(per, `app_flow${i}_arrivals`),
          connects: sum(per, `app_flow${i}_connects`),
          requests: sum(per, `app_flow${i}_requests`),
          responses: sum(per, `app_flow${i}_responses`),
          failedRequests: sum(per, `app_flow${i}_failed_requests`),
        }));
      default:
        throw new InvalidProfileError('', `no such topic "${String(topic)}": ${SHOW_TOPICS.join(', ')}`, 'show');
    }
  }

  /** Stops what runs (a load drains and closes as on SIGINT) and the stack; resolves once every worker exited. */
  async close(): Promise<void> {
    this.closing = true;
    this.abort?.abort();
    await this.done;
    // A trace still running is written, its sessions over.
    await this.tracing?.finish(null);
    this.tracing = null;
  }

  private setState(s: ControllerState): void {
    if (s === this.stateNow) return;
    const prev = this.stateNow;
    this.stateNow = s;
    this.sinceMs = Date.now();
    this.emit('state', s, prev);
  }

  /** Idle and load sessions, one after the other, until close(). */
  private async loop(): Promise<void> {
    const initial = this.opts.initial;
    let next: PendingLoad | null = initial === undefined ? null : { load: initial, profile: this.profile, started: null, ended: deferred<RunResult>() };
    try {
      while (!this.closing) {
        if (next !== null) {
          await this.runLoad(next);
          next = null;
          // A command-line run ends with its load: it never idles, so no other load can follow.
          if (this.opts.exitWhenDone === true) break;
          continue;
        }
        await this.runSessionOf(this.idlePlan(), 'idle', null);
        next = this.pending;
        this.pending = null;
        // The idle session ended on its own: a worker failed.
        if (next === null && !this.closing) throw this.lastFailure ?? new StateError('the stack stopped');
      }
    } catch (e) {
      this.lastFailure = e instanceof Error ? e : new Error(String(e));
      if (this.listenerCount('error') > 0) this.emit('error', e);
    } finally {
      this.setState('closed');
    }
  }

  /**
   * The idle session's plan: the stack (or the service that runs
   * throughout). Without a service it writes neither --json nor --pcap: those
   * are each load's, and an idle session after it would overwrite them.
   */
  private idlePlan(): RunPlan {
    const plan = this.opts.plan;
    return plan.mode.kind === 'stack' ? { ...plan, jsonPath: null, pcapPath: null } : plan;
  }

  private async runLoad(p: PendingLoad): Promise<void> {
    p.ended.promise.catch(() => {});
    this.ending = p.ended;
    this.loadProfile = p.profile;
    this.loadMode = p.load.mode;
    this.lastFailure = null;
    try {
      const { view, result } = await this.runSessionOf({ ...this.opts.plan, mode: p.load.mode, durationS: p.load.durationS }, 'load', p.started);
      if (view === null) throw new StateError('the load ended before it ran');
      this.last = frozen(view, result);
      const json = this.last.json();
      this.emit('result', json);
      p.ended.resolve(json);
    } catch (e) {
      this.lastFailure = e instanceof Error ? e : new Error(String(e));
      // A load that could not start: start() rejects and the generator idles again; one that failed running ends with its error.
      p.started?.reject(e);
      p.ended.reject(e);
    } finally {
      this.loadEndMs = Date.now();
      this.loadProfile = null;
      this.loadMode = null;
      this.ending = null;
    }
  }

  /** One session until it ends; returns its view (null when it never ran) and its result. `started` resolves once it runs. */
  private async runSessionOf(plan: RunPlan, kind: 'idle' | 'load', started: Deferred<void> | null): Promise<{ view: LiveView | null; result: RunResult }> {
    const abort = new AbortController();
    this.abort = abort;
    if (this.closing) abort.abort();
    let view: LiveView | null = null;
    const flows = plan.mode.kind === 'client' ? (plan.mode.flows?.map((f) => f.name) ?? ['flow0']) : [];
    const trace = this.tracing;
    const traceParts = trace?.session(this.opts.workers) ?? [];
    try {
      const ran = await runSession(plan, this.opts.workers, {
        ...this.opts.session,
        log: this.log,
        signal: abort.signal,
        signals: false,
        arp: this.arp,
        // A trace goes on across sessions: their workers capture from their start.
        ...(trace !== null ? { trace: (w: number) => traceParts[w] } : {}),
        onStart: (live) => {
          view = new LiveView(kind, live, flows);
          this.current = view;
          if (kind === 'load') {
            this.last = null;
            this.loadStartMs = Date.now();
          }
          this.setState(kind === 'load' ? 'running' : 'idle');
          started?.resolve();
        },
      });
      return { view, result: ran.result };
    } finally {
      this.current = null;
      this.abort = null;
    }
  }

}
