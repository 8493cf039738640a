/**
 * The suite's network: a generator namespace and a server namespace on one
 * veth pair (vgbn-g0 <-> vgbn-s0, offloads off so every end sees whole
 * frames), all in 198.18.80.0/22:
 *   198.18.80.1        the generator's kernel (wrk, h2load, ab, autocannon, openssl)
 *   198.18.81.1-64     vaigAI's client (af_packet on the same veth, --src-ip range)
 *   198.18.80.2        nginx, one worker pinned to core 1
 *   198.18.80.3        `vaigai --server` (af_packet on the server's veth), core 1
 * and a second pair (vgbn-xc0 <-> vgbn-xs0, no kernel addresses) for vaigAI
 * against itself over af_xdp. nginx serves a 64-byte file on :8080 and TLS
 * on one port per version and key type, without session tickets or a session
 * cache: every handshake a client makes there is a full one; and on one more
 * (TLS 1.3, ECDSA) with tickets, for resumed handshakes.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exited, NetnsLab } from '../../test/helpers/netns.js';
import { addVaigaiPair, type VaigaiPair } from '../vaigai_pair.js';
import { startVaigai, type VaigaiProc } from '../vaigai_run.js';
import type { ChildProcess } from 'node:child_process';

export const BODY = 64;
export const NGINX_IP = '198.18.80.2';
export const VAIGAI_SERVER_IP = '198.18.80.3';
export const CLIENT_RANGE = '198.18.81.1-198.18.81.64/22';
export const HTTP_PORT = 8080;

export type KeyType = 'ecdsa' | 'rsa';
export type TlsVersion = '1.2' | '1.3';

/** nginx's TLS port for a version and key type (full handshakes only). */
export function tlsPort(v: TlsVersion, k: KeyType): number {
  return 8443 + (k === 'rsa' ? 2 : 0) + (v === '1.2' ? 1 : 0);
}

/** nginx's TLS 1.3 ECDSA port that gives session tickets (resumed handshakes). */
export const RESUME_PORT = 8447;

export class SuiteLab {
  readonly lab = new NetnsLab('vgbn-');
  readonly dir = mkdtempSync(join(tmpdir(), 'vgbn-data-'));
  readonly gen: string;
  readonly srv: string;
  readonly genIf = 'vgbn-g0';
  readonly srvIf = 'vgbn-s0';
  readonly xdp: VaigaiPair;
  private nginxProc: ChildProcess | null = null;

  constructor() {
    // nginx's worker runs unprivileged: it must read the files.
    chmodSync(this.dir, 0o755);
    const lab = this.lab;
    this.gen = lab.addNs('g');
    this.srv = lab.addNs('s');
    lab.addVeth({ name: this.genIf, ns: this.gen }, { name: this.srvIf, ns: this.srv });
    lab.run(this.gen, 'ip', ['addr', 'add', '198.18.80.1/22', 'dev', this.genIf]);
    lab.run(this.srv, 'ip', ['addr', 'add', `${NGINX_IP}/22`, 'dev', this.srvIf]);
    for (const [ns, iface] of [[this.gen, this.genIf], [this.srv, this.srvIf]]) {
      lab.run(ns, 'ethtool', ['-K', iface, 'tx', 'off', 'tso', 'off', 'gso', 'off']);
      // 10k connections at once: a deep accept queue, every port, TIME_WAIT reused by the kernel clients.
      lab.run(ns, 'sysctl', ['-q', '-w', 'net.core.somaxconn=65535', 'net.ipv4.tcp_max_syn_backlog=65535', 'net.ipv4.ip_local_port_range=1024 65535', 'net.ipv4.tcp_tw_reuse=1']);
    }
    this.xdp = addVaigaiPair(lab, 'x', '198.18.83.10-198.18.83.73/24', '198.18.83.1', 'af_xdp', this.dir);
    writeFileSync(join(this.dir, 'index.html'), 'x'.repeat(BODY));
    this.cert('ecdsa', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256']);
    this.cert('rsa', ['-newkey', 'rsa:2048']);
  }

  private cert(k: KeyType, newkey: string[]): void {
    execFileSync('openssl', ['req', '-x509', ...newkey, '-nodes', '-keyout', join(this.dir, `${k}.key`), '-out', join(this.dir, `${k}.pem`), '-days', '2', '-subj', '/CN=bench', '-addext', 'subjectAltName=DNS:bench'], { stdio: 'ignore' });
  }

  nginxUrl(path = '/index.html'): string {
    return `http://${NGINX_IP}:${HTTP_PORT}${path}`;
  }

  vaigaiUrl(path = '/index.html'): string {
    return `http://${VAIGAI_SERVER_IP}${path}`;
  }

  tlsUrl(v: TlsVersion, k: KeyType): string {
    return `https://${NGINX_IP}:${tlsPort(v, k)}/index.html`;
  }

  resumeUrl(): string {
    return `https://${NGINX_IP}:${RESUME_PORT}/index.html`;
  }

  /** nginx with one worker on core 1; resolves once it answers. Returns the worker's pid. */
  async startNginx(): Promise<number> {
    const d = join(this.dir, 'nginx');
    mkdirSync(d, { recursive: true });
    const tls = (['1.3', '1.2'] as TlsVersion[]).flatMap((v) => (['ecdsa', 'rsa'] as KeyType[]).map((k) => `
  server {
    listen ${NGINX_IP}:${tlsPort(v, k)} ssl backlog=65535;
    ssl_protocols TLSv${v};
    ssl_certificate ${this.dir}/${k}.pem;
    ssl_certificate_key ${this.dir}/${k}.key;
    ssl_session_tickets off;
    ssl_session_cache off;
    root ${this.dir};
  }`)).join('') + `
  server {
    listen ${NGINX_IP}:${RESUME_PORT} ssl backlog=65535;
    ssl_protocols TLSv1.3;
    ssl_certificate ${this.dir}/ecdsa.pem;
    ssl_certificate_key ${this.dir}/ecdsa.key;
    ssl_session_cache shared:vgbn:10m;
    root ${this.dir};
  }`;
    const conf = join(d, 'nginx.conf');
    writeFileSync(conf, `daemon off;
worker_processes 1;
worker_rlimit_nofile 70000;
pid ${d}/nginx.pid;
error_log ${d}/error.log;
events { worker_connections 65536; }
http {
  access_log off;
  keepalive_requests 100000000;
  client_body_temp_path ${d}/body;
  proxy_temp_path ${d}/proxy;
  fastcgi_temp_path ${d}/fastcgi;
  uwsgi_temp_path ${d}/uwsgi;
  scgi_temp_path ${d}/scgi;
  server { listen ${NGINX_IP}:${HTTP_PORT} backlog=65535; root ${this.dir}; }${tls}
}
`);
    this.nginxProc = this.lab.spawn(this.srv, 'taskset', ['-c', '1', 'nginx', '-c', conf, '-e', join(d, 'error.log')]);
    for (let i = 0; i < 100; i++) {
      try {
        this.lab.run(this.gen, 'curl', ['-s', '-o', '/dev/null', '-m', '1', this.nginxUrl()]);
        const master = this.nginxProc.pid as number;
        return Number(execFileSync('pgrep', ['-P', String(master)], { encoding: 'utf8' }).trim().split('\n')[0]);
      } catch {
        if (this.nginxProc.exitCode !== null) throw new Error('nginx exited');
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    throw new Error('nginx did not answer');
  }

  /** `vaigai --server` on the server's veth, core 1, answering 64-byte bodies. */
  startVaigaiServer(seconds: number): Promise<VaigaiProc> {
    return startVaigai(this.lab, this.srv, 1, ['--port', `af_packet:iface=${this.srvIf}`, '--src-ip', `${VAIGAI_SERVER_IP}/22`, '--server', '--body-size', String(BODY), '--duration', String(seconds)]);
  }

  /** Stops nginx gracefully (its workers hold our pipes), then removes everything. */
  async cleanup(): Promise<void> {
    const p = this.nginxProc;
    if (p !== null && p.exitCode === null && p.pid !== undefined) {
      p.kill('SIGTERM');
      await exited(p, 5_000, 'nginx').catch(() => undefined);
    }
    this.lab.cleanup();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
