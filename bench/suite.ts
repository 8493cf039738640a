/**
 * `npm run bench`: vaigAI head to head with the load generators users would
 * pick, against the same servers in the same run, interleaved and repeated.
 * Generators run on core 0, servers on core 1 (bench/suite/lab.ts draws the
 * network). Stages:
 *   1. keep-alive, 64 connections, against nginx and `vaigai --server`;
 *   2. one connection per request, 64 at once, against both;
 *   3. TLS 1.3 and 1.2 full handshakes, ECDSA P-256 and RSA 2048, against nginx
 *      (no tickets, no session cache), and TLS 1.3 resumed by ticket (--tls-resume);
 *   4. idle connections held, and the memory each costs both ends;
 *   5. vaigAI against vaigAI over af_xdp (bench/vaigai_pair.ts);
 *   6. the pure stack on the ring, both ends in one thread (bench/ring_http.ts).
 * Each row prints medians over the rounds, min–max, the client's CPU per
 * request (its process CPU time from /proc over the load's wall time, divided
 * by its rate), the server's CPU share, and vaigAI's ratio to each peer.
 *
 *   node dist/bench/suite.js [--quick] [--seconds 3] [--rounds 3] [--stages 1,2,3,4,5,6] [--json FILE]
 *
 * Needs root (namespaces); a missing peer tool leaves its cells empty, said why.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { holdRound } from './suite/hold.js';
import { BODY, CLIENT_RANGE, SuiteLab, type KeyType, type TlsVersion } from './suite/lab.js';
import { formatHold, formatRows, type Cell, type HoldRow, type Row, type Sample } from './suite/table.js';
import { ab, autocannon, autocannonPath, h2load, runPeer, sTime, wrk, type Load, type PeerTool } from './suite/tools.js';
import { CpuWatch } from './proc.js';
import { pairRound } from './vaigai_pair.js';
import { runVaigaiClient, type VaigaiProc } from './vaigai_run.js';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    seconds: { type: 'string' },
    rounds: { type: 'string' },
    stages: { type: 'string', default: '1,2,3,4,5,6' },
    json: { type: 'string' },
  },
});
const QUICK = values.quick === true;
// Live lines come each second and the CPU window runs from the first to the last: 2 s at least.
const SECONDS = Math.max(2, Number(values.seconds ?? (QUICK ? 2 : 3)));
const ROUNDS = Number(values.rounds ?? (QUICK ? 1 : 3));
const STAGES = new Set(values.stages.split(',').map(Number));
const HOLD = QUICK ? { small: 100, large: 1000, seconds: 3 } : { small: 100, large: 10_000, seconds: 4 };
const CONNS = 64;
const RING = fileURLToPath(new URL('./suite/ring.js', import.meta.url));

type Server = 'nginx' | 'vaigai';

interface RowSpec {
  row: Row;
  server: Server;
  load: Load;
  peers: PeerTool[];
}

function spec(stage: number, name: string, unit: string, server: Server, load: Load, peers: PeerTool[]): RowSpec {
  const cells: Cell[] = [{ client: 'vaigAI', samples: [], errors: [] }];
  for (const p of peers) {
    const missing = p.missing();
    cells.push({ client: p.name, samples: [], errors: [], ...(missing !== null ? { missing } : {}) });
  }
  return { row: { stage, load: name, unit, cells }, server, load, peers };
}

function rowSpecs(sl: SuiteLab): RowSpec[] {
  const rows: RowSpec[] = [];
  const ka = (url: string): Load => ({ url, connections: CONNS, connPerRequest: false });
  const cpr = (url: string): Load => ({ url, connections: CONNS, connPerRequest: true });
  if (STAGES.has(1)) {
    rows.push(spec(1, `keep-alive, ${CONNS} conns → nginx`, 'req/s', 'nginx', ka(sl.nginxUrl()), [wrk, h2load, ab, autocannon]));
    rows.push(spec(1, `keep-alive, ${CONNS} conns → vaigai --server`, 'req/s', 'vaigai', ka(sl.vaigaiUrl()), [wrk, h2load]));
  }
  if (STAGES.has(2)) {
    rows.push(spec(2, `conn per request, ${CONNS} at once → nginx`, 'conn/s', 'nginx', cpr(sl.nginxUrl()), [wrk, h2load, ab]));
    rows.push(spec(2, `conn per request, ${CONNS} at once → vaigai --server`, 'conn/s', 'vaigai', cpr(sl.vaigaiUrl()), [wrk, ab]));
  }
  if (STAGES.has(3)) {
    for (const v of ['1.3', '1.2'] as TlsVersion[]) {
      for (const k of ['ecdsa', 'rsa'] as KeyType[]) {
        const load: Load = { url: sl.tlsUrl(v, k), connections: CONNS, connPerRequest: true, tlsVersion: v };
        rows.push(spec(3, `TLS ${v} ${k === 'ecdsa' ? 'ECDSA P-256' : 'RSA 2048'} full handshakes, ${CONNS} at once → nginx`, 'hs/s', 'nginx', load, [h2load, sTime]));
      }
    }
    const resume: Load = { url: sl.resumeUrl(), connections: CONNS, connPerRequest: true, tlsVersion: '1.3', resume: true };
    rows.push(spec(3, `TLS 1.3 ECDSA P-256 resumed (tickets), ${CONNS} at once → nginx`, 'hs/s', 'nginx', resume, [h2load, sTime]));
  }
  return rows;
}

function vaigaiArgs(sl: SuiteLab, l: Load): string[] {
  return [
    '--port', `af_packet:iface=${sl.genIf}`, '--src-ip', CLIENT_RANGE, '--client', l.url, '--connections', String(l.connections),
    ...(l.connPerRequest ? ['--conn-per-request'] : []),
    ...(l.tlsVersion !== undefined ? ['--insecure', '--tls-version', l.tlsVersion] : []),
    ...(l.resume === true ? ['--tls-resume'] : []),
  ];
}

/** One client's run of a row: a sample, or an error in the cell. */
async function runCell(sl: SuiteLab, r: RowSpec, i: number, server: CpuWatch): Promise<void> {
  const cell = r.row.cells[i];
  if (cell.missing !== undefined) return;
  try {
    let s: Sample;
    if (i === 0) {
      const run = await runVaigaiClient(sl.lab, sl.gen, 0, vaigaiArgs(sl, r.load), SECONDS, join(sl.dir, 'client.json'));
      const app = run.json.app;
      const failed = app.failedRequests + app.connections.failed;
      if (failed > 0) cell.errors.push(`${failed} failed of ${app.responses + failed}`);
      s = { rate: app.requestsPerSecond, cpuUs: (run.cpu / app.requestsPerSecond) * 1e6, serverCpu: server.share(run.fromMs, run.toMs) };
    } else {
      const p = r.peers[i - 1];
      const argv = p.argv(r.load, SECONDS);
      if (argv === null) throw new Error(`${p.name} cannot make this load`);
      const run = await runPeer(sl.lab, sl.gen, p, argv, SECONDS);
      if (run.error !== undefined) throw new Error(run.error);
      p.learn?.(r.load, run.rate);
      s = { rate: run.rate, cpuUs: (run.cpu / run.rate) * 1e6, serverCpu: server.share(run.fromMs, run.toMs) };
    }
    cell.samples.push(s);
  } catch (e) {
    cell.errors.push((e as Error).message);
  }
}

/** The clients of a row in turn, starting one further along each round (no client always runs first). */
async function runRow(sl: SuiteLab, r: RowSpec, round: number, server: CpuWatch): Promise<void> {
  const n = r.row.cells.length;
  for (let j = 0; j < n; j++) await runCell(sl, r, (j + round) % n, server);
}

function ringRow(): Row[] {
  const mk = (load: string, unit: string): Row => ({ stage: 6, load, unit, cells: [{ client: 'vaigAI (both ends)', samples: [], errors: [] }] });
  return [mk(`ring, one thread, keep-alive, ${CONNS} conns`, 'req/s'), mk(`ring, one thread, conn per request, ${CONNS} at once`, 'conn/s')];
}

function ringRound(rows: Row[]): void {
  const r = spawnSync('taskset', ['-c', '0', process.execPath, RING, String(SECONDS)], { encoding: 'utf8', timeout: (SECONDS * 3 + 30) * 1000 });
  try {
    const j = JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as Record<'keepAlive' | 'connPerRequest', { rate: number; cpuUsPerReq: number }>;
    rows[0].cells[0].samples.push({ rate: j.keepAlive.rate, cpuUs: j.keepAlive.cpuUsPerReq, serverCpu: NaN });
    rows[1].cells[0].samples.push({ rate: j.connPerRequest.rate, cpuUs: j.connPerRequest.cpuUsPerReq, serverCpu: NaN });
  } catch {
    for (const row of rows) row.cells[0].errors.push(`ring run failed: ${(r.stderr ?? '').slice(0, 200)}`);
  }
}

function xdpRows(): Row[] {
  const mk = (load: string, unit: string): Row => ({ stage: 5, load, unit, cells: [{ client: 'vaigAI → vaigai --server', samples: [], errors: [] }] });
  return [mk(`af_xdp, keep-alive, ${CONNS} conns`, 'req/s'), mk(`af_xdp, conn per request, ${CONNS} at once`, 'conn/s')];
}

async function xdpRound(sl: SuiteLab, rows: Row[]): Promise<void> {
  for (const [i, connPerRequest] of [false, true].entries()) {
    const cell = rows[i].cells[0];
    try {
      const r = await pairRound(sl.xdp, { seconds: SECONDS, connections: CONNS, connPerRequest });
      cell.samples.push({ rate: r.rate, cpuUs: (r.clientCpu / r.rate) * 1e6, serverCpu: r.serverCpu });
    } catch (e) {
      cell.errors.push((e as Error).message);
    }
  }
}

function version(cmd: string, args: string[], re: RegExp): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return re.exec(`${r.stdout ?? ''}${r.stderr ?? ''}`)?.[0] ?? 'missing';
}

function machine(): string[] {
  const ac = autocannonPath();
  const acVersion = ac === null ? 'missing' : (JSON.parse(readFileSync(join(ac, '../package.json'), 'utf8')) as { version: string }).version;
  return [
    `machine: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), Node ${process.version}, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} at the start`,
    `peers: ${version('wrk', ['-v'], /wrk \S+/)}, h2load ${version('h2load', ['--version'], /\d+\.\d+\.\d+/)}, ab ${version('ab', ['-V'], /\d+\.\d+/)}, autocannon ${acVersion}, ${version('openssl', ['version'], /OpenSSL \S+/)}, nginx ${version('nginx', ['-v'], /\d+\.\d+\.\d+/)}; wrk2 is left out (no Debian package to build it from)`,
  ];
}

async function main(): Promise<void> {
  const head = machine();
  console.log(head.join('\n'));
  console.log(`${SECONDS} s per run, ${ROUNDS} round(s), clients interleaved; generators on core 0, servers on core 1; ${BODY}-byte bodies; vaigAI on af_packet from ${CLIENT_RANGE} (stage 5: af_xdp)`);
  const started = performance.now();
  const sl = new SuiteLab();
  const specs = rowSpecs(sl);
  const hold: HoldRow[] = STAGES.has(4) ? [{ server: 'vaigai --server', samples: [], errors: [] }, { server: 'nginx', samples: [], errors: [] }] : [];
  const xdp = STAGES.has(5) ? xdpRows() : [];
  const ring = STAGES.has(6) ? ringRow() : [];
  try {
    const nginxPid = await sl.startNginx();
    const nginx = new CpuWatch(nginxPid);
    for (let round = 0; round < ROUNDS; round++) {
      for (const r of specs.filter((s) => s.server === 'nginx')) await runRow(sl, r, round, nginx);
      let vs: VaigaiProc | null = null;
      try {
        vs = await sl.startVaigaiServer(3600);
        for (const r of specs.filter((s) => s.server === 'vaigai')) await runRow(sl, r, round, vs.watch);
        if (hold.length > 0) await holdInto(hold[0], () => holdRound(sl, sl.vaigaiUrl(), (vs as VaigaiProc).pid, HOLD.small, HOLD.large, HOLD.seconds));
      } catch (e) {
        for (const r of specs.filter((s) => s.server === 'vaigai')) r.row.cells[0].errors.push(`vaigai --server: ${(e as Error).message}`);
      } finally {
        await vs?.stop();
      }
      if (hold.length > 0) await holdInto(hold[1], () => holdRound(sl, sl.nginxUrl(), nginxPid, HOLD.small, HOLD.large, HOLD.seconds));
      if (xdp.length > 0) await xdpRound(sl, xdp);
      if (ring.length > 0) ringRound(ring);
      console.log(`round ${round + 1} of ${ROUNDS} done at ${((performance.now() - started) / 1000).toFixed(0)} s`);
    }
    nginx.stop();
  } finally {
    await sl.cleanup();
  }
  const rows = [...specs.map((s) => s.row), ...xdp, ...ring];
  const tail = `load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} at the end, ${((performance.now() - started) / 1000).toFixed(0)} s in all`;
  console.log(`\n${formatRows(rows)}\n`);
  if (hold.length > 0) console.log(`${formatHold(hold)}\n`);
  console.log([
    'vaigAI ×rate: its median rate over the peer\'s; ×CPU: the peer\'s CPU per request over vaigAI\'s (requests per core).',
    'Server CPU: its share of core 1 during the client\'s run. vaigAI\'s worker polls without sleeping while requests are in flight',
    '(it owns its core, as a DPDK lcore does): its CPU per request includes the time it waits, and on a shared core it loses time slices.',
  ].join('\n'));
  for (const r of rows) for (const c of r.cells) if (c.errors.length > 0) console.log(`note: stage ${r.stage} ${r.load}, ${c.client}: ${c.errors.length} error(s), e.g. ${c.errors[0].replace(/\s+/g, ' ').slice(0, 160)}`);
  for (const h of hold) if (h.errors.length > 0) console.log(`note: stage 4 → ${h.server}: ${h.errors[0].replace(/\s+/g, ' ').slice(0, 160)}`);
  console.log(tail);
  if (values.json !== undefined) writeFileSync(values.json, JSON.stringify({ machine: head, seconds: SECONDS, rounds: ROUNDS, rows, hold, end: tail }, null, 1));
}

async function holdInto(row: HoldRow, f: () => Promise<HoldRow['samples'][number]>): Promise<void> {
  try {
    row.samples.push(await f());
  } catch (e) {
    row.errors.push((e as Error).message);
  }
}

await main();
