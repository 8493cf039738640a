/**
 * What a Prometheus scrape costs the load: one `vaigai -R` run of keep-alive
 * requests against nginx, in blocks of BLOCK_S seconds that alternate between
 * a GET /metrics every second and none, in the same run. The figure is the
 * requests per second of the scraped seconds over those of the unscraped ones
 * (the first second of each block left out), from the generator's own
 * per-second counters. Namespaces vgrsb-, 198.18.131.0/24; the API reaches
 * the root namespace's 127.0.0.1:19111 through socat, as in the REST test.
 *
 *   node dist/bench/scrape_cost.js [blocks] [workers]
 */
import { join } from 'node:path';
import { FrontLab, MAIN, Proc } from '../test/front/lab.js';

const BLOCKS = Number(process.argv[2] ?? 8);
const WORKERS = process.argv[3] ?? '1';
const BLOCK_S = 5;
const NGINX_IP = '198.18.131.1';
const REST_PORT = 19110;
const BRIDGE = `http://127.0.0.1:19111`;

async function get(path: string): Promise<string> {
  return (await fetch(`${BRIDGE}${path}`)).text();
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const f = new FrontLab('vgrsb-');
try {
  const { gen, peer, genIf } = f.pair(NGINX_IP);
  f.randomFile('s.bin', 100);
  await f.nginx(peer, NGINX_IP, null);
  const v = new Proc(f.lab.spawn(gen, process.execPath, [MAIN, '--port', `af_packet:iface=${genIf}`, '--src-ip', '198.18.131.10-198.18.131.19/24', '--workers', WORKERS, '-R', String(REST_PORT)]));
  await v.waitFor(/REST API on/, 20_000);
  const sock = join(f.dir, 'rest.sock');
  f.lab.spawn(gen, 'socat', [`UNIX-LISTEN:${sock},fork`, `TCP:127.0.0.1:${REST_PORT}`]);
  f.lab.spawn(null, 'socat', ['TCP-LISTEN:19111,bind=127.0.0.1,fork,reuseaddr', `UNIX-CONNECT:${sock}`]);
  for (let i = 0; ; i++) {
    try {
      await get('/api/v1/status');
      break;
    } catch (e) {
      if (i > 100) throw e;
      await sleep(100);
    }
  }
  const profile = {
    flows: [{ name: 'web', dst_ip: NGINX_IP, dst_port: 8080, requests: [{ url: '/s.bin' }] }],
    load: { model: 'closed', connections: 32, duration_secs: BLOCKS * BLOCK_S + 5 },
  };
  const r = await fetch(`${BRIDGE}/api/v1/start`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ config: profile }) });
  if (r.status !== 200) throw new Error(`start: ${await r.text()}`);
  await sleep(2000);
  const lastT = async (): Promise<number> => {
    const s = JSON.parse(await get('/api/v1/stats')) as { series: { t: number }[] };
    return s.series[s.series.length - 1]?.t ?? 0;
  };
  const blocks: { scraped: boolean; from: number; to: number }[] = [];
  let bytes = 0;
  for (let b = 0; b < BLOCKS; b++) {
    const scraped = b % 2 === 1;
    const from = await lastT();
    for (let s = 0; s < BLOCK_S; s++) {
      if (scraped) bytes = (await get('/metrics')).length;
      await sleep(1000);
    }
    blocks.push({ scraped, from, to: await lastT() });
  }
  const stats = JSON.parse(await get('/api/v1/stats')) as { series: { t: number; rps: number }[] };
  await fetch(`${BRIDGE}/api/v1/stop`, { method: 'POST' });
  const rps = (scraped: boolean): number[] =>
    blocks.filter((b) => b.scraped === scraped).flatMap((b) => stats.series.filter((e) => e.t > b.from + 1 && e.t <= b.to).map((e) => e.rps));
  const mean = (xs: number[]): number => xs.reduce((a, x) => a + x, 0) / xs.length;
  const yes = rps(true);
  const no = rps(false);
  console.log(`${WORKERS} worker(s), keep-alive, 32 connections; blocks of ${BLOCK_S} s, ${BLOCKS / 2} scraped (GET /metrics each second, ${bytes} bytes) and ${BLOCKS / 2} not`);
  console.log(`requests/s scraped   ${mean(yes).toFixed(0)} over ${yes.length} s`);
  console.log(`requests/s unscraped ${mean(no).toFixed(0)} over ${no.length} s`);
  console.log(`ratio ${(mean(yes) / mean(no)).toFixed(3)}`);
  await v.stop();
} finally {
  await f.cleanup();
}
