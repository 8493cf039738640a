/**
 * Management -> worker messaging: the SAB ring of src/core/ipc.ts against
 * postMessage, side by side in one run. Throughput: N 256-byte config records
 * one way, timed until the worker has them all. Latency: one record in
 * flight, answered by an ack (SAB; the consumer parks when idle, as the
 * worker loop does) or a reply message (postMessage). Both sides spin, so on
 * an oversubscribed machine the SAB figures measure the scheduler.
 *
 *   node dist/bench/ipc.js [records]
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { MgmtEnd, PAYLOAD_MAX, WorkerEnd, createIpc, type Ack, type IpcShared } from '../src/core/ipc.js';

type Mode = 'sab-stream' | 'sab-pingpong' | 'pm-stream' | 'pm-pingpong';
interface Job {
  mode: Mode;
  n: number;
  s: IpcShared;
}

function consumer(job: Job): void {
  const port = parentPort;
  if (port === null) return;
  if (job.mode === 'sab-stream' || job.mode === 'sab-pingpong') {
    const w = new WorkerEnd(job.s);
    let got = 0;
    let idle = 0;
    while (got < job.n) {
      if (!w.recv()) {
        // As the worker loop does: spin a little, then park until management's send wakes us.
        if (++idle > 2000) {
          w.park(1);
          idle = 0;
        }
        continue;
      }
      idle = 0;
      got++;
      if (job.mode === 'sab-pingpong') while (!w.ack(w.seq, 0));
    }
    port.postMessage(got);
    return;
  }
  let got = 0;
  port.on('message', (m: { seq: number }) => {
    got++;
    if (job.mode === 'pm-pingpong') port.postMessage(m.seq);
    if (got === job.n) {
      port.postMessage(-1);
      port.close();
    }
  });
}

async function run(mode: Mode, n: number): Promise<number> {
  // A deep ring, so that on a loaded machine each scheduling slice of the consumer drains many records.
  const s = createIpc(0, 16384);
  const worker = new Worker(new URL(import.meta.url), { workerData: { mode, n, s } satisfies Job });
  await new Promise((r) => worker.once('online', r));
  const payload = new Uint8Array(PAYLOAD_MAX).fill(7);
  const t0 = performance.now();
  if (mode === 'sab-stream' || mode === 'sab-pingpong') {
    const m = new MgmtEnd(s);
    const done = new Promise((r) => worker.once('message', r));
    const a: Ack = { seq: 0, rc: 0, workerIdx: 0 };
    for (let i = 0; i < n; ) {
      if (m.send(2, payload, 1_000_000) < 0) continue;
      i++;
      if (mode === 'sab-pingpong') while (!m.pollAck(a));
    }
    await done;
  } else {
    const done = new Promise<void>((resolve) => {
      let sent = 0;
      const next = (): void => {
        if (sent < n) worker.postMessage({ cmd: 2, seq: ++sent, payload });
      };
      worker.on('message', (v: number) => {
        if (v === -1) resolve();
        else next();
      });
      if (mode === 'pm-pingpong') next();
      else while (sent < n) next();
    });
    await done;
  }
  const secs = (performance.now() - t0) / 1000;
  await worker.terminate();
  return secs;
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 1_000_000);
  const pmN = Math.max(1, Math.floor(n / 5));
  const pingN = Math.max(1, Math.floor(n / 50));
  const sab = n / (await run('sab-stream', n));
  const pm = pmN / (await run('pm-stream', pmN));
  const sabRtt = ((await run('sab-pingpong', pingN)) / pingN) * 1e6;
  const pmRtt = ((await run('pm-pingpong', pingN)) / pingN) * 1e6;
  console.log(`records/s   SAB ring ${(sab / 1e6).toFixed(2)} M   postMessage ${(pm / 1e6).toFixed(2)} M   ratio ${(sab / pm).toFixed(1)}x`);
  console.log(`round trip  SAB ring ${sabRtt.toFixed(2)} us   postMessage ${pmRtt.toFixed(2)} us   ratio ${(pmRtt / sabRtt).toFixed(1)}x`);
}

if (isMainThread) void main();
else consumer(workerData as Job);
