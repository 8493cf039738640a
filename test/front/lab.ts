/**
 * Rigs for the front-door tests: the `vaigai` command spawned in a namespace
 * (run to completion, or started and stopped), nginx with its own temporary
 * config, a self-signed certificate, and the files they serve. Everything
 * lives in the NetnsLab and one temporary directory that `cleanup` removes.
 */
import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exited, NetnsLab, netTestSkipReason } from '../helpers/netns.js';

export const MAIN = fileURLToPath(new URL('../../src/main.js', import.meta.url));

/** Why these tests cannot run here (not root, a tool or the af_packet driver missing), or null. */
export async function frontSkipReason(tools: string[]): Promise<string | null> {
  const r = netTestSkipReason(tools);
  if (r !== null) return r;
  try {
    const native = await import('../../src/port/native.js');
    if (!native.nativeDrivers().includes('af_packet')) return `af_packet driver unavailable: ${native.nativeLoadError()}`;
  } catch (e) {
    return `native port module failed to load: ${(e as Error).message}`;
  }
  return null;
}

export function sha256Hex(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

/** A spawned command whose stdout and stderr are collected. */
export class Proc {
  out = '';
  constructor(readonly child: ChildProcess) {
    child.stdout?.on('data', (d: Buffer) => (this.out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (this.out += d.toString()));
  }

  /** Waits until the output matches `re` (or the process exits, or `ms` pass). */
  async waitFor(re: RegExp, ms: number): Promise<void> {
    const end = Date.now() + ms;
    while (!re.test(this.out)) {
      if (this.child.exitCode !== null) throw new Error(`exited (${this.child.exitCode}) before ${re}: ${this.out}`);
      if (Date.now() > end) throw new Error(`no ${re} within ${ms} ms: ${this.out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** SIGTERM and wait for the exit (10 s at most). */
  async stop(): Promise<number> {
    if (this.child.exitCode === null && this.child.pid !== undefined) this.child.kill('SIGTERM');
    return exited(this.child, 10_000, 'vaigai');
  }
}

/** The namespaces and interfaces of FrontLab.hopTrio. */
export interface HopTrio {
  gen: string;
  middle: string;
  kernel: string;
  genIf: string;
  kernelIf: string;
  hopIfs: [string, string];
}

/** The lab plus a temporary directory of files. */
export class FrontLab {
  readonly lab: NetnsLab;
  readonly dir: string;
  /** nginx masters: they must stop their workers, which SIGKILL (the lab's cleanup) would orphan. */
  private readonly nginxes: Proc[] = [];

  constructor(prefix: string) {
    this.lab = new NetnsLab(prefix);
    this.dir = mkdtempSync(join(tmpdir(), `${prefix}data-`));
    // nginx's workers run as an unprivileged user: they must be able to read it.
    chmodSync(this.dir, 0o755);
  }

  /** Two namespaces on one veth pair: `gen` for vaigai (no kernel address), `peer` with `peerIp`/24 on the kernel. */
  pair(peerIp: string): { gen: string; peer: string; genIf: string; peerIf: string } {
    const lab = this.lab;
    const gen = lab.addNs('g');
    const peer = lab.addNs('p');
    const genIf = `${lab.prefix}g0`;
    const peerIf = `${lab.prefix}p0`;
    lab.addVeth({ name: genIf, ns: gen }, { name: peerIf, ns: peer });
    lab.run(peer, 'ip', ['addr', 'add', `${peerIp}/24`, 'dev', peerIf]);
    this.kernelOffloadsOff(peer, peerIf);
    return { gen, peer, genIf, peerIf };
  }

  /**
   * Three namespaces in a row: `gen` for vaigai (no kernel address), `middle`
   * for a `vaigai impair` hop bridging its two veths (promiscuous: it forwards
   * frames addressed to the hosts), `kernel` with `kernelIp`/24.
   */
  hopTrio(kernelIp: string): HopTrio {
    const lab = this.lab;
    const gen = lab.addNs('g');
    const middle = lab.addNs('m');
    const kernel = lab.addNs('k');
    const p = lab.prefix;
    const genIf = `${p}g0`;
    const kernelIf = `${p}k0`;
    const hopIfs: [string, string] = [`${p}m0`, `${p}m1`];
    lab.addVeth({ name: genIf, ns: gen }, { name: hopIfs[0], ns: middle });
    lab.addVeth({ name: hopIfs[1], ns: middle }, { name: kernelIf, ns: kernel });
    lab.run(kernel, 'ip', ['addr', 'add', `${kernelIp}/24`, 'dev', kernelIf]);
    this.kernelOffloadsOff(kernel, kernelIf);
    for (const l of hopIfs) lab.run(middle, 'ip', ['link', 'set', l, 'promisc', 'on']);
    return { gen, middle, kernel, genIf, kernelIf, hopIfs };
  }

  /** `vaigai impair <args>` between the trio's hop veths, its counters to `json`; resolves once it forwards. */
  async startHop(trio: HopTrio, json: string, args: string[]): Promise<Proc> {
    const [a, b] = trio.hopIfs;
    const hop = new Proc(this.lab.spawn(trio.middle, process.execPath, [MAIN, 'impair', '--port', `af_packet:iface=${a}`, '--port', `af_packet:iface=${b}`, '--json', json, ...args]));
    await hop.waitFor(/<->/, 20_000);
    return hop;
  }

  /** Whole frames with complete checksums from the kernel (no TSO/GSO super-frames, no partial checksums). */
  kernelOffloadsOff(ns: string, iface: string): void {
    this.lab.run(ns, 'ethtool', ['-K', iface, 'tx', 'off', 'tso', 'off', 'gso', 'off']);
  }

  /** `vaigai <args>` in `ns`, to its exit within `ms`. */
  async vaigai(ns: string, args: string[], ms: number): Promise<{ code: number; out: string }> {
    const p = new Proc(this.lab.spawn(ns, process.execPath, [MAIN, ...args]));
    const code = await exited(p.child, ms, `vaigai ${args.join(' ')}`);
    // 'exit' may come before the last output: let the pipes drain.
    await new Promise((r) => setTimeout(r, 100));
    return { code, out: p.out };
  }

  /** Starts `vaigai <args>` in `ns` and resolves once it printed its start line. */
  async startVaigai(ns: string, args: string[]): Promise<Proc> {
    const p = new Proc(this.lab.spawn(ns, process.execPath, [MAIN, ...args]));
    await p.waitFor(/^vaigai: .* mac [0-9a-f:]{17},/m, 20_000);
    // Gratuitous ARP and the first ticks run before the test sends.
    await new Promise((r) => setTimeout(r, 300));
    return p;
  }

  /** A random file of `bytes` in the data directory; returns its path and sha256. */
  randomFile(name: string, bytes: number): { path: string; sha256: string } {
    const b = randomBytes(bytes);
    const path = join(this.dir, name);
    writeFileSync(path, b);
    return { path, sha256: sha256Hex(b) };
  }

  /** A self-signed ECDSA P-256 certificate for `name`. */
  cert(name: string): { cert: string; key: string } {
    const cert = join(this.dir, 'cert.pem');
    const key = join(this.dir, 'key.pem');
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert,
      '-days', '2', '-subj', `/CN=${name}`, '-addext', `subjectAltName=DNS:${name}`,
    ], { stdio: 'ignore' });
    return { cert, key };
  }

  /**
   * nginx in `ns` serving the data directory on `ip`:8080 (and :8443 with TLS); resolves once it answers.
   * `accessLog`: a file that gets a line per request, `logFormat` (default: the client address).
   */
  async nginx(ns: string, ip: string, tls: { cert: string; key: string } | null, accessLog: string | null = null, logFormat = '$remote_addr'): Promise<Proc> {
    const d = join(this.dir, 'nginx');
    mkdirSync(d, { recursive: true });
    const conf = join(d, 'nginx.conf');
    writeFileSync(
      conf,
      `daemon off;
worker_processes 1;
pid ${d}/nginx.pid;
error_log ${d}/error.log;
events { worker_connections 4096; }
http {
  log_format client '${logFormat}';
  access_log ${accessLog ?? 'off'}${accessLog !== null ? ' client' : ''};
  client_body_temp_path ${d}/body;
  proxy_temp_path ${d}/proxy;
  fastcgi_temp_path ${d}/fastcgi;
  uwsgi_temp_path ${d}/uwsgi;
  scgi_temp_path ${d}/scgi;
  server {
    listen ${ip}:8080;
    ${tls !== null ? `listen ${ip}:8443 ssl;\n    ssl_protocols TLSv1.2 TLSv1.3;\n    ssl_certificate ${tls.cert};\n    ssl_certificate_key ${tls.key};` : ''}
    root ${this.dir};
  }
}
`,
    );
    const p = new Proc(this.lab.spawn(ns, 'nginx', ['-c', conf, '-e', join(d, 'error.log')]));
    this.nginxes.push(p);
    for (let i = 0; i < 100; i++) {
      try {
        this.lab.run(ns, 'curl', ['-s', '-o', '/dev/null', '-m', '1', `http://${ip}:8080/`]);
        return p;
      } catch {
        if (p.child.exitCode !== null) throw new Error(`nginx exited: ${p.out}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    throw new Error(`nginx did not answer: ${p.out}`);
  }

  /** Stops nginx gracefully (its workers hold our pipes), then removes everything the lab made. */
  async cleanup(): Promise<void> {
    for (const p of this.nginxes.splice(0)) {
      if (p.child.exitCode === null && p.child.pid !== undefined) p.child.kill('SIGTERM');
      await exited(p.child, 5_000, 'nginx').catch(() => undefined);
    }
    this.lab.cleanup();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The sha256 the `vaigai` client printed in its summary, or ''. */
export function printedSha(out: string): string {
  return /^ {2}sha256 +([0-9a-f]{64})$/m.exec(out)?.[1] ?? '';
}

/** "N sent, M answered" of the client summary. */
export function answered(out: string): { sent: number; answered: number } {
  const m = /requests +(\d+) sent, (\d+) answered/.exec(out);
  return m === null ? { sent: -1, answered: -1 } : { sent: Number(m[1]), answered: Number(m[2]) };
}
