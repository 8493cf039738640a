/**
 * What the device's TX stamps cost: vaigAI's client over af_packet against
 * nginx (bench/suite/lab.ts's network, generator on core 0, nginx on core 1),
 * with the ring socket asking for the device's transmit stamp of a burst that
 * follows 100 µs without a send (`tx_stamps=1`, the default: one error-queue
 * read for such a burst) and without (`tx_stamps=0`: the hand-over time before
 * the send call), interleaved round by round.
 * Keep-alive and one connection per request, 64 connections; prints each
 * side's rate and CPU per request (medians), and the ratio with stamps to
 * without.
 *
 *   node dist/bench/tx_stamp_cost.js [seconds = 3] [rounds = 3]
 */
import { join } from 'node:path';
import { CLIENT_RANGE, SuiteLab } from './suite/lab.js';
import { runVaigaiClient } from './vaigai_run.js';

const SECONDS = Number(process.argv[2] ?? 3);
const ROUNDS = Number(process.argv[3] ?? 3);
const CONNS = 64;

interface Figure {
  rate: number;
  cpuUsPerReq: number;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function run(sl: SuiteLab, stamps: boolean, cpr: boolean): Promise<Figure> {
  const args = ['--port', `af_packet:iface=${sl.genIf},tx_stamps=${stamps ? 1 : 0}`, '--src-ip', CLIENT_RANGE, '--client', sl.nginxUrl(), '--connections', String(CONNS), ...(cpr ? ['--conn-per-request'] : [])];
  const r = await runVaigaiClient(sl.lab, sl.gen, 0, args, SECONDS, join(sl.dir, 'client.json'));
  const rate = r.json.app.requestsPerSecond;
  return { rate, cpuUsPerReq: (r.cpu * 1e6) / rate };
}

async function main(): Promise<void> {
  const sl = new SuiteLab();
  try {
    await sl.startNginx();
    console.log(`${SECONDS} s per run, ${ROUNDS} rounds interleaved; vaigAI on af_packet (core 0) against nginx (core 1), ${CONNS} connections`);
    for (const cpr of [false, true]) {
      const stamped: Figure[] = [];
      const unstamped: Figure[] = [];
      for (let i = 0; i < ROUNDS; i++) {
        stamped.push(await run(sl, true, cpr));
        unstamped.push(await run(sl, false, cpr));
      }
      const f = (xs: Figure[]): Figure => ({ rate: median(xs.map((x) => x.rate)), cpuUsPerReq: median(xs.map((x) => x.cpuUsPerReq)) });
      const a = f(stamped);
      const b = f(unstamped);
      const name = cpr ? 'conn per request' : 'keep-alive';
      console.log(`${name.padEnd(17)} tx_stamps=1 ${a.rate.toFixed(0)}/s ${a.cpuUsPerReq.toFixed(1)} µs CPU/req | tx_stamps=0 ${b.rate.toFixed(0)}/s ${b.cpuUsPerReq.toFixed(1)} µs CPU/req | rate ratio ${(a.rate / b.rate).toFixed(3)}x, CPU/req ratio ${(a.cpuUsPerReq / b.cpuUsPerReq).toFixed(3)}x`);
    }
  } finally {
    await sl.cleanup();
  }
}

await main();
