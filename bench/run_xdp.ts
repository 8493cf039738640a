/**
 * vaigAI's client against `vaigai --server` over af_xdp: 64 keep-alive
 * connections, the server pinned to one core and the client to the other,
 * one worker each, both started as a user would (`vaigai ...` in two
 * namespaces joined by a veth pair, vgrxb-*). Prints requests/s and each
 * side's CPU (process CPU time over wall time, from /proc), and with
 * `--baseline ROOT` (another checkout, built) the same runs of that tree,
 * alternating with this one, and the ratio.
 *
 *   node dist/bench/run_xdp.js [--seconds 5] [--rounds 3] [--connections 64] [--baseline /tmp/vg-before]
 *
 * Needs root and the af_xdp driver.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { NetnsLab } from '../test/helpers/netns.js';
import { median } from './proc.js';
import { addVaigaiPair, pairRound, type PairRound } from './vaigai_pair.js';
import { MAIN } from './vaigai_run.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '64' },
    baseline: { type: 'string' },
  },
});
const SECONDS = Number(values.seconds);
const ROUNDS = Number(values.rounds);
const CONNS = Number(values.connections);

function fmt(r: PairRound): string {
  return `${(r.rate / 1000).toFixed(1).padStart(7)} k req/s   client CPU ${(r.clientCpu * 100).toFixed(0).padStart(3)}%   server CPU ${(r.serverCpu * 100).toFixed(0).padStart(3)}%`;
}

async function main(): Promise<void> {
  const lab = new NetnsLab('vgrxb-');
  const dir = mkdtempSync(join(tmpdir(), 'vgrxb-'));
  try {
    const pair = addVaigaiPair(lab, '', '198.18.60.10', '198.18.60.1', 'af_xdp', dir);
    const trees: [string, string][] = [['this tree', MAIN]];
    if (values.baseline !== undefined) trees.unshift(['baseline', join(resolve(values.baseline), 'dist/src/main.js')]);
    const results = new Map<string, PairRound[]>(trees.map(([name]) => [name, []]));
    console.log(`vaigai client -> vaigai --server over af_xdp (veth), ${CONNS} keep-alive connections, ${SECONDS} s per run, client on CPU 0, server on CPU 1`);
    for (let i = 0; i < ROUNDS; i++) {
      for (const [name, main] of trees) {
        const r = await pairRound(pair, { seconds: SECONDS, connections: CONNS, connPerRequest: false, main });
        results.get(name)?.push(r);
        console.log(`  round ${i + 1} ${name.padEnd(10)} ${fmt(r)}`);
      }
    }
    const med = (name: string): PairRound => {
      const rs = results.get(name) ?? [];
      return { rate: median(rs.map((r) => r.rate)), clientCpu: median(rs.map((r) => r.clientCpu)), serverCpu: median(rs.map((r) => r.serverCpu)) };
    };
    console.log('medians:');
    for (const [name] of trees) console.log(`  ${name.padEnd(10)} ${fmt(med(name))}`);
    if (values.baseline !== undefined) console.log(`  this tree / baseline: ${(med('this tree').rate / med('baseline').rate).toFixed(2)}x requests/s`);
  } finally {
    lab.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
