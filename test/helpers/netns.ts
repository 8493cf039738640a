/**
 * Network-namespace fixtures for real-peer tests.
 *
 * A `NetnsLab` owns every namespace, veth pair and child process it creates,
 * all named with one prefix (e.g. `vgnat-`), and removes them in `cleanup()`:
 * register it with `t.after(() => lab.cleanup())` (node:test) so it runs on
 * failure too. Creating a lab first sweeps leftovers of a crashed earlier run
 * with the same prefix. Use a prefix of your own per test file and addresses
 * from 198.18.0.0/15.
 *
 *   const reason = netTestSkipReason(['tshark']);  // null when the test can run
 *   if (reason) return t.skip(reason);
 *   const lab = new NetnsLab('vgnat-');
 *   t.after(() => lab.cleanup());
 *   const peer = lab.addNs('peer');                // namespace "vgnat-peer", lo up
 *   lab.addVeth({ name: 'vgnat-a', ns: lab.addNs('port') }, { name: 'vgnat-b', ns: peer });
 *   lab.run(peer, 'ip', ['addr', 'add', '198.18.251.2/24', 'dev', 'vgnat-b']);
 *   const cap = await lab.capture(peer, 'vgnat-b', 'ether proto 0x88b5', 10);
 *   ... send ...
 *   const frames = await cap.frames();            // Uint8Array per captured frame
 *
 * Commands run through `ip netns exec`, synchronously (`run`) or as tracked
 * children (`spawn`) that cleanup() kills by PID. The native ports reach a
 * namespace with their `netns=<name>` option, so the test process itself stays
 * in the root namespace.
 *
 * Below the lab, helpers for port tests on any PortQueue: `probeFrame` (a
 * numbered 0x88b5 frame), `sendAll` / `rxAll` (bounded in count and time),
 * `l4ChecksumOk`, and `udpFlowsScript` / `udpFlowQueues` / `flowSummary` for
 * flow-affinity checks across queues.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Debian's python, which has scapy (the pyenv python first on PATH does not). */
export const SCAPY_PYTHON = '/usr/bin/python3';

function haveCommand(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** Why a namespace test cannot run here (not root, a tool missing), or null when it can. */
export function netTestSkipReason(tools: string[] = []): string | null {
  if (process.getuid?.() !== 0) return 'needs root to create network namespaces';
  for (const t of ['ip', ...tools]) {
    if (t === 'scapy') {
      if (spawnSync(SCAPY_PYTHON, ['-c', 'import scapy.all'], { stdio: 'ignore' }).status !== 0) {
        return `scapy is not importable by ${SCAPY_PYTHON} (apt-get install python3-scapy)`;
      }
    } else if (!haveCommand(t)) {
      return `${t} is not installed (see scripts/install-deps.sh)`;
    }
  }
  return null;
}

export interface VethEnd {
  name: string;
  /** Namespace of this end; omitted: the root namespace. */
  ns?: string;
}

/** A running tshark capture; `frames()` stops it and returns the frames it wrote. */
export interface Capture {
  frames(): Promise<Uint8Array[]>;
}

/** Frames of a classic pcap file (as `tshark -F pcap` writes). */
export function readPcap(path: string): Uint8Array[] {
  const b = readFileSync(path);
  if (b.length < 24) return [];
  const magic = b.readUInt32LE(0);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  if (!le && b.readUInt32BE(0) !== 0xa1b2c3d4 && b.readUInt32BE(0) !== 0xa1b23c4d) {
    throw new Error(`${path} is not a pcap file`);
  }
  const out: Uint8Array[] = [];
  let off = 24;
  while (off + 16 <= b.length) {
    const incl = le ? b.readUInt32LE(off + 8) : b.readUInt32BE(off + 8);
    off += 16;
    if (off + incl > b.length) break;
    out.push(Uint8Array.from(b.subarray(off, off + incl)));
    off += incl;
  }
  return out;
}

export class NetnsLab {
  private readonly namespaces: string[] = [];
  private readonly links: VethEnd[] = [];
  private readonly children: ChildProcess[] = [];
  private readonly dir: string;

  constructor(readonly prefix: string) {
    if (!/^[a-z0-9-]{2,8}$/.test(prefix)) throw new Error(`netns prefix '${prefix}' must be 2..8 of [a-z0-9-]`);
    NetnsLab.sweep(prefix);
    this.dir = mkdtempSync(join(tmpdir(), `${prefix}lab-`));
  }

  /** Removes namespaces and root-namespace links named `<prefix>*` left by an earlier run. */
  static sweep(prefix: string): void {
    const ns = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout ?? '';
    for (const line of ns.split('\n')) {
      const name = line.split(' ')[0];
      if (name.startsWith(prefix)) spawnSync('ip', ['netns', 'del', name]);
    }
    const links = spawnSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }).stdout ?? '';
    for (const line of links.split('\n')) {
      const m = /^\d+: ([^:@]+)/.exec(line);
      if (m && m[1].startsWith(prefix)) spawnSync('ip', ['link', 'del', m[1]]);
    }
  }

  /**
   * Creates namespace `<prefix><suffix>` with loopback up and IPv6 off (so the
   * kernel sends no router solicitations or MLD reports that tests would have
   * to filter); returns its name.
   */
  addNs(suffix: string): string {
    const name = this.prefix + suffix;
    execFileSync('ip', ['netns', 'add', name]);
    this.namespaces.push(name);
    this.run(name, 'ip', ['link', 'set', 'lo', 'up']);
    this.run(name, 'sysctl', ['-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
    return name;
  }

  /** Creates a veth pair between two ends (namespaces or root) and brings both up. */
  addVeth(a: VethEnd, b: VethEnd): void {
    for (const e of [a, b]) {
      if (!e.name.startsWith(this.prefix)) throw new Error(`link ${e.name} must start with ${this.prefix}`);
    }
    execFileSync('ip', ['link', 'add', a.name, 'type', 'veth', 'peer', 'name', b.name]);
    this.links.push(a);
    for (const e of [a, b]) {
      if (e.ns !== undefined) execFileSync('ip', ['link', 'set', e.name, 'netns', e.ns]);
      this.run(e.ns ?? null, 'ip', ['link', 'set', e.name, 'up']);
    }
  }

  private argv(ns: string | null, cmd: string, args: string[]): [string, string[]] {
    return ns === null ? [cmd, args] : ['ip', ['netns', 'exec', ns, cmd, ...args]];
  }

  /** Runs a command in a namespace (null: root) and returns its stdout; throws with stderr on failure. */
  run(ns: string | null, cmd: string, args: string[], input?: string): string {
    const [c, a] = this.argv(ns, cmd, args);
    const r = spawnSync(c, a, { encoding: 'utf8', input, timeout: 30_000 });
    if (r.status !== 0) {
      throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr || r.error?.message}`);
    }
    return r.stdout;
  }

  /** Starts a command in a namespace; cleanup() kills it by PID if still running. */
  spawn(ns: string | null, cmd: string, args: string[]): ChildProcess {
    const [c, a] = this.argv(ns, cmd, args);
    const child = spawn(c, a, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.children.push(child);
    return child;
  }

  /** Runs a scapy script (`from scapy.all import *` is prepended) in a namespace. */
  scapy(ns: string, script: string): string {
    return this.run(ns, SCAPY_PYTHON, ['-c', `from scapy.all import *\nconf.verb = 0\n${script}`]);
  }

  /** Reads an interface counter, e.g. rx_packets, from /sys in a namespace. */
  counter(ns: string | null, iface: string, name: string): number {
    return Number(this.run(ns, 'cat', [`/sys/class/net/${iface}/statistics/${name}`]).trim());
  }

  /** The MAC of an interface as 6 bytes. */
  mac(ns: string | null, iface: string): Uint8Array {
    const hex = this.run(ns, 'cat', [`/sys/class/net/${iface}/address`]).trim();
    return Uint8Array.from(hex.split(':').map((x) => parseInt(x, 16)));
  }

  /**
   * Starts tshark on an interface with a capture filter, stopping after `count`
   * frames or `seconds`; resolves once tshark is capturing.
   */
  async capture(ns: string, iface: string, filter: string, count: number, seconds = 10): Promise<Capture> {
    const file = join(this.dir, `cap-${iface}-${Date.now()}.pcap`);
    const child = this.spawn(ns, 'tshark', [
      '-q', '-i', iface, '-f', filter, '-c', String(count), '-a', `duration:${seconds}`, '-F', 'pcap', '-w', file,
    ]);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    await new Promise<void>((resolve, reject) => {
      let err = '';
      const timer = setTimeout(() => reject(new Error(`tshark did not start: ${err}`)), 15_000);
      child.stderr?.on('data', (d: Buffer) => {
        err += d.toString();
        // dumpcap reports "Capture started" once the socket is live; older builds only "Capturing on".
        if (err.includes('Capture started')) {
          clearTimeout(timer);
          resolve();
        } else if (err.includes('Capturing on')) {
          clearTimeout(timer);
          setTimeout(resolve, 1000);
        }
      });
      child.once('exit', () => {
        clearTimeout(timer);
        reject(new Error(`tshark exited: ${err}`));
      });
    });
    return {
      frames: async () => {
        await exited;
        return readPcap(file);
      },
    };
  }

  /** Kills children, deletes links and namespaces, removes temporary files. Safe to call twice. */
  cleanup(): void {
    for (const c of this.children.splice(0)) {
      if (c.exitCode === null && c.signalCode === null && c.pid !== undefined) {
        try {
          process.kill(c.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    for (const l of this.links.splice(0)) spawnSync('ip', l.ns ? ['-n', l.ns, 'link', 'del', l.name] : ['link', 'del', l.name]);
    for (const ns of this.namespaces.splice(0)) spawnSync('ip', ['netns', 'del', ns]);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

// ---- Frames for port tests -------------------------------------------------

/** Minimal view of a port queue, so this helper does not depend on a driver. */
interface BurstQueue {
  readonly pool: { alloc(): number; free(s: number): void; write(s: number, b: Uint8Array): void; read(s: number): Uint8Array };
  rxBurst(out: Int32Array, max: number): number;
  txBurst(slots: Int32Array, n: number): number;
}

/** "aa:bb:cc:dd:ee:ff" of a 6-byte MAC. */
export function macHex(mac: Uint8Array): string {
  return [...mac].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/**
 * A `len`-byte frame of the local experimental ethertype 0x88b5 (IEEE 802)
 * carrying `seq` (u16 little-endian) and a pattern derived from it.
 */
export function probeFrame(dst: Uint8Array, src: Uint8Array, seq: number, len: number): Uint8Array {
  const f = new Uint8Array(len);
  f.set(dst, 0);
  f.set(src, 6);
  f[12] = 0x88;
  f[13] = 0xb5;
  f[14] = seq & 0xff;
  f[15] = (seq >> 8) & 0xff;
  for (let i = 16; i < len; i++) f[i] = (seq + i) & 0xff;
  return f;
}

/** Sends all frames through the queue in bursts of 32 (retrying what the queue defers, for 5 s at most). */
export function sendAll(q: BurstQueue, frames: Uint8Array[]): number {
  const slots = new Int32Array(32);
  let sent = 0;
  const deadline = Date.now() + 5000;
  while (sent < frames.length && Date.now() < deadline) {
    const n = Math.min(32, frames.length - sent);
    for (let i = 0; i < n; i++) {
      slots[i] = q.pool.alloc();
      q.pool.write(slots[i], frames[sent + i]);
    }
    const k = q.txBurst(slots, n);
    for (let i = k; i < n; i++) q.pool.free(slots[i]);
    sent += k;
  }
  return sent;
}

/** Receives until `count` frames arrived or `ms` passed; returns copies, slots freed. */
export function rxAll(q: BurstQueue, count: number, ms: number): Uint8Array[] {
  const out = new Int32Array(64);
  const got: Uint8Array[] = [];
  const deadline = Date.now() + ms;
  while (got.length < count && Date.now() < deadline) {
    const n = q.rxBurst(out, 64);
    for (let i = 0; i < n; i++) {
      got.push(q.pool.read(out[i]));
      q.pool.free(out[i]);
    }
  }
  return got;
}

/** True when an untagged IPv4 TCP/UDP frame's L4 checksum verifies (RFC 1071 sum over pseudo-header). */
export function l4ChecksumOk(f: Uint8Array): boolean {
  const ihl = (f[14] & 0x0f) * 4;
  const total = (f[16] << 8) | f[17];
  const proto = f[23];
  const seg = total - ihl;
  let sum = proto + seg;
  for (let i = 26; i < 34; i += 2) sum += (f[i] << 8) | f[i + 1];
  const l4 = 14 + ihl;
  for (let i = 0; i < seg; i += 2) sum += (f[l4 + i] << 8) | (i + 1 < seg ? f[l4 + i + 1] : 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum === 0xffff;
}

/**
 * A scapy script sending `per` rounds of `flows` UDP flows (source ports
 * 20000.., 198.18.251.2 -> 198.18.251.1) to `dstMac` out of `iface`.
 */
export function udpFlowsScript(dstMac: Uint8Array, iface: string, flows: number, per: number): string {
  return `fs = [Ether(dst='${macHex(dstMac)}')/IP(src='198.18.251.2', dst='198.18.251.1')/UDP(sport=20000 + f, dport=7)/Raw(bytes(18))
      for _ in range(${per}) for f in range(${flows})]
sendp(fs, iface='${iface}')`;
}

/**
 * Polls several queues until `count` IPv4/UDP frames arrived or `ms` passed;
 * maps each UDP source port to the set of queue indices it arrived on.
 */
export function udpFlowQueues(qs: BurstQueue[], count: number, ms: number): Map<number, Set<number>> {
  const seen = new Map<number, Set<number>>();
  const out = new Int32Array(64);
  let total = 0;
  const deadline = Date.now() + ms;
  while (total < count && Date.now() < deadline) {
    for (let qi = 0; qi < qs.length; qi++) {
      const n = qs[qi].rxBurst(out, 64);
      for (let i = 0; i < n; i++) {
        const f = qs[qi].pool.read(out[i]);
        qs[qi].pool.free(out[i]);
        if (f[12] !== 0x08 || f[13] !== 0x00 || f[23] !== 17) continue;
        const sport = (f[34] << 8) | f[35];
        const s = seen.get(sport) ?? new Set<number>();
        s.add(qi);
        seen.set(sport, s);
        total++;
      }
    }
  }
  return seen;
}

/** For flow-affinity tests: how many flows, which flows arrived on more than one queue, how many queues saw any. */
export function flowSummary(seen: Map<number, Set<number>>): { flows: number; split: number[]; queuesUsed: number } {
  const used = new Set<number>();
  const split: number[] = [];
  for (const [sport, s] of seen) {
    if (s.size > 1) split.push(sport);
    for (const q of s) used.add(q);
  }
  return { flows: seen.size, split, queuesUsed: used.size };
}
