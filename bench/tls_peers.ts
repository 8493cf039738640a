/**
 * What the TLS benchmarks share: a scratch directory with a self-signed P-256
 * certificate (c.pem, k.pem) for CN=localhost, openssl s_server on a free
 * loopback port, and `openssl s_time -new` against it as the peer figure.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** A new directory holding c.pem and k.pem; the caller removes it. */
export function benchCertDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'k.pem', '-out', 'c.pem', '-days', '1', '-subj', '/CN=localhost'], { cwd: dir, stdio: 'ignore' });
  return dir;
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const p = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return p;
}

function run(cmd: string, args: string[], cwd: string): Promise<string> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { cwd });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.on('close', () => resolve(out));
  });
}

export interface SServer {
  port: number;
  /** Connections/s of `openssl s_time -new` (handshake and GET /) against this server, for `seconds`. */
  sTime(v: 'TLSv1.2' | 'TLSv1.3', seconds: number): Promise<number>;
  stop(): void;
}

/** openssl s_server -www with the directory's certificate, on loopback. */
export async function startSServer(dir: string): Promise<SServer> {
  const port = await freePort();
  const srv = spawn('openssl', ['s_server', '-accept', String(port), '-cert', 'c.pem', '-key', 'k.pem', '-www', '-quiet'], { cwd: dir, stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 300));
  return {
    port,
    sTime: async (v, seconds) => {
      const flag = v === 'TLSv1.3' ? '-tls1_3' : '-tls1_2';
      const out = await run('openssl', ['s_time', '-connect', `127.0.0.1:${port}`, '-new', '-time', String(Math.ceil(seconds)), flag, '-www', '/'], dir);
      const m = /(\d+) connections in ([\d.]+)s/.exec(out);
      return m ? Number(m[1]) / Number(m[2]) : NaN;
    },
    stop: () => {
      if (srv.pid) process.kill(srv.pid, 'SIGTERM');
    },
  };
}
