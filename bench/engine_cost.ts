/**
 * What the engine adds to the stack's CPU per request (issue 20: at most 10%).
 * The same ring pair, HTTP server and response parser in one thread, driven
 * by turns by
 *   - bare: the thinnest client on the stack (bench/bare_client.ts), and
 *   - engine: the `vaigai` client's engine (LoadRun and Http1Client: the load
 *     model's flow and request picks, budgets, timeouts, counters, and the
 *     phase histograms a worker records into shared memory).
 * Process CPU per request covers both ends, so the bare figure is the stack's
 * and engine / bare - 1 (the median over the rounds' back-to-back pairs) the
 * engine's added share.
 * Usage: node dist/bench/engine_cost.js [seconds per run = 3] [rounds = 5] [connections = 64]
 */
import { monotonicClock } from '../src/common/clock.js';
import { runRingLoad, ringServerPair } from '../src/engine/ring_load.js';
import { LATENCY_PARAMS } from '../src/engine/load.js';
import { createSharedHistograms } from '../src/telemetry/histogram.js';
import { PhaseRecorder, phaseSlots } from '../src/telemetry/phases.js';
import { parseIp } from '../src/wire/ipv4_addr.js';
import { runBare } from './bare_client.js';

const SECONDS = Number(process.argv[2] ?? 3);
const ROUNDS = Number(process.argv[3] ?? 5);
const CONNS = Number(process.argv[4] ?? 64);
const CLIENT = parseIp('198.18.0.1');
const SERVER = parseIp('198.18.0.2');
const BODY = 64;
const MAX_CONNS = 65536;

interface Figure {
  rate: number;
  cpuUsPerReq: number;
}

function bare(connPerRequest: boolean): Figure {
  const { pair } = ringServerPair({ clock: monotonicClock, clientIp: CLIENT, serverIp: SERVER, maxConns: MAX_CONNS, bodySize: BODY });
  const cpu0 = process.cpuUsage();
  const r = runBare(pair, monotonicClock, CLIENT, SERVER, { connections: CONNS, connPerRequest, durationUs: SECONDS * 1e6 });
  const cpu = process.cpuUsage(cpu0);
  pair.close();
  if (r.failures > 0) console.log(`  (bare: ${r.failures} failures)`);
  return { rate: r.responses / (r.elapsedUs / 1e6), cpuUsPerReq: (cpu.user + cpu.system) / Math.max(1, r.responses) };
}

function engine(connPerRequest: boolean): Figure {
  const phases = new PhaseRecorder(createSharedHistograms(LATENCY_PARAMS, 1, phaseSlots(1)), 0, 1);
  const r = runRingLoad({
    clock: monotonicClock,
    clientIp: CLIENT,
    serverIp: SERVER,
    connections: CONNS,
    pipeline: 1,
    requestsPerConnection: connPerRequest ? 1 : 0,
    bodySize: BODY,
    durationUs: SECONDS * 1e6,
    maxConns: MAX_CONNS,
    phases,
  });
  const s = r.load.snapshot();
  r.pair.close();
  if (s.failedRequests + s.connectFailures > 0) console.log(`  (engine: ${s.failedRequests} failed requests, ${s.connectFailures} failed connections)`);
  return { rate: s.responses / (r.load.elapsedUs() / 1e6), cpuUsPerReq: r.cpuUs / Math.max(1, s.responses) };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const us = (x: number): string => x.toFixed(2);

console.log(`engine cost: ${ROUNDS} alternated rounds of ${SECONDS} s, ${CONNS} connections, ${BODY}-byte bodies, both ends in one thread on a ring`);
// One warm-up of each, so neither side pays the JIT's start in the figures.
bare(false);
engine(false);
console.log('| load | bare: CPU per request (µs), median (rounds) | engine | engine added (median of the pairs) | rates bare / engine (k/s) |');
console.log('|---|---|---|---|---|');
for (const [label, cpr] of [
  ['keep-alive', false],
  ['connection per request', true],
] as const) {
  const b: Figure[] = [];
  const e: Figure[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    // Alternate which goes first, so a slow spell of the machine falls on both.
    if (i % 2 === 0) {
      b.push(bare(cpr));
      e.push(engine(cpr));
    } else {
      e.push(engine(cpr));
      b.push(bare(cpr));
    }
  }
  const mb = median(b.map((f) => f.cpuUsPerReq));
  const me = median(e.map((f) => f.cpuUsPerReq));
  // Each round's pair ran back to back, under the same load of the machine: the median of their ratios is the figure.
  const added = median(e.map((f, i) => f.cpuUsPerReq / b[i].cpuUsPerReq - 1));
  console.log(
    `| ${label} | ${us(mb)} (${b.map((f) => us(f.cpuUsPerReq)).join(', ')}) | ${us(me)} (${e.map((f) => us(f.cpuUsPerReq)).join(', ')}) | ` +
      `**${(added * 100).toFixed(1)}%** | ${(median(b.map((f) => f.rate)) / 1e3).toFixed(1)} / ${(median(e.map((f) => f.rate)) / 1e3).toFixed(1)} |`,
  );
}
