/**
 * The pure stack: a vaigAI HTTP/1.1 client and server (NetStack + user-space
 * TCP + HTTP each) on an in-memory ring pair in this one thread. Requests (or
 * connections) per second and the process CPU time per request, both ends.
 */
import { monotonicClock } from '../src/common/clock.js';
import { runRingLoad } from '../src/engine/ring_load.js';
import { parseIp } from '../src/wire/ipv4_addr.js';

export interface RingFigure {
  rate: number;
  cpuUsPerReq: number;
}

export interface RingLoad {
  seconds: number;
  connections: number;
  bodySize: number;
  /** Requests per connection, 0: keep-alive. */
  perConn: number;
  pipeline: number;
}

export function ringHttp(o: RingLoad): RingFigure {
  const r = runRingLoad({
    clock: monotonicClock,
    clientIp: parseIp('198.18.0.1'),
    serverIp: parseIp('198.18.0.2'),
    connections: o.connections,
    pipeline: o.pipeline,
    requestsPerConnection: o.perConn,
    bodySize: o.bodySize,
    durationUs: o.seconds * 1e6,
    maxConns: 65536,
  });
  const s = r.load.snapshot();
  const n = s.responses;
  const tc = r.pair.client.tcp.counters;
  const ts = r.pair.server.tcp.counters;
  // What went wrong, if anything: failed requests, failed connections, and the TCP events behind them.
  if (s.failedRequests + s.connectFailures + tc.rtoFires + ts.rtoFires > 0) {
    console.log(
      `  (vaigAI: ${s.failedRequests} failed requests, ${s.connectFailures} failed connections; tcp client/server: rto ${tc.rtoFires}/${ts.rtoFires}` +
        ` paws drops ${tc.pawsDrops}/${ts.pawsDrops} resets ${tc.resets}/${ts.resets} no tcb ${tc.tcbExhausted}/${ts.tcbExhausted}` +
        ` no port ${tc.portExhausted} syn dropped ${ts.synDropped})`,
    );
  }
  r.pair.close();
  return { rate: n / (r.load.elapsedUs() / 1e6), cpuUsPerReq: r.cpuUs / Math.max(1, n) };
}
