/**
 * Network-namespace fixtures for real-peer tests.
 *
 * A `NetnsLab` owns every namespace, veth pair and child process it creates,
 * all named with one prefix (e.g. `vgnat-`), and removes them in `cleanup()`:
 * register it with `t.after(() => lab.cleanup())` (node:test) so it runs on
 * failure too. Creating a lab first sweeps leftovers of a crashed earlier run
 * with the same prefix. Use a prefix of your own per test file and addresses
 * from 198.18.0.0/15. A prefix is held by one process at a time (a lock file
 * under /run/vaigai-netns naming its pid): a second test run on the same
 * machine waits for it instead of sweeping away the first run's namespaces.
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
 * Frames to send and the checks port tests share are in ./frames.ts;
 * `probeFrame` is re-exported here for the tests and benchmarks that need
 * only a lab and a frame.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export { probeFrame } from './frames.js';

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

const LOCK_DIR = '/run/vaigai-netns';
/** How long a lab waits for a prefix that another live process holds. */
const LOCK_WAIT_MS = 180_000;
/** Labs of each prefix alive in this process (the lock file is removed when the last one cleans up). */
const held = new Map<string, number>();

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid in a lock file; -1 when there is no file. */
function lockOwner(file: string): number {
  try {
    return Number(readFileSync(file, 'utf8'));
  } catch {
    return -1;
  }
}

/** Holds `prefix` for this process: waits while another live process holds it; takes it over from a dead one. */
function lockPrefix(prefix: string): void {
  const count = held.get(prefix) ?? 0;
  if (count === 0) {
    mkdirSync(LOCK_DIR, { recursive: true });
    const file = join(LOCK_DIR, `${prefix}lock`);
    const nap = new Int32Array(new SharedArrayBuffer(4));
    const deadline = Date.now() + LOCK_WAIT_MS;
    for (;;) {
      try {
        writeFileSync(file, String(process.pid), { flag: 'wx' });
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const owner = lockOwner(file);
      if (owner < 0) continue; // released meanwhile
      // 0: the owner is between creating and writing the file.
      if (owner > 0 && !pidAlive(owner)) {
        rmSync(file, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`netns prefix ${prefix} is held by pid ${owner} (another test run) for over ${LOCK_WAIT_MS / 1000} s`);
      Atomics.wait(nap, 0, 0, 100);
    }
  }
  held.set(prefix, count + 1);
}

function unlockPrefix(prefix: string): void {
  const count = (held.get(prefix) ?? 0) - 1;
  if (count > 0) {
    held.set(prefix, count);
    return;
  }
  held.delete(prefix);
  rmSync(join(LOCK_DIR, `${prefix}lock`), { force: true });
}

export class NetnsLab {
  private readonly namespaces: string[] = [];
  private readonly links: VethEnd[] = [];
  private readonly children: ChildProcess[] = [];
  private readonly dir: string;
  private locked = true;

  constructor(readonly prefix: string) {
    if (!/^[a-z0-9-]{2,8}$/.test(prefix)) throw new Error(`netns prefix '${prefix}' must be 2..8 of [a-z0-9-]`);
    lockPrefix(prefix);
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
    const r = spawnSync(c, a, { encoding: 'utf8', input, timeout: 30_000, maxBuffer: 64 << 20 });
    if (r.status !== 0) {
      throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr || r.error?.message}`);
    }
    return r.stdout;
  }

  /** Starts a command in a namespace (its stdin a pipe when asked); cleanup() kills it by PID if still running. */
  spawn(ns: string | null, cmd: string, args: string[], stdin: 'ignore' | 'pipe' = 'ignore'): ChildProcess {
    const [c, a] = this.argv(ns, cmd, args);
    const child = spawn(c, a, { stdio: [stdin, 'pipe', 'pipe'] });
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
    if (this.locked) unlockPrefix(this.prefix);
    this.locked = false;
  }
}

/** Resolves with the child's exit code, or kills it (by PID) and rejects after `ms`. */
export function exited(child: ChildProcess, ms: number, what: string): Promise<number> {
  return new Promise((resolve, reject) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode ?? 128);
    const timer = setTimeout(() => {
      if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
      reject(new Error(`${what} did not finish in ${ms} ms`));
    }, ms);
    child.once('exit', (code, sig) => {
      clearTimeout(timer);
      resolve(code ?? (sig === null ? -1 : 128));
    });
  });
}
