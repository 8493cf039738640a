/**
 * One pcapng file from the parts PcapWriter wrote in pcapng (one per worker
 * and session of a trace): the first part's section header and interface,
 * then every part's packet blocks in timestamp order (stable: a worker's
 * own order is kept for equal stamps). The parts share the one Ethernet
 * interface and timestamp resolution, so their blocks carry over unchanged.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { PCAPNG_EPB, PCAPNG_IDB, PCAPNG_SHB, PcapWriter } from './pcap.js';

interface Block {
  buf: Buffer;
  /** The timestamp's two words as one number (exact below 2^53). */
  ts: number;
}

/** Merges `parts` into `out`; returns the packets written. A part with no bytes (a worker that saw nothing yet) adds none. */
export function mergePcapng(parts: readonly string[], out: string): number {
  let head: Buffer | null = null;
  const packets: Block[] = [];
  for (const part of parts) {
    const b = readFileSync(part);
    let off = 0;
    while (off + 12 <= b.length) {
      const type = b.readUInt32LE(off);
      const len = b.readUInt32LE(off + 4);
      if (len < 12 || off + len > b.length) break; // a block cut short: the part's writer did not flush it
      if (type === PCAPNG_EPB) packets.push({ buf: b.subarray(off, off + len), ts: b.readUInt32LE(off + 12) * 0x100000000 + b.readUInt32LE(off + 16) });
      else if (head === null && type === PCAPNG_SHB) {
        const idbLen = b.readUInt32LE(off + len + 4);
        if (b.readUInt32LE(off + len) === PCAPNG_IDB) head = b.subarray(off, off + len + idbLen);
      }
      off += len;
    }
  }
  if (head === null) {
    // No part got as far as its header: an empty capture.
    new PcapWriter(out, { format: 'pcapng' }).close();
    return 0;
  }
  packets.sort((a, b) => a.ts - b.ts);
  writeFileSync(out, Buffer.concat([head, ...packets.map((p) => p.buf)]));
  return packets.length;
}
