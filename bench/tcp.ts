/**
 * TCP benchmark, one thread: a vaigAI client and a vaigAI server over an
 * in-memory ring pair, beside the kernel doing the same over loopback (node's
 * net module, client and server in this same thread) in the same run.
 *   1. connections opened and closed per second
 *   2. bulk goodput of one connection
 *   3. established connections held, and stack memory per connection
 * Usage: node dist/bench/tcp.js [seconds per test = 3] [connections to hold = 1000000]
 * (each measurement runs in its own child process).
 */
import { once } from 'node:events';
import net from 'node:net';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { monotonicClock } from '../src/common/clock.js';
import { BufferPool } from '../src/core/buffer_pool.js';
import type { TcpHandler, TcpOptions } from '../src/net/tcp/api.js';
import { ESTABLISHED } from '../src/net/tcp/tcb.js';
import type { TcpLayer } from '../src/net/tcp/tcp_layer.js';
import { Cubic } from '../src/net/tcp/cubic.js';
import { createRingPair } from '../src/port/ring.js';
import { A_IP, A_MAC, B_IP, B_MAC, Node } from '../test/tcp/harness.js';

const SECONDS = Number(process.argv[2] ?? 3);
const HOLD = Number(process.argv[3] ?? 1_000_000);

/** Client source addresses (50,000 ephemeral ports each) for the hold test: 198.18.0.10 on. */
const CLIENT_IP = A_IP + 9;

function pair(opts: Partial<TcpOptions>, clientIps = 1): { client: Node; server: Node } {
  const [pa, pb] = createRingPair({ capacity: 8192 });
  // One pool for both ends (one worker): the ring hands slots over instead of copying.
  const pool = new BufferPool(65536);
  return {
    client: new Node(pa.openQueue(0, pool), monotonicClock, A_MAC, CLIENT_IP, B_IP, B_MAC, opts, clientIps),
    server: new Node(pb.openQueue(0, pool), monotonicClock, B_MAC, B_IP, CLIENT_IP, A_MAC, opts, 1, clientIps),
  };
}

function spin(p: { client: Node; server: Node }, until: () => boolean, ms: number): void {
  const end = performance.now() + ms;
  while (!until() && performance.now() < end) {
    p.server.poll();
    p.client.poll();
  }
}

function noop(): void {}

function vaigaiCps(): number {
  const p = pair({ maxConns: 65536, timeWaitUs: 60_000_000 });
  const client = p.client.tcp;
  const server = p.server.tcp;
  let done = 0;
  let open = 0;
  const ch: TcpHandler = { onConnected: (c) => client.close(c), onData: noop, onWritable: noop, onPeerClosed: noop, onClosed: () => { done++; open--; } };
  const sh: TcpHandler = { onConnected: noop, onData: noop, onWritable: noop, onPeerClosed: (c) => server.close(c), onClosed: noop };
  server.listen(0, 80, sh);
  const start = performance.now();
  const end = start + SECONDS * 1000;
  while (performance.now() < end) {
    while (open < 512) {
      if (client.connect(CLIENT_IP, B_IP, 80, ch) < 0) break;
      open++;
    }
    p.server.poll();
    p.client.poll();
  }
  return done / ((performance.now() - start) / 1000);
}

async function kernelCps(): Promise<number> {
  const server = net.createServer((s) => {
    s.on('end', () => s.end());
    s.on('error', noop);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  let done = 0;
  let stop = false;
  const start = performance.now();
  await new Promise<void>((resolve) => {
    let open = 0;
    const one = (): void => {
      if (stop) {
        if (open === 0) resolve();
        return;
      }
      open++;
      const s = net.connect(port, '127.0.0.1', () => s.end());
      s.on('error', noop);
      s.on('close', () => {
        open--;
        done++;
        one();
      });
    };
    for (let i = 0; i < 512; i++) one(); // as many in flight as the vaigAI run
    setTimeout(() => (stop = true), SECONDS * 1000);
  });
  const rate = done / ((performance.now() - start) / 1000);
  server.close();
  return rate;
}

/**
 * One connection at the stack's default buffers (256 KiB each way): in one
 * thread the window in flight is the working set, and 4 MiB windows (frames
 * plus send chunks) fall out of the 512 KiB L2 and run ~1.5x slower here.
 */
function vaigaiGoodput(): number {
  const p = pair({ maxConns: 16 });
  const client = p.client.tcp;
  const server = p.server.tcp;
  const chunk = new Uint8Array(65536);
  let received = 0;
  const pump = (c: number): void => {
    let n = chunk.length;
    while (n === chunk.length) n = client.write(c, chunk, 0, chunk.length);
  };
  const ch: TcpHandler = { onConnected: pump, onData: noop, onWritable: pump, onPeerClosed: noop, onClosed: noop };
  const sh: TcpHandler = { onConnected: noop, onData: (_c, _u, _o, len) => { received += len; }, onWritable: noop, onPeerClosed: noop, onClosed: noop };
  server.listen(0, 80, sh);
  const c = client.connect(CLIENT_IP, B_IP, 80, ch);
  spin(p, () => client.state(c) === ESTABLISHED, 1000);
  const r0 = received;
  const start = performance.now();
  spin(p, () => false, SECONDS * 1000);
  return ((received - r0) * 8) / ((performance.now() - start) / 1000);
}

async function kernelGoodput(): Promise<number> {
  let received = 0;
  const server = net.createServer((s) => s.on('data', (b: Buffer) => { received += b.length; }).on('error', noop));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  const s = net.connect(port, '127.0.0.1');
  await once(s, 'connect');
  const chunk = Buffer.alloc(65536);
  let stop = false;
  const pump = (): void => {
    let more = true;
    while (!stop && more) more = s.write(chunk);
  };
  s.on('drain', pump);
  const start = performance.now();
  pump();
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  stop = true;
  const bits = received * 8;
  const rate = bits / ((performance.now() - start) / 1000);
  s.destroy();
  server.close();
  return rate;
}

/**
 * Opens `n` connections and holds them. Memory per connection: the per-TCB
 * arrays reserved up front (the bound that matters), and the RSS growth while
 * establishing (both ends counted, so divided by 2n; small because most pages
 * were already touched when the arrays were initialised).
 */
function vaigaiHold(n: number): { held: number; rssPerConn: number; reservedPerConn: number; seconds: number } {
  const ips = Math.ceil(n / 50_000);
  const p = pair({ maxConns: n, bufferBytes: 4 * 1024 * 1024 }, ips);
  const reserved = reservedPerTcb(p.client.tcp);
  const client = p.client.tcp;
  const server = p.server.tcp;
  let est = 0;
  let failed = 0;
  const ch: TcpHandler = { onConnected: () => { est++; }, onData: noop, onWritable: noop, onPeerClosed: noop, onClosed: () => { failed++; } };
  const sh: TcpHandler = { onConnected: noop, onData: noop, onWritable: noop, onPeerClosed: noop, onClosed: noop };
  server.listen(0, 80, sh);
  global.gc?.();
  const rss0 = process.memoryUsage().rss;
  const start = performance.now();
  let opened = 0;
  const deadline = start + 600_000;
  while (opened < n && performance.now() < deadline) {
    const burst = Math.min(256, n - opened);
    for (let i = 0; i < burst; i++) {
      // 50,000 ephemeral ports per source address: one address per 50,000 connections.
      if (client.connect(CLIENT_IP + Math.floor(opened / 50_000), B_IP, 80, ch) < 0) break;
      opened++;
    }
    p.server.poll();
    p.client.poll();
  }
  spin(p, () => est + failed >= n, 30_000);
  const seconds = (performance.now() - start) / 1000;
  global.gc?.();
  const rss = process.memoryUsage().rss - rss0;
  return { held: est, rssPerConn: rss / (2 * est), reservedPerConn: reserved, seconds };
}

/**
 * Bytes of every per-TCB array of a TcpLayer (typed arrays sized by maxConns,
 * the hash table, handler slots), per TCB. The scoreboard's record arena is
 * shared (sized by the buffer space, not the TCBs) and is left out.
 */
function reservedPerTcb(tcp: TcpLayer): number {
  const max = tcp.t.max;
  let bytes = 0;
  const cubic = tcp.ccs.find((x): x is Cubic => x instanceof Cubic);
  const parts: object[] = [tcp.t, tcp.sb, tcp.rtx, tcp.rack, tcp.prr, tcp.undo, tcp.pacer, tcp.wheel, tcp.tw];
  if (cubic !== undefined) parts.push(cubic, cubic.hystart);
  for (const part of parts) {
    for (const v of Object.values(part)) {
      if (ArrayBuffer.isView(v) && 'length' in v && (v.length as number) >= max && !(part === tcp.rtx && v.length === tcp.rtx.capacity)) bytes += v.byteLength;
      else if (Array.isArray(v) && v.length === max) bytes += 8 * max;
    }
  }
  return bytes / max;
}

/** Kernel memory of TCP sockets: the TCP slab objects plus socket buffer pages (root can read /proc/slabinfo). */
function kernelTcpBytes(): number {
  let bytes = 0;
  try {
    for (const line of readFileSync('/proc/slabinfo', 'utf8').split('\n')) {
      const f = line.split(/\s+/);
      if (f[0] === 'TCP' || f[0] === 'request_sock_TCP' || f[0] === 'tw_sock_TCP') bytes += Number(f[1]) * Number(f[3]);
    }
  } catch {
    return NaN;
  }
  const m = /TCP: inuse \d+ orphan \d+ tw \d+ alloc \d+ mem (\d+)/.exec(readFileSync('/proc/net/sockstat', 'utf8'));
  return bytes + (m ? Number(m[1]) * 4096 : 0);
}

async function kernelHold(n: number): Promise<number> {
  const server = net.createServer((s) => s.on('error', noop));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  const k0 = kernelTcpBytes();
  const socks: net.Socket[] = [];
  for (let i = 0; i < n; i++) {
    const s = net.connect(port, '127.0.0.1');
    s.on('error', noop);
    socks.push(s);
    if (i % 256 === 255) await once(s, 'connect');
  }
  await new Promise((r) => setTimeout(r, 500));
  const used = kernelTcpBytes() - k0;
  for (const s of socks) s.destroy();
  server.close();
  return used / (2 * n);
}

function ratio(a: number, b: number): string {
  return b > 0 ? `${(a / b).toFixed(2)}x` : 'n/a';
}

/** One measurement per child process, so no run inherits another's heap, JIT state or sockets. */
async function measure(mode: string): Promise<string> {
  switch (mode) {
    case 'hold': {
      const vh = vaigaiHold(HOLD);
      const kernelN = 5000;
      const kh = await kernelHold(kernelN);
      return (
        `established held: vaigAI ${vh.held} x2 ends in ${vh.seconds.toFixed(1)} s, ${vh.reservedPerConn.toFixed(0)} B per TCB reserved, ` +
        `RSS grew ${vh.rssPerConn.toFixed(0)} B/connection while establishing  kernel(loopback, ${kernelN} x2 sockets) ${kh.toFixed(0)} B/socket ` +
        `(slab + buffers)  ratio ${ratio(vh.reservedPerConn, kh)}  (target 1000000 at <= 1024 B)`
      );
    }
    case 'cps': {
      const vc = vaigaiCps();
      const kc = await kernelCps();
      return `connections opened+closed/s: vaigAI ${vc.toFixed(0)}  kernel(loopback) ${kc.toFixed(0)}  ratio ${ratio(vc, kc)}  (target >= 100000)`;
    }
    default: {
      const vg = vaigaiGoodput();
      const kg = await kernelGoodput();
      return `bulk goodput: vaigAI ${(vg / 1e9).toFixed(2)} Gbit/s  kernel(loopback) ${(kg / 1e9).toFixed(2)} Gbit/s  ratio ${ratio(vg, kg)}  (target >= 4)`;
    }
  }
}

const mode = process.argv[4];
if (mode !== undefined) {
  console.log(await measure(mode));
} else {
  for (const m of ['cps', 'goodput', 'hold']) {
    const out = execFileSync(process.execPath, ['--expose-gc', '--max-old-space-size=8192', process.argv[1], String(SECONDS), String(HOLD), m], { encoding: 'utf8' });
    process.stdout.write(out);
  }
}
