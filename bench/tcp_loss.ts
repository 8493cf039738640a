/**
 * TCP sender under loss, delay and reordering: vaigAI and the Linux kernel as
 * senders through the same `vaigai impair` hop, to the same kernel receiver,
 * alternating run by run, for each congestion controller.
 *
 *   g ns: vaigAI (af_packet on g0, 198.18.40.10, no kernel address)
 *         and the kernel sender (198.18.40.1 on the same g0)
 *     --veth--> m ns: `vaigai impair` between m0 and m1 --veth--> k ns: the receiver (198.18.40.2)
 *
 * vaigAI sends with `--tcp-source BYTES`; the kernel with a Python server that
 * writes BYTES on the connection it accepts (TCP_CONGESTION reno or cubic as
 * the run's --cc newreno or cubic). The receiver, a Python client in k, reads
 * to EOF and times it from connect(). Each run restarts the hop with the same
 * seed. Goodput is bytes / that time; the table gives the median of the
 * rounds per sender and their ratio, with vaigAI's RTOs and retransmissions.
 *
 * Usage: node dist/bench/tcp_loss.js [MB per run = 20] [rounds = 3] [cc = newreno,cubic] [impairments = all]
 * (impairments: comma-separated labels' first words: 1%loss,5%loss,reorder,delay; delay2, the reordering run
 * without its reordering, only when named)
 * Needs root and the af_packet driver.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exited, NetnsLab, netTestSkipReason } from '../test/helpers/netns.js';
import { Proc } from '../test/front/lab.js';

const MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url));
/** The vaigAI sender's build (VG_TCP_LOSS_SENDER=/path/to/dist/src/main.js: another build's, for before/after figures). */
const SENDER = process.env.VG_TCP_LOSS_SENDER ?? MAIN;
const MB = Number(process.argv[2] ?? 20);
const ROUNDS = Number(process.argv[3] ?? 3);
const CCS = (process.argv[4] ?? 'newreno,cubic').split(',').filter((s) => s !== '');
const ONLY = process.argv[5]?.split(',') ?? null;
const BYTES = Math.round(MB * 1e6);
/** One run's limit. */
const RUN_MS = 300_000;

const P = 'vgtcpb-';
const VG_IP = '198.18.40.10';
const LX_IP = '198.18.40.1';
const RX_IP = '198.18.40.2';
const PORT = 19;

interface Imp {
  key: string;
  label: string;
  hop: string[];
  /** Run only when named (a reference, not one of the impairments). */
  optional?: boolean;
}

const IMPAIRMENTS: Imp[] = [
  { key: '1%loss', label: '1% loss', hop: ['--both', 'loss=1%', '--seed', '3'] },
  { key: '5%loss', label: '5% loss', hop: ['--both', 'loss=5%', '--seed', '5'] },
  { key: 'reorder', label: '5% reordering (2 ms delay)', hop: ['--both', 'delay=2ms,reorder=5%', '--seed', '9'] },
  { key: 'delay', label: '20 ms delay + 1% loss', hop: ['--both', 'delay=20ms,loss=1%,limit=20000', '--seed', '7'] },
  // The reordering run's delay without its reordering: what the hop allows.
  { key: 'delay2', label: '2 ms delay (reference)', hop: ['--both', 'delay=2ms', '--seed', '9'], optional: true },
];

/** The kernel's side: a sender serving BYTES to one client, and the receiver that times the read. */
const PY = String.raw`
import socket, sys, time
if sys.argv[1] == 'send':
    ip, port, n, cc = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, cc.encode())
    s.bind((ip, port)); s.listen(1); print('ready', flush=True)
    c, _a = s.accept()
    buf = memoryview(bytes(range(256)) * 4096)
    left = n
    while left > 0:
        left -= c.send(buf[:min(left, len(buf))])
    c.shutdown(socket.SHUT_WR)
    c.settimeout(10)
    try:
        while c.recv(65536): pass
    except OSError: pass
    c.close()
else:
    ip, port = sys.argv[2], int(sys.argv[3])
    t0 = time.monotonic()
    c = socket.create_connection((ip, port), timeout=60)
    n = 0
    while True:
        d = c.recv(1 << 20)
        if not d: break
        n += len(d)
    t = time.monotonic() - t0
    c.close()
    print('got', n, t, flush=True)
`;

/** The result's `tcpSenders` (cwnd in bytes, SRTT in µs). */
interface Senders {
  cwnd: { p50: number; p90: number };
  srttUs: { p50: number };
}

const kb = (b: number): string => (b / 1024).toFixed(0);

interface Result {
  mbit: number;
  extra: string;
}

/** utime + stime of a process in seconds (0 when it is gone). */
function procCpuS(pid: number | undefined): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) / 100;
  } catch {
    return 0;
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function main(): Promise<void> {
  const skip = netTestSkipReason(['ethtool', 'python3']);
  if (skip !== null) {
    console.log(`bench/tcp_loss: skipped: ${skip}`);
    return;
  }
  const native = await import('../src/port/native.js');
  if (!native.nativeDrivers().includes('af_packet')) {
    console.log(`bench/tcp_loss: skipped: af_packet unavailable: ${native.nativeLoadError()}`);
    return;
  }
  const lab = new NetnsLab(P);
  const cleanup = (): void => lab.cleanup();
  process.once('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  try {
    const g = lab.addNs('g');
    const m = lab.addNs('m');
    const k = lab.addNs('k');
    lab.addVeth({ name: `${P}g0`, ns: g }, { name: `${P}m0`, ns: m });
    lab.addVeth({ name: `${P}m1`, ns: m }, { name: `${P}k0`, ns: k });
    lab.run(g, 'ip', ['addr', 'add', `${LX_IP}/24`, 'dev', `${P}g0`]);
    lab.run(k, 'ip', ['addr', 'add', `${RX_IP}/24`, 'dev', `${P}k0`]);
    // Whole frames with complete checksums from both kernels (the hop forwards frames, not GSO super-frames).
    for (const [ns, l] of [[g, `${P}g0`], [k, `${P}k0`]]) lab.run(ns, 'ethtool', ['-K', l, 'tx', 'off', 'tso', 'off', 'gso', 'off']);
    for (const l of [`${P}m0`, `${P}m1`]) lab.run(m, 'ip', ['link', 'set', l, 'promisc', 'on']);
    const dir = lab.run(null, 'mktemp', ['-d', `/tmp/${P}XXXXXX`]).trim();

    const hop = async (imp: Imp): Promise<Proc> => {
      const p = new Proc(
        lab.spawn(m, process.execPath, [MAIN, 'impair', '--port', `af_packet:iface=${P}m0`, '--port', `af_packet:iface=${P}m1`, ...imp.hop]),
      );
      await p.waitFor(/<->/, 20_000);
      return p;
    };
    const receive = async (ip: string): Promise<{ bytes: number; s: number }> => {
      const r = new Proc(lab.spawn(k, 'python3', ['-c', PY, 'recv', ip, String(PORT)]));
      const code = await exited(r.child, RUN_MS, 'receiver');
      const mm = /got (\d+) ([0-9.]+)/.exec(r.out);
      if (code !== 0 || mm === null) throw new Error(`receiver failed (${code}): ${r.out}`);
      return { bytes: Number(mm[1]), s: Number(mm[2]) };
    };

    const vaigai = async (imp: Imp, cc: string): Promise<Result> => {
      const h = await hop(imp);
      const json = join(dir, 'vg.json');
      const args = ['--port', `af_packet:iface=${P}g0`, '--src-ip', VG_IP, '--tcp-source', String(BYTES), '--tcp-window', '4m', '--json', json];
      // VG_TCP_LOSS_NO_CC=1: a build without --cc (the NewReno-only sender), for before/after figures.
      if (process.env.VG_TCP_LOSS_NO_CC !== '1') args.push('--cc', cc);
      const v = new Proc(lab.spawn(g, process.execPath, [SENDER, ...args]));
      try {
        await v.waitFor(/^vaigai: .* mac [0-9a-f:]{17},/m, 20_000);
        await new Promise((r) => setTimeout(r, 300));
        const cpu0 = procCpuS(v.child.pid);
        const got = await receive(VG_IP);
        const cpu = procCpuS(v.child.pid) - cpu0;
        if (got.bytes !== BYTES) throw new Error(`vaigAI: received ${got.bytes} of ${BYTES}`);
        await v.stop();
        const res = JSON.parse(readFileSync(json, 'utf8')) as { tcp: Record<string, number>; tcpSenders?: Senders };
        const tcp = res.tcp;
        const s = res.tcpSenders;
        const extra =
          `rto ${tcp.rtoFires} retrans ${tcp.retransSegs}` +
          (tcp.rackRetransmits !== undefined ? ` (rack ${tcp.rackRetransmits} tlp ${tcp.tlpRetransmits} rto ${tcp.rtoRetransmits}, spurious ${tcp.spuriousRetransmits})` : '') +
          (tcp.undoneReductions !== undefined ? ` recoveries ${tcp.fastRetransmits} undone ${tcp.undoneReductions} dsacks ${tcp.dsacksIn} reo-timeouts ${tcp.reoTimeouts}` : '') +
          (s !== undefined ? ` cwnd p50/p90 ${kb(s.cwnd.p50)}/${kb(s.cwnd.p90)} KB srtt p50 ${(s.srttUs.p50 / 1000).toFixed(2)} ms` : '') +
          ` probes ${tcp.lossProbes}, CPU ${((cpu / got.s) * 100).toFixed(0)}%`;
        return { mbit: (got.bytes * 8) / got.s / 1e6, extra };
      } finally {
        if (v.child.exitCode === null) await v.stop();
        await h.stop();
        rmSync(json, { force: true });
      }
    };

    const linux = async (imp: Imp, cc: string): Promise<Result> => {
      const h = await hop(imp);
      const s = new Proc(lab.spawn(g, 'python3', ['-c', PY, 'send', LX_IP, String(PORT), String(BYTES), cc === 'newreno' ? 'reno' : 'cubic']));
      try {
        await s.waitFor(/ready/, 10_000);
        const before = lab.run(g, 'nstat', ['-az', 'TcpRetransSegs', 'TcpExtTCPLossProbes', 'TcpExtTCPTimeouts']);
        const got = await receive(LX_IP);
        await exited(s.child, 20_000, 'kernel sender');
        const after = lab.run(g, 'nstat', ['-az', 'TcpRetransSegs', 'TcpExtTCPLossProbes', 'TcpExtTCPTimeouts']);
        const delta = (name: string): number => {
          const v = (txt: string): number => Number(new RegExp(`${name}\\s+(\\d+)`).exec(txt)?.[1] ?? NaN);
          return v(after) - v(before);
        };
        if (got.bytes !== BYTES) throw new Error(`Linux: received ${got.bytes} of ${BYTES}`);
        return {
          mbit: (got.bytes * 8) / got.s / 1e6,
          extra: `rto ${delta('TcpExtTCPTimeouts')} retrans ${delta('TcpRetransSegs')} probes ${delta('TcpExtTCPLossProbes')}`,
        };
      } finally {
        if (s.child.exitCode === null) await s.stop();
        await h.stop();
      }
    };

    console.log(`bench/tcp_loss: ${MB} MB per run, ${ROUNDS} rounds, alternating vaigAI and Linux; goodput in Mbit/s (median of rounds)`);
    const rows: string[] = [];
    for (const imp of IMPAIRMENTS) {
      if (ONLY === null ? imp.optional === true : !ONLY.includes(imp.key)) continue;
      for (const cc of CCS) {
        const vg: number[] = [];
        const lx: number[] = [];
        for (let r = 0; r < ROUNDS; r++) {
          // Alternate who goes first, so drift in the machine's load falls on both.
          const order = r % 2 === 0 ? ['vaigai', 'linux'] : ['linux', 'vaigai'];
          for (const who of order) {
            const res = who === 'vaigai' ? await vaigai(imp, cc) : await linux(imp, cc);
            (who === 'vaigai' ? vg : lx).push(res.mbit);
            console.log(`  ${imp.label}, ${cc}, round ${r + 1}: ${who.padEnd(6)} ${res.mbit.toFixed(1).padStart(7)} Mbit/s  ${res.extra}`);
          }
        }
        const v = median(vg);
        const l = median(lx);
        const row = `${imp.label.padEnd(28)} ${cc.padEnd(8)} vaigAI ${v.toFixed(1).padStart(7)}  Linux ${l.toFixed(1).padStart(7)}  ratio ${(v / l).toFixed(2)}`;
        rows.push(row);
        console.log(row);
      }
    }
    console.log('\nsummary (Mbit/s, medians):');
    for (const r of rows) console.log(r);
    rmSync(dir, { recursive: true, force: true });
  } finally {
    cleanup();
  }
}

await main();
