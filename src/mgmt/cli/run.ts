/**
 * `vaigai --port <spec> --src-ip A-B ...` (the default command): brings the
 * network layer up on one port queue, answers ARP and ping for every owned
 * address, prints a live counters line each second and a summary at the end.
 * With a mode it also runs the user-space TCP and, on it, an HTTP/1.1 server
 * (`--server`, HTTPS with `--tls`), a TCP sink or source, or an HTTP client
 * load (`--client URL`). The stack runs on this thread's own poll loop
 * (`pollLoop`), shaped so it can move into a worker's loop unchanged.
 * `--pcap` records the queue's frames, `--sslkeylog` the TLS secrets, and
 * words after `--` are a dpdk port's EAL arguments. With `--workers N` the
 * stack and the mode run on N worker threads instead (src/run/session.ts):
 * one capture file per worker (`run.pcap` -> `run.w0.pcap`, ...), one key log
 * appended to by all.
 */
import { accessSync, constants, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { monotonicClock, type Clock } from '../../common/clock.js';
import { BufferPool } from '../../core/buffer_pool.js';
import { MAX_WORKERS, runStackOnWorkers, workerPcapPath } from '../../run/session.js';
import type { PortQueue } from '../../port/port.js';
import { PcapWriter, tapQueue } from '../../port/pcap.js';
import { openPort } from '../../port/spec.js';
import { NetStack } from '../../net/stack.js';
import type { NetCounters } from '../../net/counters.js';
import { TcpLayer } from '../../net/tcp/tcp_layer.js';
import { runTcpOptions } from '../../net/tcp/config.js';
import { BulkMode, ClientMode, HttpServerMode, type Mode } from '../../engine/modes.js';
import { KeyLog } from '../../tls/keylog.js';
import { IPV4_PROTO_TCP } from '../../wire/ipv4.js';
import { ipToString } from '../../wire/ipv4_addr.js';
import { macFromBytes, macToString } from '../../wire/mac.js';
import type { RunPlan } from '../../run/plan.js';
import { ealOperands, OptionError, parseRunOptions, type RawRunOptions } from './stack_config.js';

const POOL_SLOTS = 8192;
const BURST = 64;
/** Polling slice before the event loop gets a turn (signals, the live line). */
const SLICE_US = 2000;
/** Time without frames before the loop sleeps a millisecond between polls. */
const IDLE_US = 500;

const collect = (v: string, prev: string[]): string[] => [...prev, v];

export function registerRun(program: Command): void {
  program
    .command('run', { isDefault: true })
    .description('bring up the network stack on a port: ARP and ping for the owned addresses')
    .option('--port <spec>', 'port to use, e.g. af_packet:iface=eth1')
    .option('--src-ip <range>', 'owned addresses: A, A-B, A/len or A-B/len (subnet /24 by default), @N for VLAN N; repeatable', collect, [])
    .option('--gateway <ip>', 'default route via this gateway')
    .option('--route <spec>', '"prefix/len via gateway" (repeatable)', collect, [])
    .option('--vlan <id>', '802.1Q VLAN of the owned addresses given without @N')
    .option('--mac <mac>', "our MAC address (default: the port's)")
    .option('--duration <seconds>', 'stop after this long (default: on SIGINT/SIGTERM)')
    .option('--json <file>', 'write the counters as JSON to this file (each second and at exit)')
    .option('--tcp-window <bytes>', 'receive window and send buffer of every TCP connection, e.g. 4m (default 256k)')
    .option('--max-conns <n>', 'TCP connections (TCBs) held at once, TIME_WAIT included', '65536')
    .option('--cc <algorithm>', 'TCP congestion control: cubic (the default, as Linux) or newreno')
    .option('--server', 'HTTP/1.1 server on the owned addresses (/bytes/<n> answers n bytes)')
    .option('--listen-port <port>', 'port of --server (80, 443 with --tls), --tcp-sink (9), --tcp-source (19)')
    .option('--http-status <code>', 'status of every --server answer', '200')
    .option('--body-size <bytes>', 'body size of --server answers to other targets than /bytes/<n>', '0')
    .option('--tcp-sink', 'TCP server that discards what it receives (with --sha256: prints each connection\'s digest)')
    .option('--tcp-source <bytes>', 'TCP server that sends this many bytes on each connection, then closes')
    .option('--client <url>', 'HTTP client load against http[s]://IPv4[:port]/path')
    .option('--connections <n>', 'concurrent client connections', '1')
    .option('--requests <n>', 'requests in all (default 1, or unbounded with --duration)')
    .option('--keepalive', 'keep connections open for all requests (the default)')
    .option('--conn-per-request', 'one request per connection')
    .option('--requests-per-conn <n>', 'requests per connection before it is closed and replaced')
    .option('--pipeline <depth>', 'requests in flight per connection', '1')
    .option('--rate <n>', 'requests per second at most (connections per second with --conn-per-request)')
    .option('--method <m>', 'request method (GET; POST with --body-file)')
    .option('--body-file <file>', 'request body (sent with Content-Length)')
    .option('--save-body <file>', 'write the (last) response body to this file (not with --workers)')
    .option('--sha256', 'print the sha256 of the (last) response body')
    .option('--expect-sha256 <hex>', 'count each response body as verified when its sha256 is this')
    .option('--tls', 'serve HTTPS (--server, with --cert and --key)')
    .option('--cert <file>', 'PEM certificate of the HTTPS server')
    .option('--key <file>', 'PEM private key of the HTTPS server')
    .option('--sni <name>', 'TLS server name the client sends and verifies')
    .option('--insecure', 'client: do not verify the server certificate')
    .option('--ca <file>', 'client: PEM CA bundle to verify the server with')
    .option('--tls-version <v>', 'TLS version to use, 1.2 or 1.3 (default: either)')
    .option('--tls-engine <engine>', "TLS implementation: native (the addon's OpenSSL; the default when built) or node (node:tls)")
    .option('--pcap <file>', 'write every frame the port receives and sends to this pcap file (with --workers: FILE.wN.pcap per worker)')
    .option('--sslkeylog <file>', 'append the TLS secrets of every session to this file, for Wireshark (default: $SSLKEYLOGFILE)')
    .option('--workers <n>', 'run the stack on N poll-mode worker threads, one per port queue (adds queues=N to --port)')
    .argument('[eal...]', 'after --: EAL arguments of a dpdk port, e.g. -- --no-huge -m 512 --vdev net_af_packet0,iface=eth1')
    .usage('--port <spec> --src-ip <range> [options] [-- EAL arguments]')
    .action(async (eal: string[], opts: RawRunOptions & { workers?: string }) => {
      const plan = parseRunOptions(opts, ealOperands(eal, process.argv));
      checkInputFiles(plan);
      if (opts.workers === undefined) return runStack(plan);
      const n = /^\d+$/.test(opts.workers) ? Number(opts.workers) : NaN;
      if (!(n >= 1 && n <= MAX_WORKERS)) throw new OptionError('--workers', `"${opts.workers}" is not an integer in 1..${MAX_WORKERS}`);
      checkWorkerFiles(plan, n);
      await runStackOnWorkers(plan, n);
    });
}

async function runStack(plan: RunPlan): Promise<void> {
  // What is open, closed newest first however the run ends. The files open
  // before the port, so that a path that cannot be written touches nothing.
  const closers: (() => void)[] = [];
  try {
    const kl = plan.keylog;
    const keylog = kl === null ? null : refusedAs(kl.from, `cannot write "${kl.path}": `, () => new KeyLog(kl.path));
    if (keylog !== null) closers.push(() => keylog.close());
    const pcapPath = plan.pcapPath;
    const pcap = pcapPath === null ? null : refusedAs('--pcap', `cannot write "${pcapPath}": `, () => new PcapWriter(pcapPath));
    if (pcap !== null) closers.push(() => pcap.close());
    const port = refusedAs('--port', '', () => openPort(plan.portSpec, plan.ealArgs));
    closers.push(() => port.close());
    const portQueue = port.openQueue(0, new BufferPool(POOL_SLOTS));
    const queue = pcap === null ? portQueue : tapQueue(portQueue, pcap);
    closers.push(() => queue.close());
    const mac = plan.mac >= 0 ? plan.mac : macFromBytes(port.caps.mac);
    const stack = new NetStack({ queue, clock: monotonicClock, mac, addrs: plan.addrs, routes: plan.routes });
    closers.push(() => stack.close());
    const tcp = plan.mode.kind === 'stack' ? null : new TcpLayer(stack, runTcpOptions(plan.maxConns, plan.tcpWindow, plan.cc));
    if (tcp !== null) stack.registerL4(IPV4_PROTO_TCP, tcp);
    const owned = plan.addrs.reduce((n, a) => n + a.hi - a.lo + 1, 0);
    console.log(
      `vaigai: ${port.driver} ${port.name} mac ${macToString(mac)}, ${owned} addresses ` +
        plan.addrs.map((a) => `${ipToString(a.lo)}-${ipToString(a.hi)}/${a.prefixLen}${a.vlan >= 0 ? ` vlan ${a.vlan}` : ''}`).join(', '),
    );
    const mode = tcp === null ? null : startMode(plan, tcp, keylog);
    await serve(plan, queue, stack, tcp, mode, pcap);
    if (pcap !== null) console.log(`pcap: ${pcap.frames} frames to ${pcapPath}`);
    if (keylog !== null) console.log(`sslkeylog: ${keylog.lines} secrets to ${kl?.path}`);
  } finally {
    for (let i = closers.length - 1; i >= 0; i--) closers[i]();
  }
}

/**
 * With --workers: what cannot be made exact is refused, and the files the
 * workers will write (one capture per worker, the shared key log) are opened
 * once here, so that a path that cannot be written is refused by option before
 * any worker starts.
 */
function checkWorkerFiles(plan: RunPlan, workers: number): void {
  if (plan.mode.kind === 'client' && plan.mode.saveBody !== null) {
    throw new OptionError('--save-body', 'not with --workers: which response is the last one is not defined across workers (use --sha256 or --expect-sha256)');
  }
  const pcapPath = plan.pcapPath;
  if (pcapPath !== null) {
    for (let w = 0; w < workers; w++) {
      const path = workerPcapPath(pcapPath, w);
      refusedAs('--pcap', `cannot write "${path}": `, () => new PcapWriter(path).close());
    }
  }
  const kl = plan.keylog;
  if (kl !== null) refusedAs(kl.from, `cannot write "${kl.path}": `, () => new KeyLog(kl.path).close());
}

/** Files the run will read are refused now, by option, rather than as a bare ENOENT once the port is up. */
function checkInputFiles(plan: RunPlan): void {
  const m = plan.mode;
  const files: [string, string | null][] = [];
  if (m.kind === 'http' && m.tls !== null) files.push(['--cert', m.tls.cert], ['--key', m.tls.key]);
  if (m.kind === 'client') files.push(['--body-file', m.bodyFile], ['--ca', m.tls?.ca ?? null]);
  for (const [option, path] of files) {
    if (path !== null) refusedAs(option, `cannot read "${path}": `, () => accessSync(path, constants.R_OK));
  }
}

/** Runs `open`; its failure becomes an error that names the setting at fault. */
function refusedAs<T>(setting: string, what: string, open: () => T): T {
  try {
    return open();
  } catch (e) {
    throw new OptionError(setting, `${what}${e instanceof Error ? e.message : String(e)}`);
  }
}

/** Runs the poll loop until a signal, the duration or a finished mode; prints the counters each second and at the end. */
async function serve(plan: RunPlan, queue: PortQueue, stack: NetStack, tcp: TcpLayer | null, mode: Mode | null, pcap: PcapWriter | null): Promise<void> {
  let stop = false;
  const onSignal = (): void => {
    stop = true;
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const started = monotonicClock.nowUs();
  // The client's time bound is its own (it drains open requests past it).
  const deadline = plan.durationS > 0 && plan.mode.kind !== 'client' ? started + plan.durationS * 1e6 : Infinity;
  const report = (): void => {
    const s = (monotonicClock.nowUs() - started) / 1e6;
    console.log(mode === null ? liveLine(s, stack.counters) : mode.liveLine(s));
    if (plan.jsonPath !== null) writeStats(plan.jsonPath, stack.counters, queue, s, tcp, mode);
    // The capture file stays readable while the run goes on.
    pcap?.flush();
  };
  const timer = setInterval(report, 1000);
  const onTick = mode === null ? null : (now: number): void => mode.tick(now);
  try {
    await pollLoop(queue, stack, monotonicClock, () => stop || monotonicClock.nowUs() >= deadline || (mode?.finished() ?? false), onTick);
  } finally {
    clearInterval(timer);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    stack.flush();
    report();
    console.log(summary(stack.counters));
    if (tcp !== null) console.log(tcpSummary(tcp));
    if (mode !== null) console.log(mode.summary());
  }
}

/** The mode on the TCP layer, from the plan. */
function startMode(plan: RunPlan, tcp: TcpLayer, keylog: KeyLog | null): Mode {
  const m = plan.mode;
  switch (m.kind) {
    case 'http':
      return new HttpServerMode({ transport: tcp, port: m.port, status: m.status, bodySize: m.bodySize, tls: m.tls, keylog });
    case 'sink':
    case 'source':
      return new BulkMode(tcp, m.kind, m.port, m.bytes, m.sha256);
    case 'client':
      return new ClientMode({
        ...m,
        transport: tcp,
        clock: monotonicClock,
        srcIp: plan.addrs[0].lo,
        durationUs: plan.durationS * 1e6,
        maxConns: plan.maxConns,
        keylog,
      });
    default:
      throw new Error('no mode');
  }
}

/**
 * Polls `queue` into `stack` until `done()`: bursts in slices of SLICE_US, a
 * tick (and `onTick`) every millisecond, one event-loop turn between slices,
 * and once nothing arrived for IDLE_US (and nothing is pending) a 1 ms sleep
 * between polls.
 */
export async function pollLoop(
  queue: PortQueue,
  stack: NetStack,
  clock: Clock,
  done: () => boolean,
  onTick: ((nowUs: number) => void) | null = null,
): Promise<void> {
  const rx = new Int32Array(BURST);
  let nextTick = 0;
  let lastRx = clock.nowUs();
  while (!done()) {
    const sliceEnd = clock.nowUs() + SLICE_US;
    let now: number;
    let idle: boolean;
    do {
      now = clock.nowUs();
      const n = queue.rxBurst(rx, BURST);
      if (n > 0) {
        stack.input(rx, n, now);
        lastRx = now;
      }
      if (now >= nextTick) {
        stack.tick(now);
        if (onTick !== null) onTick(now);
        nextTick = now + 1000;
      }
      stack.flush();
      idle = now - lastRx >= IDLE_US;
    } while (now < sliceEnd && !idle);
    if (idle && !stack.busy()) await new Promise((r) => setTimeout(r, 1));
    else await new Promise((r) => setImmediate(r));
  }
}

function liveLine(s: number, c: NetCounters): string {
  const drops =
    c.ethDropTruncated + c.ethDropNotForUs + c.ethDropVlan + c.ethDropType + c.arpDropMalformed + c.arpDropNotForUs +
    c.ipv4DropTruncated + c.ipv4DropBadVersion + c.ipv4DropBadHeaderLen + c.ipv4DropBadTotalLen + c.ipv4DropBadChecksum +
    c.ipv4DropTtl + c.ipv4DropFragment + c.ipv4DropNotOurs + c.ipv4DropNoProto + c.icmpDropTruncated + c.icmpDropBadChecksum +
    c.icmpDropMalformed;
  return (
    `[${s.toFixed(0).padStart(4)}s] rx ${c.rxFrames} tx ${c.txFrames} | arp req ${c.arpRxRequests} rep ${c.arpTxReplies}` +
    ` garp ${c.arpTxGratuitous} resolved ${c.arpResolved} | echo ${c.icmpRxEchoRequests}/${c.icmpTxEchoReplies}` +
    ` | unreach tx ${c.icmpTxUnreach} rx ${c.icmpRxUnreach} | drops ${drops}`
  );
}

function summary(c: NetCounters): string {
  const nonZero = Object.entries(c.snapshot()).filter(([, v]) => v !== 0);
  return `summary: ${nonZero.map(([k, v]) => `${k}=${v}`).join(' ') || 'no traffic'}`;
}

function tcpSummary(tcp: TcpLayer): string {
  const nonZero = Object.entries(tcp.counters).filter(([, v]) => v !== 0);
  const { cwnd, srttUs } = tcp.stats.percentiles();
  const pct = cwnd.samples === 0 ? '' : `\ntcp: cwnd p50/p90/p99 ${cwnd.p50}/${cwnd.p90}/${cwnd.p99} B, srtt ${srttUs.p50}/${srttUs.p90}/${srttUs.p99} us (${cwnd.samples} samples)`;
  return `tcp: ${nonZero.map(([k, v]) => `${k}=${String(v)}`).join(' ') || 'no traffic'}${pct}`;
}

function writeStats(path: string, c: NetCounters, queue: PortQueue, seconds: number, tcp: TcpLayer | null, mode: Mode | null): void {
  const out: Record<string, unknown> = { seconds, counters: c.snapshot(), port: queue.stats() };
  if (tcp !== null) out.tcp = { ...tcp.counters, percentiles: tcp.stats.percentiles() };
  if (mode !== null) out.app = mode.json();
  writeFileSync(path, JSON.stringify(out, null, 1));
}
