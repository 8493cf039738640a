/**
 * NSS key log output (SSLKEYLOGFILE format) so Wireshark/tshark can decrypt
 * captures: one line per secret, appended to a file shared by all workers
 * (O_APPEND keeps lines whole).
 */
import fs from 'node:fs';

export class KeyLog {
  private readonly fd: number;
  lines = 0;

  constructor(path: string) {
    this.fd = fs.openSync(path, 'a', 0o600);
  }

  /** `--sslkeylog <path>` wins over the SSLKEYLOGFILE environment variable; null when neither is set. */
  static fromConfig(path: string | undefined, env: NodeJS.ProcessEnv = process.env): KeyLog | null {
    const p = path ?? env.SSLKEYLOGFILE;
    return p ? new KeyLog(p) : null;
  }

  write(line: Buffer): void {
    // Node hands each line with its newline; one write per line keeps lines whole across workers.
    fs.writeSync(this.fd, line);
    this.lines++;
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}
