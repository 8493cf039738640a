/**
 * The peer load generators the suite runs beside vaigAI: how each is found,
 * the command line for a load (null when the tool cannot make that load),
 * and the rate read from its output. Each runs in the generator namespace on
 * core 0, its CPU share read from /proc while it runs.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { NetnsLab } from '../../test/helpers/netns.js';
import { exited } from '../../test/helpers/netns.js';
import { CpuWatch } from '../proc.js';

/** What a client is asked to do. */
export interface Load {
  url: string;
  connections: number;
  /** One connection (and TLS handshake) per request. */
  connPerRequest: boolean;
  tlsVersion?: '1.2' | '1.3';
  /** Resume TLS sessions (h2load always does where the server lets it). */
  resume?: boolean;
}

export interface PeerTool {
  name: string;
  /** Why it cannot run here, or null. */
  missing(): string | null;
  argv(l: Load, seconds: number): string[] | null;
  /** Requests (or handshakes) per second from its output, NaN when absent. */
  rate(out: string): number;
  /** Sees each rate it made on a load (to size its next run). */
  learn?(l: Load, rate: number): void;
}

function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

const num = (re: RegExp, out: string): number => Number(re.exec(out)?.[1] ?? NaN);
const needs = (cmd: string, pkg: string) => (): string | null => (have(cmd) ? null : `${cmd} is not installed (apt-get install ${pkg}; see scripts/install-deps.sh)`);
const close = (l: Load): string[] => (l.connPerRequest ? ['-H', 'Connection: close'] : []);

/** autocannon's entry script: the project's devDependency, or $AUTOCANNON (a path to autocannon.js). */
export function autocannonPath(): string | null {
  const env = process.env.AUTOCANNON;
  if (env !== undefined && existsSync(env)) return env;
  try {
    return createRequire(import.meta.url).resolve('autocannon/autocannon.js');
  } catch {
    return null;
  }
}

export const wrk: PeerTool = {
  name: 'wrk',
  missing: needs('wrk', 'wrk'),
  argv: (l, s) => (l.tlsVersion !== undefined ? null : ['wrk', '-t1', `-c${l.connections}`, `-d${s}s`, ...close(l), l.url]),
  rate: (out) => num(/Requests\/sec:\s+([\d.]+)/, out),
};

/** h2load's last rate per URL: with `Connection: close` it runs a count of requests, sized from it. */
const h2loadRates = new Map<string, number>();

export const h2load: PeerTool = {
  name: 'h2load',
  missing: needs('h2load', 'nghttp2-client'),
  // With `Connection: close` h2load opens a new connection (and handshake) per request, but its
  // duration mode (-D) then never ends: it runs a request count instead, about `s` seconds' worth.
  argv: (l, s) => {
    const count = l.connPerRequest ? ['-n', String(Math.max(l.connections * 10, Math.round((h2loadRates.get(l.url) ?? 300) * s)))] : ['-D', String(s)];
    return ['h2load', '--h1', '-t1', `-c${l.connections}`, ...count, ...close(l), l.url];
  },
  rate: (out) => num(/finished in [\d.]+m?s, ([\d.]+) req\/s/, out),
  learn: (l, rate) => h2loadRates.set(l.url, rate),
};

export const ab: PeerTool = {
  name: 'ab',
  missing: needs('ab', 'apache2-utils'),
  argv: (l, s) => (l.tlsVersion !== undefined ? null : ['ab', ...(l.connPerRequest ? [] : ['-k']), '-q', '-t', String(s), '-n', '100000000', '-c', String(l.connections), l.url]),
  rate: (out) => num(/Requests per second:\s+([\d.]+)/, out),
};

export const autocannon: PeerTool = {
  name: 'autocannon',
  missing: () => (autocannonPath() === null ? 'autocannon is not installed (npm install: a devDependency; or AUTOCANNON=/path/to/autocannon.js)' : null),
  argv: (l, s) => (l.tlsVersion !== undefined || l.connPerRequest ? null : [process.execPath, autocannonPath() ?? '', '-c', String(l.connections), '-d', String(s), '-j', l.url]),
  rate: (out) => {
    try {
      const j = JSON.parse(out.slice(out.indexOf('{'))) as { requests: { total: number }; duration: number };
      return j.requests.total / j.duration;
    } catch {
      return NaN;
    }
  },
};

export const sTime: PeerTool = {
  name: 'openssl s_time',
  missing: needs('openssl', 'openssl'),
  // One connection at a time, each a new session; the rate is over real seconds (its first line is per CPU second).
  argv: (l, s) => {
    if (l.tlsVersion === undefined) return null;
    const u = new URL(l.url);
    return ['openssl', 's_time', '-connect', u.host, l.resume === true ? '-reuse' : '-new', '-time', String(s), l.tlsVersion === '1.3' ? '-tls1_3' : '-tls1_2', '-www', u.pathname];
  },
  rate: (out) => {
    const m = /(\d+) connections in (\d+) real seconds/.exec(out);
    return m === null ? NaN : Number(m[1]) / Number(m[2]);
  },
};

export interface PeerRun {
  rate: number;
  /** CPU time over wall time, from 0.5 s after the start to its end. */
  cpu: number;
  fromMs: number;
  toMs: number;
  error?: string;
}

/** Runs a tool's command line in `ns` on core 0 to its end (bounded to `seconds` + 30 s). */
export async function runPeer(lab: NetnsLab, ns: string, tool: PeerTool, argv: string[], seconds: number): Promise<PeerRun> {
  const child = lab.spawn(ns, 'taskset', ['-c', '0', ...argv]);
  const watch = new CpuWatch(child.pid as number);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const fromMs = performance.now() + 500;
  try {
    const code = await exited(child, (seconds + 20) * 1000, argv[0]);
    const toMs = performance.now();
    // 'exit' may come before the last output: let the pipes drain.
    await new Promise((r) => setTimeout(r, 50));
    const rate = tool.rate(out);
    const bad = code !== 0 || !(rate > 0);
    // A run shorter than the start-up allowance is read over its whole life.
    const cpu = watch.share(fromMs);
    return { rate, cpu: Number.isNaN(cpu) ? watch.share(0) : cpu, fromMs, toMs, ...(bad ? { error: `exit ${code}: ${out.slice(-300)}` } : {}) };
  } finally {
    watch.stop();
  }
}
