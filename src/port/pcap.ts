/**
 * A pcap writer and a tap that records every frame a PortQueue receives or
 * transmits, for Wireshark/tshark. Classic libpcap format (--pcap) or pcapng
 * (the console's `trace`: one section, one Ethernet interface, an Enhanced
 * Packet Block per frame), link type Ethernet, microsecond or nanosecond
 * timestamps, little-endian (readers detect byte order from the magic number).
 *
 * Records are copied into a buffer and written with one write(2) when it
 * fills, when asked to flush, and on close: no allocation per frame. A writer
 * belongs to one thread; each worker taps into its own file.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import type { Clock } from '../common/clock.js';
import type { BufferPool } from '../core/buffer_pool.js';
import type { WireStamps } from './wire_stamps.js';
import type { Port, PortCaps, PortQueue, QueueStats } from './port.js';

export const PCAP_MAGIC_US = 0xa1b2c3d4;
export const PCAP_MAGIC_NS = 0xa1b23c4d;
export const PCAP_GLOBAL_HDR_LEN = 24;
export const PCAP_RECORD_HDR_LEN = 16;
export const PCAP_VERSION_MAJOR = 2;
export const PCAP_VERSION_MINOR = 4;
export const LINKTYPE_ETHERNET = 1;
/** pcapng block types and sizes (draft-ietf-opsawg-pcapng). */
export const PCAPNG_SHB = 0x0a0d0d0a;
export const PCAPNG_IDB = 1;
export const PCAPNG_EPB = 6;
export const PCAPNG_BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const PCAPNG_SHB_LEN = 28;
/** IDB with if_tsresol (code 9, one byte, padded) and opt_endofopt. */
const PCAPNG_IDB_LEN = 32;
/** An EPB's fixed part: type, length, interface, timestamp (2 words), captured and original length, trailing length. */
const PCAPNG_EPB_FIXED = 32;

export interface PcapOptions {
  /** Nanosecond timestamps (magic 0xa1b23c4d); microseconds otherwise. */
  nanos?: boolean;
  /** Bytes kept of each frame; the record still states the original length. Default 65535. */
  snaplen?: number;
  /** Time source in microseconds since the Unix epoch; default the wall clock at sub-µs resolution. */
  clock?: Clock;
  /** Bytes buffered before a write to the file. Default 1 MiB. */
  bufferSize?: number;
  /** File format; default classic pcap. */
  format?: 'pcap' | 'pcapng';
}

export class PcapWriter {
  readonly nanos: boolean;
  readonly snaplen: number;
  readonly pcapng: boolean;
  /** Records written (including those still buffered). */
  frames = 0;
  private fd: number;
  private out: Buffer;
  private outDv: DataView;
  private pos = 0;
  private readonly clock: Clock | null;
  // Wall-clock base: the epoch second at open and nanoseconds past it, plus the
  // performance.now() reading they correspond to; later stamps add the delta.
  private readonly baseSec: number;
  private readonly baseNs: number;
  private readonly basePerf: number;
  private sec = 0;
  private frac = 0;
  // Buffer view over the last source array, so copies are a memcpy without a subarray per frame.
  private srcKey: ArrayBufferLike | null = null;
  private src: Buffer = Buffer.alloc(0);

  constructor(path: string, opts: PcapOptions = {}) {
    this.nanos = opts.nanos ?? false;
    this.pcapng = opts.format === 'pcapng';
    this.snaplen = opts.snaplen ?? 65535;
    if (!Number.isInteger(this.snaplen) || this.snaplen < 1 || this.snaplen > 262144) {
      throw new RangeError(`pcap snaplen must be an integer in 1..262144, got ${this.snaplen}`);
    }
    this.clock = opts.clock ?? null;
    this.out = Buffer.allocUnsafe(Math.max(opts.bufferSize ?? 1 << 20, 4096));
    this.outDv = new DataView(this.out.buffer, this.out.byteOffset, this.out.byteLength);
    this.basePerf = performance.now();
    const epochMs = performance.timeOrigin + this.basePerf;
    this.baseSec = Math.floor(epochMs / 1000);
    this.baseNs = Math.round((epochMs - this.baseSec * 1000) * 1e6);
    this.fd = openSync(path, 'w');
    if (this.pcapng) {
      this.pos = this.pcapngHeader();
      return;
    }
    const dv = this.outDv;
    dv.setUint32(0, this.nanos ? PCAP_MAGIC_NS : PCAP_MAGIC_US, true);
    dv.setUint16(4, PCAP_VERSION_MAJOR, true);
    dv.setUint16(6, PCAP_VERSION_MINOR, true);
    dv.setInt32(8, 0, true); // thiszone
    dv.setUint32(12, 0, true); // sigfigs
    dv.setUint32(16, this.snaplen, true);
    dv.setUint32(20, LINKTYPE_ETHERNET, true);
    this.pos = PCAP_GLOBAL_HDR_LEN;
  }

  /** The section header and the one interface description; returns their length. */
  private pcapngHeader(): number {
    const dv = this.outDv;
    dv.setUint32(0, PCAPNG_SHB, true);
    dv.setUint32(4, PCAPNG_SHB_LEN, true);
    dv.setUint32(8, PCAPNG_BYTE_ORDER_MAGIC, true);
    dv.setUint16(12, 1, true);
    dv.setUint16(14, 0, true);
    dv.setInt32(16, -1, true); // section length: unknown (-1 as 64 bits)
    dv.setInt32(20, -1, true);
    dv.setUint32(24, PCAPNG_SHB_LEN, true);
    const i = PCAPNG_SHB_LEN;
    dv.setUint32(i, PCAPNG_IDB, true);
    dv.setUint32(i + 4, PCAPNG_IDB_LEN, true);
    dv.setUint16(i + 8, LINKTYPE_ETHERNET, true);
    dv.setUint16(i + 10, 0, true);
    dv.setUint32(i + 12, this.snaplen, true);
    dv.setUint16(i + 16, 9, true); // if_tsresol: 10^-6 or 10^-9
    dv.setUint16(i + 18, 1, true);
    dv.setUint32(i + 20, this.nanos ? 9 : 6, true);
    dv.setUint32(i + 24, 0, true); // opt_endofopt
    dv.setUint32(i + 28, PCAPNG_IDB_LEN, true);
    return PCAPNG_SHB_LEN + PCAPNG_IDB_LEN;
  }

  /** Reads the clock once; the records written until the next stamp carry this time. */
  stamp(): void {
    if (this.clock !== null) {
      const us = this.clock.nowUs();
      this.sec = Math.floor(us / 1e6);
      const fracUs = us - this.sec * 1e6;
      this.frac = this.nanos ? fracUs * 1000 : fracUs;
      return;
    }
    const ns = this.baseNs + Math.round((performance.now() - this.basePerf) * 1e6);
    const s = Math.floor(ns / 1e9);
    this.sec = this.baseSec + s;
    const fracNs = ns - s * 1e9;
    this.frac = this.nanos ? fracNs : Math.floor(fracNs / 1000);
  }

  /** Bytes a record of a `len`-byte frame takes. */
  recordLen(len: number): number {
    const cap = len < this.snaplen ? len : this.snaplen;
    return this.pcapng ? PCAPNG_EPB_FIXED + ((cap + 3) & ~3) : PCAP_RECORD_HDR_LEN + cap;
  }

  /** Makes room for `bytes` of records in the buffer, so they can be taken back with `rewind`. */
  reserve(bytes: number): void {
    if (this.pos + bytes <= this.out.length) return;
    this.flush();
    if (bytes > this.out.length) {
      this.out = Buffer.allocUnsafe(bytes);
      this.outDv = new DataView(this.out.buffer, this.out.byteOffset, this.out.byteLength);
    }
  }

  /** Appends a record of `u8[off, off+len)` with the last stamp's time. */
  writeFrame(u8: Uint8Array, off: number, len: number): void {
    const cap = len < this.snaplen ? len : this.snaplen;
    this.reserve(this.recordLen(len));
    if (u8.buffer !== this.srcKey) {
      this.srcKey = u8.buffer;
      this.src = Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
    }
    const dv = this.outDv;
    const p = this.pos;
    if (this.pcapng) {
      this.writeEpb(p, cap, len, off);
      return;
    }
    dv.setUint32(p, this.sec, true);
    dv.setUint32(p + 4, this.frac, true);
    dv.setUint32(p + 8, cap, true);
    dv.setUint32(p + 12, len, true);
    this.src.copy(this.out, p + PCAP_RECORD_HDR_LEN, off, off + cap);
    this.pos = p + PCAP_RECORD_HDR_LEN + cap;
    this.frames++;
  }

  /** An Enhanced Packet Block at `p` of `cap` bytes of the source from `off`. */
  private writeEpb(p: number, cap: number, len: number, off: number): void {
    const dv = this.outDv;
    const total = PCAPNG_EPB_FIXED + ((cap + 3) & ~3);
    // Timestamp units since the epoch (µs or ns); exact below 2^53.
    const ts = this.sec * (this.nanos ? 1e9 : 1e6) + this.frac;
    dv.setUint32(p, PCAPNG_EPB, true);
    dv.setUint32(p + 4, total, true);
    dv.setUint32(p + 8, 0, true);
    dv.setUint32(p + 12, Math.floor(ts / 0x100000000), true);
    dv.setUint32(p + 16, ts >>> 0, true);
    dv.setUint32(p + 20, cap, true);
    dv.setUint32(p + 24, len, true);
    this.src.copy(this.out, p + 28, off, off + cap);
    for (let i = p + 28 + cap; i < p + total - 4; i++) this.out[i] = 0;
    dv.setUint32(p + total - 4, total, true);
    this.pos = p + total;
    this.frames++;
  }

  /** Position in the buffer, to rewind to if the frames about to be recorded are not sent after all. */
  mark(): number {
    return this.pos;
  }

  /** Drops the `frames` records written since `mark` (within one `reserve`d span). */
  rewind(mark: number, frames: number): void {
    this.pos = mark;
    this.frames -= frames;
  }

  flush(): void {
    let done = 0;
    while (done < this.pos) done += writeSync(this.fd, this.out, done, this.pos - done);
    this.pos = 0;
  }

  close(): void {
    if (this.fd < 0) return;
    this.flush();
    closeSync(this.fd);
    this.fd = -1;
  }
}

/** A PortQueue that records what passes through another, into a writer that can change (null: none) while it runs. */
export class PcapTapQueue implements PortQueue {
  private marks = new Int32Array(64);
  constructor(
    private readonly inner: PortQueue,
    private writer: PcapWriter | null,
  ) {}

  /** Records into `w` from the next burst on (null: stops recording); the caller closes the writer it replaced. */
  setWriter(w: PcapWriter | null): void {
    this.writer?.flush();
    this.writer = w;
  }

  get queueId(): number {
    return this.inner.queueId;
  }
  get pool(): BufferPool {
    return this.inner.pool;
  }

  get wire(): WireStamps | undefined {
    return this.inner.wire;
  }

  rxBurst(out: Int32Array, max: number): number {
    const n = this.inner.rxBurst(out, max);
    const w = this.writer;
    if (n > 0 && w !== null) {
      const pool = this.inner.pool;
      w.stamp();
      for (let i = 0; i < n; i++) w.writeFrame(pool.u8, pool.base(out[i]), pool.dataLen[out[i]]);
    }
    return n;
  }

  /**
   * Records the burst before handing it on (the port frees accepted slots), then
   * takes back the records of the frames the port did not accept.
   */
  txBurst(slots: Int32Array, n: number): number {
    const w = this.writer;
    if (n <= 0 || w === null) return this.inner.txBurst(slots, n);
    const pool = this.inner.pool;
    let bytes = 0;
    for (let i = 0; i < n; i++) bytes += w.recordLen(pool.dataLen[slots[i]]);
    w.reserve(bytes);
    if (this.marks.length <= n) this.marks = new Int32Array(2 * n);
    w.stamp();
    for (let i = 0; i < n; i++) {
      this.marks[i] = w.mark();
      w.writeFrame(pool.u8, pool.base(slots[i]), pool.dataLen[slots[i]]);
    }
    const sent = this.inner.txBurst(slots, n);
    if (sent < n) w.rewind(this.marks[sent], n - sent);
    return sent;
  }

  stats(): QueueStats {
    return this.inner.stats();
  }

  close(): void {
    this.writer?.flush();
    this.inner.close();
  }
}

/** Wraps a queue so that its received and transmitted frames are also written to `writer` (null: none until setWriter). */
export function tapQueue(queue: PortQueue, writer: PcapWriter | null): PcapTapQueue {
  return new PcapTapQueue(queue, writer);
}

/** A Port whose queues are all tapped into `writer` (the caller closes the writer). */
class PcapTapPort implements Port {
  constructor(
    private readonly inner: Port,
    private readonly writer: PcapWriter,
  ) {}
  get driver(): string {
    return this.inner.driver;
  }
  get name(): string {
    return this.inner.name;
  }
  get queueCount(): number {
    return this.inner.queueCount;
  }
  get caps(): PortCaps {
    return this.inner.caps;
  }
  openQueue(q: number, pool: BufferPool): PortQueue {
    return new PcapTapQueue(this.inner.openQueue(q, pool), this.writer);
  }
  close(): void {
    this.writer.flush();
    this.inner.close();
  }
}

export function tapPort(port: Port, writer: PcapWriter): Port {
  return new PcapTapPort(port, writer);
}
