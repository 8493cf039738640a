/**
 * What 2,000 idle connections cost the HTTP server, and whether it comes back
 * after they close:
 *  1. in process (run with --expose-gc): V8 heap plus array buffers after a
 *     full collection, before, with 2,000 idle keep-alive connections (one
 *     request answered each, on a transport that keeps nothing), and after
 *     the peers closed them;
 *  2. the `vaigai --server` command (root): its RSS before, with 2,000 idle
 *     kernel-socket connections from a peer namespace, and 3 s after they
 *     closed; twice, to tell memory kept for reuse from memory that grows.
 *     `--main PATH` measures another build's main.js the same way.
 * RSS depends on when V8 collects and what malloc keeps: run it a few times.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Http1Server } from '../src/app/http11/server.js';
import type { StreamTransport } from '../src/net/tcp/stream.js';
import { netTestSkipReason, SCAPY_PYTHON } from '../test/helpers/netns.js';
import { FrontLab, MAIN, Proc } from '../test/front/lab.js';

const CONNS = 2000;

/** Takes every write whole and keeps nothing: what remains on the heap is the server's. */
const discard: StreamTransport = {
  connect: () => -1,
  listen: () => 0,
  write: (_c, _u8, _off, len) => len,
  sendSpace: () => 1 << 20,
  shutdown() {},
  close() {},
  abort() {},
};

function heapMb(): string {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  return `${((m.heapUsed + m.arrayBuffers) / 2 ** 20).toFixed(1)} MB`;
}

function inProcess(): void {
  const server = new Http1Server({ transport: discard, port: 80 });
  server.listen();
  const before = heapMb();
  const req = Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  for (let id = 0; id < CONNS; id++) {
    server.onConnected(id);
    server.onData(id, req, 0, req.length);
  }
  const open = heapMb();
  for (let id = 0; id < CONNS; id++) server.onPeerClosed(id);
  // Two sweeps of the free list (1 s apart with the default timeouts).
  const tick = (server as { tick?: (us: number) => void }).tick?.bind(server);
  if (tick !== undefined) for (let t = 1; t <= 3; t++) tick(performance.now() * 1000 + t * 1_000_000);
  console.log(`in process (${server.stats.accepted} connections): heap + buffers ${before} before, ${open} with them open, ${heapMb()} after they closed`);
}

function rssMb(p: Proc): string {
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p.child.pid}/status`, 'utf8'))?.[1] ?? -1);
  return `${(kb / 1024).toFixed(1)} MB`;
}

async function command(main: string): Promise<void> {
  const skip = netTestSkipReason(['ss']);
  if (skip !== null) {
    console.log(`command: skipped (${skip})`);
    return;
  }
  const f = new FrontLab('vgsrvt-');
  try {
    const { gen, peer, genIf } = f.pair('198.18.48.1');
    const v = new Proc(f.lab.spawn(gen, process.execPath, [main, '--port', `af_packet:iface=${genIf}`, '--src-ip', '198.18.48.2', '--server', '--duration', '120']));
    await v.waitFor(/^vaigai: .* mac /m, 20_000);
    await new Promise((r) => setTimeout(r, 2000));
    const figures = [`before ${rssMb(v)}`];
    for (let round = 1; round <= 2; round++) {
      const go = join(f.dir, `close-${round}`);
      const script = new Proc(f.lab.spawn(peer, SCAPY_PYTHON, ['-c', `
import os, resource, socket, time
resource.setrlimit(resource.RLIMIT_NOFILE, (4096, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
conns = [socket.create_connection(('198.18.48.2', 80), timeout=10) for _ in range(${CONNS})]
for s in conns:
    s.sendall(b'GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n')
for s in conns:
    d = b''
    while not d.endswith(b'\\r\\n\\r\\n'):
        d += s.recv(4096)
print('open', flush=True)
end = time.monotonic() + 60
while not os.path.exists('${go}') and time.monotonic() < end:
    time.sleep(0.05)
for s in conns:
    s.close()
print('closed', flush=True)
`]));
      await script.waitFor(/open/, 60_000);
      await new Promise((r) => setTimeout(r, 2000));
      figures.push(`round ${round}: ${rssMb(v)} with ${CONNS} idle connections`);
      writeFileSync(go, '');
      await script.waitFor(/closed/, 10_000);
      await new Promise((r) => setTimeout(r, 3000));
      figures.push(`${rssMb(v)} 3 s after they closed`);
    }
    console.log(`command ${main}: RSS ${figures.join(', ')}`);
    await v.stop();
    const estab = spawnSync('ip', ['netns', 'exec', peer, 'ss', '-Htn', 'state', 'established'], { encoding: 'utf8' }).stdout.trim();
    if (estab !== '') console.log(`(peer still has established connections: ${estab.split('\n').length})`);
  } finally {
    await f.cleanup();
  }
}

const { values } = parseArgs({ options: { main: { type: 'string' }, 'no-command': { type: 'boolean' } } });
inProcess();
if (values['no-command'] !== true) await command(values.main ?? MAIN);
