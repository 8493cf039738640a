/**
 * Response body accounting: bytes counted always; sha256 or a repeating
 * pattern verified on request; bytes kept only when the user asks for them.
 */
import { createHash, type Hash } from 'node:crypto';

export class BodyCheck {
  /** Repeating byte pattern the body must follow from offset 0, or null. */
  private readonly pattern: Uint8Array | null;
  private readonly keep: boolean;
  private hash: Hash | null = null;
  private patternOk = true;
  private offset = 0;
  private chunks: Buffer[] = [];

  constructor(pattern: Uint8Array | null, keep: boolean) {
    this.pattern = pattern !== null && pattern.length > 0 ? pattern : null;
    this.keep = keep;
  }

  begin(sha256: boolean): void {
    this.hash = sha256 ? createHash('sha256') : null;
    this.patternOk = true;
    this.offset = 0;
    if (this.keep) this.chunks = [];
  }

  update(buf: Uint8Array, off: number, len: number): void {
    const p = this.pattern;
    if (p !== null && this.patternOk) {
      const plen = p.length;
      let k = this.offset % plen;
      for (let i = off, e = off + len; i < e; i++) {
        if (buf[i] !== p[k]) {
          this.patternOk = false;
          break;
        }
        if (++k === plen) k = 0;
      }
    }
    this.offset += len;
    if (this.hash !== null) this.hash.update(buf.subarray(off, off + len));
    if (this.keep) this.chunks.push(Buffer.copyBytesFrom(buf, off, len));
  }

  /** Hex digest when sha256 was asked for, else null. */
  digest(): string | null {
    const h = this.hash;
    this.hash = null;
    return h === null ? null : h.digest('hex');
  }

  /** The pattern matched (true when no pattern is set). */
  patternMatched(): boolean {
    return this.patternOk;
  }

  body(): Buffer | null {
    return this.keep ? Buffer.concat(this.chunks) : null;
  }
}
