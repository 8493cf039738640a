/**
 * Test PKI made with the openssl CLI in a temporary directory: a CA, a server
 * certificate for "localhost" and 127.0.0.1, and a client certificate, all
 * ECDSA P-256. Returns null (callers skip) when openssl is missing.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface TestPki {
  dir: string;
  ca: string;
  cert: string;
  key: string;
  clientCert: string;
  clientKey: string;
  /** A second server certificate (other subject), for reload tests. */
  cert2: string;
  key2: string;
}

export function hasTool(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function ossl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
}

function leaf(dir: string, name: string, subj: string, ext: string): void {
  ossl(dir, ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subj]);
  fs.writeFileSync(path.join(dir, `${name}.ext`), ext);
  ossl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-out', `${name}.pem`, '-extfile', `${name}.ext`]);
}

export function makePki(): TestPki | null {
  if (!hasTool('openssl')) return null;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vgapp-pki-'));
  ossl(dir, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=vaigAI test CA']);
  const serverExt = 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n';
  leaf(dir, 'server', '/CN=localhost', serverExt);
  leaf(dir, 'server2', '/CN=localhost-2', serverExt);
  leaf(dir, 'client', '/CN=vaigai-client', 'extendedKeyUsage=clientAuth\n');
  const p = (f: string): string => path.join(dir, f);
  return {
    dir, ca: p('ca.pem'), cert: p('server.pem'), key: p('server.key'), clientCert: p('client.pem'), clientKey: p('client.key'),
    cert2: p('server2.pem'), key2: p('server2.key'),
  };
}
