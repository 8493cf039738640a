/**
 * An HTTP load between two vaigAI hosts in one thread: an Http1Server on the
 * server end of a RingPair, a LoadRun on the client end, both polled in turn
 * by a busy loop. The HTTP benchmark (bench/http_stack.ts) drives it.
 */
import type { Clock } from '../common/clock.js';
import { Http1Server } from '../app/http11/server.js';
import type { PhaseRecorder } from '../telemetry/phases.js';
import { LoadRun, stackClock } from './load.js';
import { RingPair } from './ring_pair.js';

export interface RingLoadOptions {
  clock: Clock;
  clientIp: number;
  serverIp: number;
  connections: number;
  pipeline: number;
  /** 0 = keep-alive. */
  requestsPerConnection: number;
  /** Body size of each answer. */
  bodySize: number;
  durationUs: number;
  /** TCBs per host. */
  maxConns: number;
  /** Where the client records its phase times, as on a worker; absent: nowhere. */
  phases?: PhaseRecorder;
}

export interface RingLoadResult {
  load: LoadRun;
  server: Http1Server;
  pair: RingPair;
  /** Process CPU time used by the run, µs (user + system). */
  cpuUs: number;
}

/** The two hosts of a ring load, an Http1Server listening on the server's port 80. */
export function ringServerPair(o: Pick<RingLoadOptions, 'clock' | 'clientIp' | 'serverIp' | 'maxConns' | 'bodySize'>): { pair: RingPair; server: Http1Server } {
  const pair = new RingPair({
    clock: o.clock,
    clientIp: o.clientIp,
    serverIp: o.serverIp,
    // TIME_WAIT stays short: a connection per request would otherwise hold every TCB.
    tcp: { maxConns: o.maxConns, timeWaitUs: 1_000_000, bufferBytes: 32 * 1024 * 1024 },
  });
  const server = new Http1Server({ transport: pair.server.tcp, port: 80, bodySize: o.bodySize });
  if (server.listen() < 0) throw new Error('ring load: listen failed');
  return { pair, server };
}

export function runRingLoad(o: RingLoadOptions): RingLoadResult {
  const { pair, server } = ringServerPair(o);
  const load = new LoadRun({
    transport: pair.client.tcp,
    clock: o.clock,
    latencyClock: stackClock(pair.client.tcp),
    srcIp: o.clientIp,
    dstIp: o.serverIp,
    dstPort: 80,
    host: 'vaigai',
    request: { method: 'GET', path: '/' },
    connections: o.connections,
    pipeline: o.pipeline,
    requestsPerConnection: o.requestsPerConnection,
    totalRequests: 0,
    durationUs: o.durationUs,
    rate: 0,
    maxConns: o.maxConns,
    sha256: false,
    expectSha256: null,
    keepBodies: false,
    onBody: null,
    ...(o.phases !== undefined ? { phases: o.phases } : {}),
  });
  const cpu0 = process.cpuUsage();
  load.start();
  // Past the time bound, open requests get one more second to finish.
  const hardEnd = load.startUs + o.durationUs + 1_000_000;
  let now = load.startUs;
  while (!load.done && now < hardEnd) {
    pair.poll();
    now = o.clock.nowUs();
    load.tick(now);
  }
  const cpu = process.cpuUsage(cpu0);
  return { load, server, pair, cpuUs: cpu.user + cpu.system };
}
