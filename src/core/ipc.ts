/**
 * Management <-> worker IPC over one SharedArrayBuffer per worker, as the
 * architecture's rte_ring pair: management writes 256-byte `config_update_t`
 * records into an SPSC ring, the worker answers each with a 16-byte `ack_msg_t`
 * on a second SPSC ring. `postMessage` is for start-up only (DESIGN.md measured
 * ~1 M msgs/s with ~50 us latency against ~15-22 M/s for a SAB ring; see
 * bench/ipc.ts).
 *
 * The architecture writes `cmd(4) seq(8) payload[248]` and calls it 256 bytes;
 * that sums to 260. We keep the 256-byte record and the field order, packed:
 * cmd u32 @0, seq u64 as two u32 (lo @4, hi @8) so no BigInt is needed,
 * payload[244] @12. All fields little-endian (host order of the targets).
 *
 * Buffer layout (each header on its own cache line so the producer's and the
 * consumer's index never share one):
 *   line 0        control: wake word (RUNNING/PARKED), stop flag
 *   lines 1-2     config ring header: producer line (tail, overflow), consumer line (head)
 *   lines 3-4     ack ring header, same shape
 *   ...           config records (capacity x 256), ack records (capacity x 16)
 */

const LINE = 64;
const I32_PER_LINE = LINE / 4;
/** An SpscRing's header: the producer's line (tail, overflow count), then the consumer's (head). */
export const RING_HEADER_BYTES = 2 * LINE;

export const RECORD_SIZE = 256;
export const OFF_CMD = 0;
export const OFF_SEQ_LO = 4;
export const OFF_SEQ_HI = 8;
export const OFF_PAYLOAD = 12;
export const PAYLOAD_MAX = RECORD_SIZE - OFF_PAYLOAD;

export const ACK_SIZE = 16;
/** seq as two u32 (lo @0, hi @4), like the config record. */
const OFF_ACK_SEQ_LO = 0;
const OFF_ACK_RC = 8;
const OFF_ACK_WORKER = 12;

/** Commands below 16 are handled by the worker loop itself; pipelines register the rest. */
export const CMD_NOP = 1;
/** Payload: JSON (see encodeJson) handed to the pipeline's CMD_CONFIG handler. */
export const CMD_CONFIG = 2;
/** Payload: JSON `{ path }`: the worker starts capturing its queue to `path` (pcapng), or stops (null) and acks the frames written. */
export const CMD_TRACE = 3;
export const CMD_USER_BASE = 16;

/** Ack rc values of the loop itself; handlers return 0 or their own negative codes. */
export const RC_OK = 0;
export const RC_UNKNOWN_CMD = -1;
export const RC_HANDLER_FAILED = -2;
export const RC_BAD_PAYLOAD = -3;

export const WAKE_RUNNING = 0;
export const WAKE_PARKED = 1;
const CTL_WAKE = 0;
const CTL_STOP = 1;

/** Management's default bound on waiting for room in a full ring (architecture: <= 100 us). */
export const SEND_SPIN_US = 100;

const TWO32 = 2 ** 32;

function checkCapacity(capacity: number): void {
  if (!Number.isInteger(capacity) || capacity < 1 || (capacity & (capacity - 1)) !== 0) {
    throw new RangeError(`ring capacity must be a power of two, got ${capacity}`);
  }
}

/**
 * A single-producer single-consumer ring of fixed-size records. Positions are
 * 32-bit wrapping counters; the record of position p is at p & mask. Each side
 * caches the other side's index and reloads it only when the ring looks full
 * (producer) or empty (consumer), so a record costs one Atomics.store.
 */
export class SpscRing {
  readonly capacity: number;
  private readonly mask: number;
  private readonly i32: Int32Array;
  private readonly tailIdx: number;
  private readonly overflowIdx: number;
  private readonly headIdx: number;
  private localTail: number;
  private cachedHead: number;
  private localHead: number;
  private cachedTail: number;

  /** `header` is the byte offset of the ring's two header lines; `data` of its records. */
  constructor(
    sab: SharedArrayBuffer,
    header: number,
    readonly data: number,
    capacity: number,
    readonly recordSize: number,
  ) {
    checkCapacity(capacity);
    this.capacity = capacity;
    this.mask = capacity - 1;
    this.i32 = new Int32Array(sab);
    this.tailIdx = header / 4;
    this.overflowIdx = this.tailIdx + 1;
    this.headIdx = this.tailIdx + I32_PER_LINE;
    this.localTail = Atomics.load(this.i32, this.tailIdx);
    this.localHead = Atomics.load(this.i32, this.headIdx);
    this.cachedHead = this.localHead;
    this.cachedTail = this.localTail;
  }

  /** Producer: free records, at least `want` if that many are free (reloads the head only then). */
  room(want: number): number {
    let r = this.capacity - ((this.localTail - this.cachedHead) | 0);
    if (r < want) {
      this.cachedHead = Atomics.load(this.i32, this.headIdx);
      r = this.capacity - ((this.localTail - this.cachedHead) | 0);
    }
    return r;
  }

  /** Producer: byte offset of the k-th record after the last published one (k < room). */
  slot(k: number): number {
    return this.data + ((this.localTail + k) & this.mask) * this.recordSize;
  }

  /** Producer: publishes the next `k` records with one store. */
  publish(k: number): void {
    this.localTail = (this.localTail + k) | 0;
    Atomics.store(this.i32, this.tailIdx, this.localTail);
  }

  /** Producer: byte offset of the next free record, or -1 when full. */
  reserve(): number {
    return this.room(1) > 0 ? this.slot(0) : -1;
  }

  /** Producer: publishes the record returned by the last reserve(). */
  commit(): void {
    this.publish(1);
  }

  /** Consumer: records ready, at least `want` if that many are (reloads the tail only then). */
  ready(want: number): number {
    let r = (this.cachedTail - this.localHead) | 0;
    if (r < want) {
      this.cachedTail = Atomics.load(this.i32, this.tailIdx);
      r = (this.cachedTail - this.localHead) | 0;
    }
    return r;
  }

  /** Consumer: byte offset of the k-th oldest record (k < ready). */
  at(k: number): number {
    return this.data + ((this.localHead + k) & this.mask) * this.recordSize;
  }

  /** Consumer: hands the `k` oldest records back to the producer with one store. */
  consume(k: number): void {
    this.localHead = (this.localHead + k) | 0;
    Atomics.store(this.i32, this.headIdx, this.localHead);
  }

  /** Consumer: byte offset of the oldest record, or -1 when empty. */
  peek(): number {
    return this.ready(1) > 0 ? this.at(0) : -1;
  }

  /** Consumer: hands the record returned by peek() back to the producer. */
  release(): void {
    this.consume(1);
  }

  /** Records waiting, as seen from either side. */
  get size(): number {
    return (Atomics.load(this.i32, this.tailIdx) - Atomics.load(this.i32, this.headIdx)) | 0;
  }

  /** Producer: counts a record dropped because the ring stayed full. */
  countOverflow(): void {
    Atomics.add(this.i32, this.overflowIdx, 1);
  }

  get overflows(): number {
    return Atomics.load(this.i32, this.overflowIdx);
  }
}

/** What both ends need to attach to one worker's channel; structured-cloneable for workerData. */
export interface IpcShared {
  readonly sab: SharedArrayBuffer;
  readonly capacity: number;
  readonly workerIdx: number;
}

const CONFIG_HEADER = LINE;
const ACK_HEADER = CONFIG_HEADER + RING_HEADER_BYTES;
const RECORDS = ACK_HEADER + RING_HEADER_BYTES;

/** Allocates one worker's channel: `capacity` config records and as many acks. */
export function createIpc(workerIdx: number, capacity = 64): IpcShared {
  checkCapacity(capacity);
  const sab = new SharedArrayBuffer(RECORDS + capacity * (RECORD_SIZE + ACK_SIZE));
  return { sab, capacity, workerIdx };
}

function configRing(s: IpcShared): SpscRing {
  return new SpscRing(s.sab, CONFIG_HEADER, RECORDS, s.capacity, RECORD_SIZE);
}

function ackRing(s: IpcShared): SpscRing {
  return new SpscRing(s.sab, ACK_HEADER, RECORDS + s.capacity * RECORD_SIZE, s.capacity, ACK_SIZE);
}

function putSeq(dv: DataView, off: number, seq: number): void {
  dv.setUint32(off, seq >>> 0, true);
  dv.setUint32(off + 4, Math.floor(seq / TWO32), true);
}

function getSeq(dv: DataView, off: number): number {
  return dv.getUint32(off, true) + dv.getUint32(off + 4, true) * TWO32;
}

/** One ack as management reads it. */
export interface Ack {
  seq: number;
  rc: number;
  workerIdx: number;
}

/** The management end of one worker's channel: sends commands, wakes, stops, reads acks. */
export class MgmtEnd {
  readonly workerIdx: number;
  private readonly ctl: Int32Array;
  private readonly dv: DataView;
  private readonly u8: Uint8Array;
  private readonly cfg: SpscRing;
  private readonly acks: SpscRing;
  private nextSeq = 1;

  constructor(s: IpcShared) {
    this.workerIdx = s.workerIdx;
    this.ctl = new Int32Array(s.sab, 0, I32_PER_LINE);
    this.dv = new DataView(s.sab);
    this.u8 = new Uint8Array(s.sab);
    this.cfg = configRing(s);
    this.acks = ackRing(s);
  }

  /**
   * Queues a command and wakes the worker. When the ring is full it waits up to
   * `spinUs` for room, then drops the record and counts `mgmt_ring_overflow`.
   * Returns the record's sequence number, or -1 when it was dropped.
   */
  send(cmd: number, payload?: Uint8Array, spinUs = SEND_SPIN_US): number {
    if (!Number.isInteger(cmd) || cmd <= 0 || cmd > 0xffffffff) throw new RangeError(`bad command ${cmd}`);
    if (payload !== undefined && payload.length > PAYLOAD_MAX) {
      throw new RangeError(`payload of ${payload.length} bytes exceeds ${PAYLOAD_MAX}`);
    }
    let off = this.cfg.reserve();
    if (off < 0) {
      this.wake();
      const t0 = performance.now();
      do off = this.cfg.reserve();
      while (off < 0 && (performance.now() - t0) * 1000 < spinUs);
      if (off < 0) {
        this.cfg.countOverflow();
        return -1;
      }
    }
    const seq = this.nextSeq++;
    this.dv.setUint32(off + OFF_CMD, cmd, true);
    putSeq(this.dv, off + OFF_SEQ_LO, seq);
    // Payload bytes past what the command defines keep older records' bytes; commands carry their own lengths.
    if (payload !== undefined) this.u8.set(payload, off + OFF_PAYLOAD);
    this.cfg.commit();
    this.wake();
    return seq;
  }

  /** Reads the next ack into `out`; false when none waits. */
  pollAck(out: Ack): boolean {
    const off = this.acks.peek();
    if (off < 0) return false;
    out.seq = getSeq(this.dv, off + OFF_ACK_SEQ_LO);
    out.rc = this.dv.getInt32(off + OFF_ACK_RC, true);
    out.workerIdx = this.dv.getUint32(off + OFF_ACK_WORKER, true);
    this.acks.release();
    return true;
  }

  /** Ends a park early. The CAS makes a wake between the worker's PARKED store and its wait visible to the wait. */
  wake(): void {
    if (Atomics.compareExchange(this.ctl, CTL_WAKE, WAKE_PARKED, WAKE_RUNNING) === WAKE_PARKED) {
      Atomics.notify(this.ctl, CTL_WAKE);
    }
  }

  /** Asks the loop to stop. A flag rather than a record, so a full ring cannot lose it. */
  stop(): void {
    Atomics.store(this.ctl, CTL_STOP, 1);
    this.wake();
  }

  get parked(): boolean {
    return Atomics.load(this.ctl, CTL_WAKE) === WAKE_PARKED;
  }

  /** Records dropped because the config ring stayed full (`mgmt_ring_overflow`). */
  get overflows(): number {
    return this.cfg.overflows;
  }

  /** Acks the worker dropped because management did not drain the ack ring. */
  get ackOverflows(): number {
    return this.acks.overflows;
  }
}

/** The worker end: takes commands one at a time, acks them, parks and sees stop. */
export class WorkerEnd {
  readonly workerIdx: number;
  /** The current command after recv(). */
  cmd = 0;
  seq = 0;
  /** The current command's payload: a view of its record, valid until the next recv(). */
  payload: Uint8Array;
  private readonly ctl: Int32Array;
  private readonly dv: DataView;
  private readonly cfg: SpscRing;
  private readonly acks: SpscRing;
  /** One payload view per record, made once so recv() neither copies nor allocates. */
  private readonly views: Uint8Array[];
  private held = false;

  constructor(s: IpcShared) {
    this.workerIdx = s.workerIdx;
    this.ctl = new Int32Array(s.sab, 0, I32_PER_LINE);
    this.dv = new DataView(s.sab);
    this.cfg = configRing(s);
    this.acks = ackRing(s);
    this.views = Array.from({ length: s.capacity }, (_, i) => new Uint8Array(s.sab, this.cfg.data + i * RECORD_SIZE + OFF_PAYLOAD, PAYLOAD_MAX));
    this.payload = this.views[0];
  }

  /**
   * Takes the next command into cmd/seq/payload; false when none waits. The
   * previous record goes back to management only now, so its payload view
   * stays valid while the command runs.
   */
  recv(): boolean {
    if (this.held) {
      this.cfg.release();
      this.held = false;
    }
    const off = this.cfg.peek();
    if (off < 0) return false;
    this.cmd = this.dv.getUint32(off + OFF_CMD, true);
    this.seq = getSeq(this.dv, off + OFF_SEQ_LO);
    this.payload = this.views[(off - this.cfg.data) / RECORD_SIZE];
    this.held = true;
    return true;
  }

  /** Whether a command waits beyond the one being run (cheap: one load when the cached tail is current). */
  pending(): boolean {
    const want = this.held ? 2 : 1;
    return this.cfg.ready(want) >= want;
  }

  /** Answers `seq` with `rc`. Never blocks the data plane: a full ack ring drops and counts. */
  ack(seq: number, rc: number): boolean {
    const off = this.acks.reserve();
    if (off < 0) {
      this.acks.countOverflow();
      return false;
    }
    putSeq(this.dv, off + OFF_ACK_SEQ_LO, seq);
    this.dv.setInt32(off + OFF_ACK_RC, rc, true);
    this.dv.setUint32(off + OFF_ACK_WORKER, this.workerIdx, true);
    this.acks.commit();
    return true;
  }

  get stopRequested(): boolean {
    return Atomics.load(this.ctl, CTL_STOP) !== 0;
  }

  /**
   * Blocks the thread until woken, stopped or `timeoutMs` passes. PARKED is
   * published before the last look at the rings (all Atomics are sequentially
   * consistent), so a command sent meanwhile either is seen here or turns the
   * word back to RUNNING and the wait returns at once. Returns true when it waited.
   */
  park(timeoutMs: number): boolean {
    Atomics.store(this.ctl, CTL_WAKE, WAKE_PARKED);
    if (this.pending() || this.stopRequested) {
      Atomics.store(this.ctl, CTL_WAKE, WAKE_RUNNING);
      return false;
    }
    Atomics.wait(this.ctl, CTL_WAKE, WAKE_PARKED, timeoutMs);
    Atomics.store(this.ctl, CTL_WAKE, WAKE_RUNNING);
    return true;
  }
}

const utf8 = new TextEncoder();
const utf8d = new TextDecoder();

/** Encodes a JSON payload as u16 length + UTF-8; throws when it does not fit one record. */
export function encodeJson(value: unknown): Uint8Array {
  const text = utf8.encode(JSON.stringify(value));
  if (text.length + 2 > PAYLOAD_MAX) {
    throw new RangeError(`config update of ${text.length} bytes exceeds the ${PAYLOAD_MAX - 2}-byte record payload`);
  }
  const out = new Uint8Array(text.length + 2);
  out[0] = text.length & 0xff;
  out[1] = text.length >>> 8;
  out.set(text, 2);
  return out;
}

/** Decodes a payload written by encodeJson; throws a RangeError/SyntaxError on a bad one. */
export function decodeJson(payload: Uint8Array): unknown {
  const len = payload[0] | (payload[1] << 8);
  if (len + 2 > payload.length) throw new RangeError(`JSON payload length ${len} exceeds the record`);
  return JSON.parse(utf8d.decode(payload.subarray(2, 2 + len)));
}
