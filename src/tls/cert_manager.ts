/**
 * Loads a certificate, its key and an optional CA bundle into a SecureContext
 * with the configured protocol policy, and rebuilds it when the files change.
 * Live sessions keep the context they were accepted with; new handshakes get
 * the new one. Ticket keys stay the same across reloads, so tickets issued
 * before a reload still resume after it.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import tls from 'node:tls';

export interface CertFiles {
  cert: string;
  key: string;
  /** CA bundle to verify peers (client certificates on a server). */
  ca?: string;
  passphrase?: string;
}

/** What both ends may restrict: versions, TLS 1.2 ciphers and TLS 1.3 suites, key exchange groups. */
export interface TlsPolicy {
  minVersion?: tls.SecureVersion;
  maxVersion?: tls.SecureVersion;
  /** OpenSSL cipher string; TLS 1.3 suite names (TLS_AES_128_GCM_SHA256...) may be listed in it too. */
  ciphers?: string;
  /** Key exchange groups, colon-separated (OpenSSL's groups list, Node's ecdhCurve). */
  groups?: string;
}

export function policyOptions(p: TlsPolicy): tls.SecureContextOptions {
  const o: tls.SecureContextOptions = {};
  if (p.minVersion) o.minVersion = p.minVersion;
  if (p.maxVersion) o.maxVersion = p.maxVersion;
  if (p.ciphers) o.ciphers = p.ciphers;
  if (p.groups) o.ecdhCurve = p.groups;
  return o;
}

export class CertManager {
  reloads = 0;
  reloadErrors = 0;
  lastError = '';
  private readonly src: CertFiles;
  private readonly pol: TlsPolicy;
  private readonly ticketKeys = randomBytes(48);
  private ctx: tls.SecureContext;
  private watching = false;
  private readonly onChange = (cur: fs.Stats, prev: fs.Stats): void => {
    if (cur.mtimeMs !== prev.mtimeMs || cur.size !== prev.size) this.reload();
  };

  /** Throws if the files cannot be loaded: a bad configuration fails at start, not at the first handshake. */
  constructor(files: CertFiles, policy: TlsPolicy = {}) {
    this.src = files;
    this.pol = policy;
    this.ctx = this.build();
  }

  /** The files the context is built from (the native TLS engine loads them itself). */
  get files(): Readonly<CertFiles> {
    return this.src;
  }

  get policy(): Readonly<TlsPolicy> {
    return this.pol;
  }

  /** The context for new handshakes. */
  get context(): tls.SecureContext {
    return this.ctx;
  }

  /** Rebuilds from the files; on failure keeps serving the previous context and counts the error. */
  reload(): boolean {
    try {
      this.ctx = this.build();
      this.reloads++;
      return true;
    } catch (e) {
      this.reloadErrors++;
      this.lastError = (e as Error).message;
      return false;
    }
  }

  /** Polls the files (stat, not inotify: it also sees files replaced by rename). */
  watch(intervalMs = 1000): void {
    if (this.watching) return;
    this.watching = true;
    for (const f of this.paths()) fs.watchFile(f, { interval: intervalMs, persistent: false }, this.onChange);
  }

  unwatch(): void {
    if (!this.watching) return;
    this.watching = false;
    for (const f of this.paths()) fs.unwatchFile(f, this.onChange);
  }

  private paths(): string[] {
    const p = [this.src.cert, this.src.key];
    if (this.src.ca) p.push(this.src.ca);
    return p;
  }

  private build(): tls.SecureContext {
    const f = this.src;
    const o: tls.SecureContextOptions = {
      ...policyOptions(this.pol),
      cert: fs.readFileSync(f.cert),
      key: fs.readFileSync(f.key),
      ticketKeys: this.ticketKeys,
    };
    if (f.passphrase !== undefined) o.passphrase = f.passphrase;
    if (f.ca) o.ca = fs.readFileSync(f.ca);
    return tls.createSecureContext(o);
  }
}
