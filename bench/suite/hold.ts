/**
 * Stage 4: connections held. vaigAI's client opens `n` keep-alive connections
 * and keeps them nearly idle (10 requests/s in all); once every one is
 * established, the RSS of the client and of the server are read. Run at a
 * small and a large `n`, the growth over the difference is what one more
 * connection costs each end, whatever the process holds anyway.
 */
import { join } from 'node:path';
import { rssBytes } from '../proc.js';
import { runVaigaiClient } from '../vaigai_run.js';
import { CLIENT_RANGE, type SuiteLab } from './lab.js';
import type { HoldSample } from './table.js';

interface Held {
  setupS: number;
  clientRss: number;
  serverRss: number;
}

async function holdOnce(sl: SuiteLab, url: string, serverPid: number, n: number, seconds: number): Promise<Held> {
  const h: Held = { setupS: NaN, clientRss: NaN, serverRss: NaN };
  let read: Promise<void> = Promise.resolve();
  const r = await runVaigaiClient(
    sl.lab, sl.gen, 0,
    ['--port', `af_packet:iface=${sl.genIf}`, '--src-ip', CLIENT_RANGE, '--client', url, '--connections', String(n), '--rate', '10', '--max-conns', String(n + 1024)],
    seconds, join(sl.dir, 'hold.json'), undefined,
    (line, pid) => {
      const m = /^\[\s*(\d+)s\] conn (\d+)/.exec(line);
      if (m === null || !Number.isNaN(h.setupS) || Number(m[2]) < n) return;
      // Live lines come each second: the setup took at most this long.
      h.setupS = Number(m[1]);
      read = new Promise((res) => setTimeout(() => {
        h.clientRss = rssBytes(pid);
        h.serverRss = rssBytes(serverPid);
        res();
      }, 300));
    },
  );
  await read;
  if (Number.isNaN(h.setupS)) throw new Error(`${n} connections were not all established: ${r.json.app.connections.ok} ok, ${r.json.app.connections.failed} failed`);
  return h;
}

export async function holdRound(sl: SuiteLab, url: string, serverPid: number, small: number, large: number, seconds: number): Promise<HoldSample> {
  const a = await holdOnce(sl, url, serverPid, small, seconds);
  const b = await holdOnce(sl, url, serverPid, large, seconds);
  const d = large - small;
  return { connections: large, setupS: b.setupS, serverBytes: (b.serverRss - a.serverRss) / d, clientBytes: (b.clientRss - a.clientRss) / d };
}
