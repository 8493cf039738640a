/**
 * The route by which an accelerator's OpenSSL provider reaches Node's tls:
 * an OpenSSL config file given to node. Shown with the system's legacy
 * provider (the only provider module installed here): an algorithm Node's
 * OpenSSL refuses by default becomes available once the config loads it.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { it } from 'node:test';

const MODULE = '/usr/lib/x86_64-linux-gnu/ossl-modules/legacy.so';
const PROBE = "try { require('crypto').createCipheriv('bf-cbc', Buffer.alloc(16), Buffer.alloc(8)); console.log('yes') } catch (e) { console.log(e.code) }";

it('an OpenSSL config file loads a provider module into Node', { skip: fs.existsSync(MODULE) ? false : `no provider module at ${MODULE}` }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vgapp-ossl-'));
  try {
    const cnf = path.join(dir, 'openssl.cnf');
    fs.writeFileSync(cnf, [
      'nodejs_conf = init', 'openssl_conf = init', '[init]', 'providers = prov', '[prov]', 'default = dflt', 'extra = extra',
      '[dflt]', 'activate = 1', '[extra]', `module = ${MODULE}`, 'activate = 1', '',
    ].join('\n'));
    const run = (args: string[], env: NodeJS.ProcessEnv = {}): string =>
      execFileSync(process.execPath, [...args, '-e', PROBE], { env: { PATH: process.env.PATH, ...env } }).toString().trim();
    assert.equal(run([]), 'ERR_OSSL_EVP_UNSUPPORTED', 'not available by default');
    assert.equal(run([`--openssl-config=${cnf}`]), 'yes', '--openssl-config loads the provider');
    assert.equal(run(['--openssl-shared-config'], { OPENSSL_CONF: cnf }), 'yes', 'OPENSSL_CONF with --openssl-shared-config too');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
