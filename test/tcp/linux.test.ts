/**
 * The Linux kernel as the peer, in a network namespace: vaigAI (AF_PACKET on
 * one end of a veth pair, NetStack + TcpLayer) downloads from and uploads to a
 * kernel TCP server, and serves a kernel client; sha256 must match, and a
 * capture must show no malformed segment in tshark's expert info.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setImmediate as yieldLoop } from 'node:timers/promises';
import { monotonicClock } from '../../src/common/clock.js';
import { BufferPool } from '../../src/core/buffer_pool.js';
import { NetStack } from '../../src/net/stack.js';
import { CloseReason, type TcpHandler } from '../../src/net/tcp/api.js';
import { TcpLayer } from '../../src/net/tcp/tcp_layer.js';
import { openPort } from '../../src/port/spec.js';
import type { Port, PortQueue } from '../../src/port/port.js';
import { IPV4_PROTO_TCP } from '../../src/wire/ipv4.js';
import { parseIp } from '../../src/wire/ipv4_addr.js';
import { macFromBytes } from '../../src/wire/mac.js';

const NS = 'vgtcp-k';
const VETH_US = 'vgtcp-a';
const VETH_KERNEL = 'vgtcp-b';
const OUR_IP = parseIp('198.18.3.1');
const KERNEL_IP = parseIp('198.18.3.2');
const SIZE = Number(process.env.VG_TCP_LINUX_BYTES ?? 20 * 1024 * 1024);

function sh(cmd: string, args: string[]): void {
  execFileSync(cmd, args, { stdio: 'pipe' });
}

function missing(): string | null {
  if (process.getuid?.() !== 0) return 'needs root for network namespaces';
  for (const tool of ['/usr/sbin/ip', '/usr/bin/tshark', '/usr/sbin/ethtool']) if (!existsSync(tool)) return `${tool} not installed`;
  return null;
}

function setup(): void {
  teardown();
  sh('ip', ['netns', 'add', NS]);
  sh('ip', ['link', 'add', VETH_US, 'type', 'veth', 'peer', 'name', VETH_KERNEL, 'netns', NS]);
  sh('sysctl', ['-qw', `net.ipv6.conf.${VETH_US}.disable_ipv6=1`]);
  sh('ip', ['link', 'set', VETH_US, 'up']);
  sh('ip', ['netns', 'exec', NS, 'ip', 'addr', 'add', '198.18.3.2/24', 'dev', VETH_KERNEL]);
  sh('ip', ['netns', 'exec', NS, 'ip', 'link', 'set', VETH_KERNEL, 'up']);
  sh('ip', ['netns', 'exec', NS, 'ip', 'link', 'set', 'lo', 'up']);
  // Full checksums and no GSO super-frames from the kernel side (see DESIGN.md).
  sh('ip', ['netns', 'exec', NS, 'ethtool', '-K', VETH_KERNEL, 'tx', 'off', 'tso', 'off', 'gso', 'off']);
  sh('ethtool', ['-K', VETH_US, 'tx', 'off', 'tso', 'off', 'gso', 'off', 'gro', 'off']);
}

function teardown(): void {
  try {
    execFileSync('ip', ['link', 'del', VETH_US], { stdio: 'ignore' });
  } catch {
    // not there
  }
  try {
    execFileSync('ip', ['netns', 'del', NS], { stdio: 'ignore' });
  } catch {
    // not there
  }
}

/** The kernel side, in Python (standard library only). */
const KERNEL_PEER = String.raw`
import hashlib, socket, sys
mode, size = sys.argv[1], int(sys.argv[2])
def pattern(n):
    block = bytes((i * 131 + 7) & 0xff for i in range(65536))
    while n > 0:
        k = min(n, len(block)); yield block[:k]; n -= k
if mode == 'server':
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('198.18.3.2', 9000)); s.listen(8); print('ready', flush=True)
    for _ in range(2):
        c, _a = s.accept(); what = c.recv(1)
        if what == b'D':
            for b in pattern(size): c.sendall(b)
        else:
            h = hashlib.sha256(); n = 0
            while True:
                b = c.recv(65536)
                if not b: break
                h.update(b); n += len(b)
            c.sendall(h.hexdigest().encode())
        c.close()
else:
    c = socket.create_connection(('198.18.3.1', 9001), timeout=30)
    for b in pattern(size): c.sendall(b)
    c.shutdown(socket.SHUT_WR)
    got = b''
    while True:
        b = c.recv(65536)
        if not b: break
        got += b
    print(got.decode(), flush=True)
`;

function pattern(n: number): Buffer {
  const block = Buffer.alloc(65536);
  for (let i = 0; i < block.length; i++) block[i] = (i * 131 + 7) & 0xff;
  const out = Buffer.alloc(n);
  for (let o = 0; o < n; o += block.length) block.copy(out, o, 0, Math.min(block.length, n - o));
  return out;
}

class Vaigai {
  readonly port: Port;
  readonly queue: PortQueue;
  readonly stack: NetStack;
  readonly tcp: TcpLayer;
  private readonly rx = new Int32Array(64);
  constructor() {
    this.port = openPort(`af_packet:iface=${VETH_US}`);
    this.queue = this.port.openQueue(0, new BufferPool(16384));
    this.stack = new NetStack({
      queue: this.queue,
      clock: monotonicClock,
      mac: macFromBytes(this.port.caps.mac),
      addrs: [{ lo: OUR_IP, hi: OUR_IP, prefixLen: 24, vlan: -1 }],
      routes: [],
    });
    this.tcp = new TcpLayer(this.stack, { maxConns: 64, rtoMinUs: 200_000 });
    this.stack.registerL4(IPV4_PROTO_TCP, this.tcp);
  }
  /** Polls until `done()` or the deadline; yields to the event loop now and then. */
  async run(done: () => boolean, ms: number): Promise<void> {
    const end = Date.now() + ms;
    let lastTick = 0;
    while (!done()) {
      assert.ok(Date.now() < end, 'timed out');
      for (let i = 0; i < 200; i++) {
        const now = monotonicClock.nowUs();
        const n = this.queue.rxBurst(this.rx, this.rx.length);
        if (n > 0) this.stack.input(this.rx, n, now);
        if (now - lastTick >= 1000) {
          this.stack.tick(now);
          lastTick = now;
        }
        this.stack.flush();
      }
      await yieldLoop();
    }
  }
  close(): void {
    this.queue.close();
    this.port.close();
  }
}

function startCapture(dir: string): ChildProcess {
  return spawn('ip', ['netns', 'exec', NS, 'tshark', '-q', '-i', VETH_KERNEL, '-s', '128', '-w', join(dir, 'cap.pcap')], { stdio: 'ignore' });
}

async function stopCapture(p: ChildProcess, dir: string): Promise<string> {
  await new Promise((r) => setTimeout(r, 500));
  p.kill('SIGINT');
  await new Promise((r) => p.once('exit', r));
  return execFileSync('tshark', ['-r', join(dir, 'cap.pcap'), '-q', '-z', 'expert,error'], { encoding: 'utf8' });
}

test('Linux peer: vaigAI client downloads from and uploads to a kernel server; a kernel client uploads to a vaigAI server', { timeout: 180_000 }, async (t) => {
  const why = missing();
  if (why !== null) {
    t.skip(why);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'vgtcp-'));
  let server: ChildProcess | null = null;
  let client: ChildProcess | null = null;
  let cap: ChildProcess | null = null;
  let vg: Vaigai | null = null;
  t.after(() => {
    server?.kill();
    client?.kill();
    cap?.kill();
    vg?.close();
    teardown();
    rmSync(dir, { recursive: true, force: true });
  });
  setup();
  cap = startCapture(dir);
  await new Promise((r) => setTimeout(r, 1000));
  server = spawn('ip', ['netns', 'exec', NS, 'python3', '-c', KERNEL_PEER, 'server', String(SIZE)], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => server!.stdout!.once('data', () => resolve()));
  vg = new Vaigai();
  const tcp = vg.tcp;
  const expected = createHash('sha256').update(pattern(SIZE)).digest('hex');

  // Download: ask with 'D', hash what arrives.
  let closed = -1;
  const down = createHash('sha256');
  let got = 0;
  const dl: TcpHandler = {
    onConnected: (c) => void tcp.write(c, Buffer.from('D'), 0, 1),
    onData: (_c, u8, off, len) => {
      down.update(u8.subarray(off, off + len));
      got += len;
    },
    onWritable: () => {},
    onPeerClosed: (c) => tcp.close(c),
    onClosed: (_c, r) => void (closed = r),
  };
  assert.ok(tcp.connect(OUR_IP, KERNEL_IP, 9000, dl) >= 0);
  const t0 = Date.now();
  await vg.run(() => closed >= 0, 120_000);
  const dlMs = Date.now() - t0;
  assert.equal(closed, CloseReason.NORMAL);
  assert.equal(got, SIZE);
  assert.equal(down.digest('hex'), expected);

  // Upload: 'U' then the pattern; the kernel answers with the sha256 it computed.
  closed = -1;
  const data = pattern(SIZE);
  let sent = -1;
  let answer = '';
  const pump = (c: number): void => {
    if (sent < 0) sent = tcp.write(c, Buffer.from('U'), 0, 1) - 1;
    while (sent < SIZE) {
      const n = tcp.write(c, data, sent, Math.min(65536, SIZE - sent));
      if (n <= 0) return;
      sent += n;
    }
    tcp.shutdown(c);
  };
  const ul: TcpHandler = {
    onConnected: pump,
    onData: (_c, u8, off, len) => void (answer += Buffer.from(u8.subarray(off, off + len)).toString()),
    onWritable: pump,
    onPeerClosed: (c) => tcp.close(c),
    onClosed: (_c, r) => void (closed = r),
  };
  assert.ok(tcp.connect(OUR_IP, KERNEL_IP, 9000, ul) >= 0);
  const t1 = Date.now();
  await vg.run(() => closed >= 0, 120_000);
  const ulMs = Date.now() - t1;
  assert.equal(closed, CloseReason.NORMAL);
  assert.equal(answer, expected);

  // Server mode: a kernel client uploads; we answer with the sha256 we computed.
  const up = createHash('sha256');
  let served = false;
  const srv: TcpHandler = {
    onConnected: () => {},
    onData: (_c, u8, off, len) => void up.update(u8.subarray(off, off + len)),
    onWritable: () => {},
    onPeerClosed: (c) => {
      const hex = Buffer.from(up.digest('hex'));
      tcp.write(c, hex, 0, hex.length);
      tcp.close(c);
    },
    onClosed: () => void (served = true),
  };
  assert.ok(tcp.listen(OUR_IP, 9001, srv) >= 0);
  client = spawn('ip', ['netns', 'exec', NS, 'python3', '-c', KERNEL_PEER, 'client', String(SIZE)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let clientOut = '';
  client.stdout!.on('data', (b: Buffer) => (clientOut += b.toString()));
  const clientExit = new Promise((r) => client!.once('exit', r));
  await vg.run(() => served, 120_000);
  await clientExit;
  assert.equal(clientOut.trim(), expected);

  const expert = await stopCapture(cap, dir);
  cap = null;
  assert.doesNotMatch(expert, /Malformed/i, expert);
  const k = tcp.counters;
  console.log(`Linux peer, ${SIZE} bytes each way: download ${((SIZE * 8) / dlMs / 1e3).toFixed(0)} Mbit/s, upload ${((SIZE * 8) / ulMs / 1e3).toFixed(0)} Mbit/s; retrans ${k.retransSegs}, bad csum ${k.rxBadChecksum}`);
});
