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
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { exited, NetnsLab } from '../test/helpers/netns.js';

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
const HERE = fileURLToPath(new URL('../src/main.js', import.meta.url));
const SERVER_IP = '198.18.60.1';
const CLIENT_IP = '198.18.60.10';
const TICKS = 100; // USER_HZ

/** utime + stime of a process, in seconds. */
function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) / TICKS;
}

interface Round {
  rps: number;
  clientCpu: number;
  serverCpu: number;
}

function waitOutput(child: ChildProcess, re: RegExp, ms: number): Promise<void> {
  let out = '';
  return new Promise((res, rej) => {
    const t = setTimeout(() => rej(new Error(`no ${re} within ${ms} ms: ${out}`)), ms);
    const on = (d: Buffer): void => {
      out += d.toString();
      if (re.test(out)) {
        clearTimeout(t);
        res();
      }
    };
    child.stdout?.on('data', on);
    child.stderr?.on('data', on);
  });
}

async function round(lab: NetnsLab, main: string, dir: string): Promise<Round> {
  const srv = lab.spawn('vgrxb-s', 'taskset', ['-c', '1', process.execPath, main, '--port', 'af_xdp:iface=vgrxb-s0', '--src-ip', SERVER_IP,
    '--server', '--duration', String(SECONDS + 20)]);
  await waitOutput(srv, /^vaigai: .* mac /m, 20_000);
  const json = join(dir, 'client.json');
  const cli = lab.spawn('vgrxb-c', 'taskset', ['-c', '0', process.execPath, main, '--port', 'af_xdp:iface=vgrxb-c0', '--src-ip', CLIENT_IP,
    '--client', `http://${SERVER_IP}/`, '--connections', String(CONNS), '--duration', String(SECONDS), '--json', json]);
  // CPU over the load: from the client's first live line to its last.
  await waitOutput(cli, /^\[\s+1s\] conn/m, 20_000);
  const t0 = performance.now();
  const c0 = cpuSeconds(cli.pid as number);
  const s0 = cpuSeconds(srv.pid as number);
  await waitOutput(cli, new RegExp(`^\\[\\s+${SECONDS}s\\] conn`, 'm'), (SECONDS + 20) * 1000);
  const wall = (performance.now() - t0) / 1000;
  const clientCpu = (cpuSeconds(cli.pid as number) - c0) / wall;
  const serverCpu = (cpuSeconds(srv.pid as number) - s0) / wall;
  await exited(cli, 30_000, 'client');
  srv.kill('SIGINT');
  await exited(srv, 30_000, 'server');
  const app = (JSON.parse(readFileSync(json, 'utf8')) as { app: { requestsPerSecond: number } }).app;
  return { rps: app.requestsPerSecond, clientCpu, serverCpu };
}

function fmt(r: Round): string {
  return `${(r.rps / 1000).toFixed(1).padStart(7)} k req/s   client CPU ${(r.clientCpu * 100).toFixed(0).padStart(3)}%   server CPU ${(r.serverCpu * 100).toFixed(0).padStart(3)}%`;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function main(): Promise<void> {
  const lab = new NetnsLab('vgrxb-');
  const dir = mkdtempSync(join(tmpdir(), 'vgrxb-'));
  try {
    const c = lab.addNs('c');
    const s = lab.addNs('s');
    lab.addVeth({ name: 'vgrxb-c0', ns: c }, { name: 'vgrxb-s0', ns: s });
    const trees: [string, string][] = [['this tree', HERE]];
    if (values.baseline !== undefined) trees.unshift(['baseline', join(resolve(values.baseline), 'dist/src/main.js')]);
    const results = new Map<string, Round[]>(trees.map(([name]) => [name, []]));
    console.log(`vaigai client -> vaigai --server over af_xdp (veth), ${CONNS} keep-alive connections, ${SECONDS} s per run, client on CPU 0, server on CPU 1`);
    for (let i = 0; i < ROUNDS; i++) {
      for (const [name, main] of trees) {
        const r = await round(lab, main, dir);
        results.get(name)?.push(r);
        console.log(`  round ${i + 1} ${name.padEnd(10)} ${fmt(r)}`);
      }
    }
    const med = (name: string): Round => {
      const rs = results.get(name) ?? [];
      return { rps: median(rs.map((r) => r.rps)), clientCpu: median(rs.map((r) => r.clientCpu)), serverCpu: median(rs.map((r) => r.serverCpu)) };
    };
    console.log('medians:');
    for (const [name] of trees) console.log(`  ${name.padEnd(10)} ${fmt(med(name))}`);
    if (values.baseline !== undefined) console.log(`  this tree / baseline: ${(med('this tree').rps / med('baseline').rps).toFixed(2)}x requests/s`);
  } finally {
    await lab.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
