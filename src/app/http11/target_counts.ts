/**
 * Requests counted by request-target, as the server saw them (`--server
 * --count-targets`): what a client's per-flow and per-entry counts are
 * checked against. The target's bytes are hashed (FNV-1a) into an
 * open-addressed table; a target's string is made once, the first time it
 * is seen. Past `max` distinct targets the rest count as `other`.
 */
export class TargetCounts {
  private readonly hashes: Int32Array;
  private readonly counts: Float64Array;
  private readonly names: (string | null)[];
  private distinct = 0;
  other = 0;

  constructor(private readonly max = 256) {
    const size = max * 2;
    this.hashes = new Int32Array(size);
    this.counts = new Float64Array(size);
    this.names = new Array<string | null>(size).fill(null);
  }

  record(buf: Uint8Array, len: number): void {
    let h = 0x811c9dc5 | 0;
    for (let i = 0; i < len; i++) h = Math.imul(h ^ buf[i], 0x01000193);
    const size = this.hashes.length;
    for (let i = (h >>> 0) % size, k = 0; k < size; i = (i + 1) % size, k++) {
      const name = this.names[i];
      if (name === null) {
        if (this.distinct === this.max) break;
        this.distinct++;
        this.hashes[i] = h;
        this.names[i] = Buffer.from(buf.buffer, buf.byteOffset, len).toString('latin1');
        this.counts[i] = 1;
        return;
      }
      if (this.hashes[i] === h && name.length === len) {
        this.counts[i]++;
        return;
      }
    }
    this.other++;
  }

  /** Requests by target (and `other` when the table was full). */
  toObject(): Record<string, number> {
    const out: Record<string, number> = {};
    this.names.forEach((n, i) => {
      if (n !== null) out[n] = this.counts[i];
    });
    if (this.other > 0) out.other = this.other;
    return out;
  }
}
