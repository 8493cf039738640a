/**
 * Three namespaces for `vaigai impair` as the hop between two hosts, shared by
 * the hop tests: client (<net>.1) and server (<net>.2) on one L2 segment that
 * the middle namespace joins through two veths with no IP, `<prefix>m0`
 * towards the client and `<prefix>m1` towards the server. The hop is spawned
 * as a user runs it; the server is Python's http.server with a random file.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { exited, NetnsLab, netTestSkipReason } from '../helpers/netns.js';
import type { JsonReport } from '../../src/impair/report.js';

const MAIN = fileURLToPath(new URL('../../src/main.js', import.meta.url));
export const FILE_BYTES = 20 << 20;

export interface Hop {
  child: ChildProcess;
  log: { out: string; err: string };
}

/** Why a hop test needs `driver` and cannot run here, or null. */
export async function hopSkipReason(driver: string): Promise<string | null> {
  const r = netTestSkipReason(['curl', 'ping', 'ethtool', 'chrt']);
  if (r !== null) return r;
  if (!existsSync('/usr/bin/python3')) return '/usr/bin/python3 is missing (the HTTP server)';
  try {
    const native = await import('../../src/port/native.js');
    if (!native.nativeDrivers().includes(driver)) return `${driver} driver not built: ${native.nativeLoadError() || 'not in the addon'}`;
  } catch (e) {
    return `native port module failed to load: ${(e as Error).message}`;
  }
  return null;
}

function collect(child: ChildProcess): { out: string; err: string } {
  const o = { out: '', err: '' };
  child.stdout?.on('data', (d: Buffer) => (o.out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (o.err += d.toString()));
  return o;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

export class HopTopology {
  readonly lab: NetnsLab;
  readonly client: string;
  readonly middle: string;
  readonly server: string;
  /** The middle namespace's veths: m0 towards the client, m1 towards the server. */
  readonly m0: string;
  readonly m1: string;
  readonly clientIf: string;
  readonly serverIf: string;
  readonly clientIp: string;
  readonly serverIp: string;
  readonly dir: string;
  sha256 = '';

  /** `prefix` names everything (e.g. 'vgi2-'); `net` is the first three octets of a /24 in 198.18.0.0/15. */
  constructor(
    readonly prefix: string,
    net: string,
  ) {
    const lab = (this.lab = new NetnsLab(prefix));
    this.dir = mkdtempSync(join(tmpdir(), `${prefix}data-`));
    this.client = lab.addNs('c');
    this.middle = lab.addNs('m');
    this.server = lab.addNs('s');
    [this.m0, this.m1, this.clientIf, this.serverIf] = ['m0', 'm1', 'c0', 's0'].map((s) => prefix + s);
    [this.clientIp, this.serverIp] = [`${net}.1`, `${net}.2`];
    lab.addVeth({ name: this.clientIf, ns: this.client }, { name: this.m0, ns: this.middle });
    lab.addVeth({ name: this.m1, ns: this.middle }, { name: this.serverIf, ns: this.server });
    lab.run(this.client, 'ip', ['addr', 'add', `${this.clientIp}/24`, 'dev', this.clientIf]);
    lab.run(this.server, 'ip', ['addr', 'add', `${this.serverIp}/24`, 'dev', this.serverIf]);
    // Whole frames with complete checksums from the kernel hosts (no TSO/GSO super-frames).
    lab.run(this.client, 'ethtool', ['-K', this.clientIf, 'tx', 'off']);
    lab.run(this.server, 'ethtool', ['-K', this.serverIf, 'tx', 'off']);
    // The hop forwards frames addressed to the hosts, not to itself.
    for (const l of [this.m0, this.m1]) lab.run(this.middle, 'ip', ['link', 'set', l, 'promisc', 'on']);
  }

  /** The hop's two port specs for a driver that opens the middle veths by name. */
  vethPorts(driver: string): [string, string] {
    return [`${driver}:iface=${this.m0}`, `${driver}:iface=${this.m1}`];
  }

  async startServer(): Promise<void> {
    const data = randomBytes(FILE_BYTES);
    writeFileSync(join(this.dir, 'blob'), data);
    this.sha256 = createHash('sha256').update(data).digest('hex');
    const url = `http://${this.serverIp}:8080/`;
    this.lab.spawn(this.server, '/usr/bin/python3', ['-m', 'http.server', '8080', '--bind', this.serverIp, '--directory', this.dir]);
    for (let i = 0; i < 50; i++) {
      const probe = this.lab.spawn(this.server, 'curl', ['-s', '-o', '/dev/null', '--max-time', '1', url]);
      if ((await exited(probe, 5000, 'curl probe')) === 0) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('the HTTP server did not come up');
  }

  /**
   * Starts `vaigai impair` in the middle namespace between `ports` (a, b) with
   * `args` (impairment options); resolves once both ports are open.
   * `realtime` runs it in SCHED_FIFO, for timing tests: on two cores shared with
   * other work, CFS left the hop off the CPU for up to 30 ms at a time (measured:
   * release lateness p90 1.5-3.7 ms, even at nice -19), where SCHED_FIFO kept it under
   * 0.3 ms; a poll-mode data plane gets a core of its own in production.
   */
  async startHop(ports: [string, string], args: string[], json: string, realtime = false): Promise<Hop> {
    const node = realtime ? ['chrt', ['-f', '10', process.execPath]] as const : [process.execPath, []] as const;
    const child = this.lab.spawn(this.middle, node[0], [...node[1], MAIN, 'impair', '--port', ports[0], '--port', ports[1], '--json', json, ...args]);
    const log = collect(child);
    // DPDK's EAL start-up takes a few seconds on a loaded machine.
    for (let i = 0; i < 400 && !log.out.includes('<->'); i++) {
      if (child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(log.out.includes('<->'), `the hop did not start: ${log.err}`);
    return { child, log };
  }

  async stopHop(hop: Hop, json: string): Promise<JsonReport> {
    if (hop.child.pid !== undefined && hop.child.exitCode === null) process.kill(hop.child.pid, 'SIGTERM');
    const code = await exited(hop.child, 10_000, 'vaigai impair');
    assert.equal(code, 0, `vaigai impair exited ${code}: ${hop.log.err}`);
    assert.match(hop.log.out, /a>b .*\n.*frames in/, 'the summary is printed');
    return JSON.parse(readFileSync(json, 'utf8')) as JsonReport;
  }

  /** curl downloads the file through the hop; returns the sha256 of what arrived. */
  async download(): Promise<string> {
    const out = join(this.dir, `got-${Date.now()}`);
    const child = this.lab.spawn(this.client, 'curl', ['-s', '-S', '--max-time', '150', '-o', out, `http://${this.serverIp}:8080/blob`]);
    const log = collect(child);
    const code = await exited(child, 160_000, 'curl');
    assert.equal(code, 0, `curl failed: ${log.err}`);
    const sha = createHash('sha256').update(readFileSync(out)).digest('hex');
    rmSync(out);
    return sha;
  }

  async pingRtts(count: number): Promise<number[]> {
    const child = this.lab.spawn(this.client, 'ping', ['-n', '-c', String(count), '-i', '0.05', '-W', '2', this.serverIp]);
    const log = collect(child);
    await exited(child, 30_000, 'ping');
    return [...log.out.matchAll(/time=([0-9.]+) ms/g)].map((m) => Number(m[1]));
  }

  cleanup(): void {
    this.lab.cleanup();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
