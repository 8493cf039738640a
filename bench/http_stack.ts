/**
 * End-to-end HTTP/1.1 benchmark on one core: a vaigAI client and a vaigAI
 * server (NetStack + user-space TCP + HTTP each) on an in-memory ring pair in
 * this one thread, beside wrk (keep-alive) and ab (connection per request)
 * against nginx over the kernel's loopback in the same run, as the peer.
 *   1. keep-alive requests/s (target >= 300,000/s), and pipelined 16 deep
 *   2. connection-per-request transactions/s (target >= 60,000/s)
 * CPU per request: for vaigAI the process CPU time of the run (client and
 * server together); for the peer the CPU time of the load tool plus nginx.
 * Usage: node dist/bench/http_stack.js [seconds per test = 3] [connections = 64]
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monotonicClock } from '../src/common/clock.js';
import { runRingLoad } from '../src/engine/ring_load.js';
import { parseIp } from '../src/wire/ipv4_addr.js';

const SECONDS = Number(process.argv[2] ?? 3);
const CONNS = Number(process.argv[3] ?? 64);
const BODY = 64;
const CLK_TCK = 100;

interface Figure {
  rate: number;
  cpuUsPerReq: number;
}

function vaigai(perConn: number, pipeline: number): Figure {
  const r = runRingLoad({
    clock: monotonicClock,
    clientIp: parseIp('198.18.0.1'),
    serverIp: parseIp('198.18.0.2'),
    connections: CONNS,
    pipeline,
    requestsPerConnection: perConn,
    bodySize: BODY,
    durationUs: SECONDS * 1e6,
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

/** utime + stime of a process in µs, from /proc (0 once it is gone). */
function procCpuUs(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 (utime, stime) are 12 and 13 after the state field.
    return ((Number(rest[11]) + Number(rest[12])) * 1e6) / CLK_TCK;
  } catch {
    return 0;
  }
}

/** Sum of utime+stime of the children that exited (cutime+cstime) and self, µs. */
function procTreeCpuUs(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return ((Number(rest[11]) + Number(rest[12]) + Number(rest[13]) + Number(rest[14])) * 1e6) / CLK_TCK;
  } catch {
    return 0;
  }
}

class Nginx {
  readonly dir = mkdtempSync(join(tmpdir(), 'vgfr-bench-'));
  readonly port = 20000 + Math.floor(Math.random() * 20000);
  masterPid = -1;

  start(): boolean {
    const d = this.dir;
    writeFileSync(join(d, 'index.html'), 'x'.repeat(BODY));
    writeFileSync(
      join(d, 'nginx.conf'),
      `daemon off; master_process on; worker_processes 1; pid ${d}/nginx.pid; error_log ${d}/error.log;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000;
  client_body_temp_path ${d}/b; proxy_temp_path ${d}/p; fastcgi_temp_path ${d}/f; uwsgi_temp_path ${d}/u; scgi_temp_path ${d}/s;
  server { listen 127.0.0.1:${this.port}; root ${d}; } }
`,
    );
    const child = spawn('nginx', ['-c', join(d, 'nginx.conf'), '-e', join(d, 'error.log')], { stdio: 'ignore' });
    if (child.pid === undefined) return false;
    this.masterPid = child.pid;
    for (let i = 0; i < 50; i++) {
      if (spawnSync('curl', ['-s', '-o', '/dev/null', `http://127.0.0.1:${this.port}/`]).status === 0) return true;
      spawnSync('sleep', ['0.1']);
    }
    return false;
  }

  /** PIDs of nginx's workers (children of the master). */
  workers(): number[] {
    const out = spawnSync('pgrep', ['-P', String(this.masterPid)], { encoding: 'utf8' }).stdout ?? '';
    return out.split('\n').filter(Boolean).map(Number);
  }

  stop(): void {
    if (this.masterPid > 0) {
      try {
        process.kill(this.masterPid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Runs a load tool against nginx; the rate it reports and CPU per request of tool + nginx workers. */
function peer(ngx: Nginx, cmd: string, args: string[], rateRe: RegExp): Figure | null {
  const workers = ngx.workers();
  const before = workers.reduce((s, p) => s + procCpuUs(p), 0);
  const self = procTreeCpuUs(process.pid);
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: (SECONDS + 30) * 1000 });
  // The tool was our child: its CPU time shows in our cutime/cstime.
  const toolUs = procTreeCpuUs(process.pid) - self;
  const nginxUs = workers.reduce((s, p) => s + procCpuUs(p), 0) - before;
  const m = rateRe.exec(r.stdout ?? '');
  if (r.status !== 0 || m === null) {
    console.log(`  ${cmd} failed: ${(r.stderr ?? '').slice(0, 200)}`);
    return null;
  }
  const rate = Number(m[1]);
  const reqs = /(\d+) requests in/.exec(r.stdout)?.[1] ?? /Complete requests:\s+(\d+)/.exec(r.stdout)?.[1];
  return { rate, cpuUsPerReq: (toolUs + nginxUs) / Math.max(1, Number(reqs)) };
}

function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function line(name: string, v: Figure, p: Figure | null, target: number, peerName: string): void {
  const ratio = p === null ? 'n/a' : `${(v.rate / p.rate).toFixed(2)}x`;
  console.log(
    `${name.padEnd(34)} vaigAI ${Math.round(v.rate).toLocaleString('en-US').padStart(9)}/s (${v.cpuUsPerReq.toFixed(2)} us CPU/req)` +
      ` | ${peerName} ${p === null ? 'n/a' : `${Math.round(p.rate).toLocaleString('en-US')}/s (${p.cpuUsPerReq.toFixed(2)} us CPU/req)`}` +
      ` | ratio ${ratio} | target ${target.toLocaleString('en-US')}/s ${v.rate >= target ? 'met' : 'NOT met'}`,
  );
}

function main(): void {
  console.log(`http_stack: ${SECONDS} s per test, ${CONNS} connections, ${BODY}-byte bodies, one thread (vaigAI client + server on a ring)`);
  const ngx = new Nginx();
  const haveNginx = have('nginx') && ngx.start();
  if (!haveNginx) console.log('  nginx unavailable: no peer figures');
  try {
    const url = `http://127.0.0.1:${ngx.port}/index.html`;
    // Warm the JIT before measuring.
    vaigai(0, 1);
    const ka = vaigai(0, 1);
    const kaPeer = haveNginx && have('wrk') ? peer(ngx, 'wrk', ['-t1', `-c${CONNS}`, `-d${SECONDS}s`, url], /Requests\/sec:\s+([\d.]+)/) : null;
    line('keep-alive', ka, kaPeer, 300_000, 'wrk -t1 vs nginx');
    const pl = vaigai(0, 16);
    line('keep-alive, pipelined 16 deep', pl, kaPeer, 300_000, 'wrk -t1 vs nginx');
    const cpr = vaigai(1, 1);
    const cprPeer = haveNginx && have('ab')
      ? peer(ngx, 'ab', ['-q', '-t', String(SECONDS), '-n', '10000000', '-c', String(CONNS), url], /Requests per second:\s+([\d.]+)/)
      : null;
    line('connection per request', cpr, cprPeer, 60_000, 'ab vs nginx');
  } finally {
    ngx.stop();
  }
}

main();
