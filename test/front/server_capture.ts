/**
 * tshark on a server's interface, for tests that compare vaigAI's timing of
 * requests with what the server's side of the wire saw: start it before the
 * run, stop it after, then read fields of the captured frames.
 */
import { join } from 'node:path';
import { exited } from '../helpers/netns.js';
import { Proc, type FrontLab } from './lab.js';

export class ServerCapture {
  private constructor(
    private readonly f: FrontLab,
    private readonly shark: Proc,
    private readonly file: string,
  ) {}

  /** Captures TCP port `port` on `iface` of namespace `ns`; resolves once tshark captures. */
  static async start(f: FrontLab, ns: string, iface: string, port: number): Promise<ServerCapture> {
    const file = join(f.dir, `server-${iface}.pcap`);
    const shark = new Proc(f.lab.spawn(ns, 'tshark', ['-q', '-i', iface, '-f', `tcp port ${port}`, '-w', file]));
    await shark.waitFor(/Capturing on/, 20_000);
    return new ServerCapture(f, shark, file);
  }

  async stop(): Promise<void> {
    this.shark.child.kill('SIGINT');
    await exited(this.shark.child, 20_000, 'tshark');
  }

  /** `fields` of the frames matching the display filter, one row per frame. */
  rows(filter: string, ...fields: string[]): string[][] {
    return this.f.lab
      .run(null, 'tshark', ['-r', this.file, '-Y', filter, '-T', 'fields', ...fields.flatMap((e) => ['-e', e])])
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => l.split('\t'));
  }

  /** A field in seconds (a time), in µs, of the frames matching the filter. */
  times(filter: string, field: string): number[] {
    return this.rows(filter, field).map(([s]) => Number(s) * 1e6);
  }
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}
