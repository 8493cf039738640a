/**
 * TLS session resumption state, one instance per worker (never shared across
 * threads): the client keeps the last session (ticket or ID) per server key;
 * the server keeps session IDs for TLS 1.2 clients without tickets. Tickets
 * themselves need no server state: they are sealed with the cert manager's
 * ticket keys. Both are bounded, evicting the oldest entry.
 */
export class BoundedCache {
  private readonly map = new Map<string, Buffer>();
  private readonly max: number;

  constructor(max: number) {
    if (!(max >= 1)) throw new RangeError('cache size must be >= 1');
    this.max = max;
  }

  get(key: string): Buffer | undefined {
    return this.map.get(key);
  }

  set(key: string, value: Buffer): void {
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value as string);
  }

  delete(key: string): void {
    this.map.delete(key);
  }

  get size(): number {
    return this.map.size;
  }
}

/** Handshake counters of one TLS endpoint. */
export class TlsStats {
  handshakes = 0;
  full = 0;
  resumed = 0;
  /** Handshakes that ended in a TLS error (an alert, a bad record, verification, the timeout). */
  failures = 0;
  /** Handshakes the peer left (closed or reset the connection) before they completed: not TLS errors. */
  abandoned = 0;
  /** Sessions (tickets or IDs) received by the client / issued to the server cache. */
  sessionsStored = 0;
  /** Last handshake failure, for the report. */
  lastError = '';
}
