/**
 * Test-side reader of classic pcap files (either byte order, µs or ns
 * timestamps): loads fixtures and the files the pcap writer produces.
 */
import { readFileSync } from 'node:fs';

export interface PcapRecord {
  sec: number;
  /** Microseconds or nanoseconds past `sec`, as the file's magic says. */
  frac: number;
  origLen: number;
  data: Uint8Array;
}

export interface PcapFile {
  nanos: boolean;
  littleEndian: boolean;
  snaplen: number;
  linktype: number;
  records: PcapRecord[];
}

export function parsePcap(bytes: Uint8Array): PcapFile {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 24) throw new Error('pcap: shorter than the global header');
  const magicLe = dv.getUint32(0, true);
  const magicBe = dv.getUint32(0, false);
  let le: boolean;
  let nanos: boolean;
  if (magicLe === 0xa1b2c3d4 || magicLe === 0xa1b23c4d) {
    le = true;
    nanos = magicLe === 0xa1b23c4d;
  } else if (magicBe === 0xa1b2c3d4 || magicBe === 0xa1b23c4d) {
    le = false;
    nanos = magicBe === 0xa1b23c4d;
  } else {
    throw new Error(`pcap: bad magic 0x${magicLe.toString(16)}`);
  }
  const file: PcapFile = {
    nanos,
    littleEndian: le,
    snaplen: dv.getUint32(16, le),
    linktype: dv.getUint32(20, le),
    records: [],
  };
  let p = 24;
  while (p < bytes.length) {
    if (p + 16 > bytes.length) throw new Error(`pcap: truncated record header at ${p}`);
    const inclLen = dv.getUint32(p + 8, le);
    if (p + 16 + inclLen > bytes.length) throw new Error(`pcap: truncated record at ${p}`);
    file.records.push({
      sec: dv.getUint32(p, le),
      frac: dv.getUint32(p + 4, le),
      origLen: dv.getUint32(p + 12, le),
      data: bytes.slice(p + 16, p + 16 + inclLen),
    });
    p += 16 + inclLen;
  }
  return file;
}

export function readPcap(path: string | URL): PcapFile {
  return parsePcap(new Uint8Array(readFileSync(path)));
}

/** test/fixtures/ in the source tree, from the compiled test (dist/test/wire/ or dist-NAME/test/wire/). */
export const FIXTURES = new URL('../../../test/fixtures/', import.meta.url);
