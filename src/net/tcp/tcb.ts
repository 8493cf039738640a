/**
 * The TCB store: every connection's state in structure-of-arrays form, indexed
 * by TCB id, pre-allocated to `max` connections, plus an open-addressing hash
 * (linear probing, backward-shift deletion: no tombstones) on the 4-tuple.
 * Nothing here allocates after construction.
 */
import type { TcpHandler } from './api.js';

/** RFC 9293 §3.3.2 states. LISTEN belongs to listeners, never to a TCB. */
export const CLOSED = 0;
export const LISTEN = 1;
export const SYN_SENT = 2;
export const SYN_RECEIVED = 3;
export const ESTABLISHED = 4;
export const FIN_WAIT_1 = 5;
export const FIN_WAIT_2 = 6;
export const CLOSE_WAIT = 7;
export const CLOSING = 8;
export const LAST_ACK = 9;
export const TIME_WAIT = 10;

export const STATE_NAMES = [
  'CLOSED', 'LISTEN', 'SYN_SENT', 'SYN_RECEIVED', 'ESTABLISHED', 'FIN_WAIT_1',
  'FIN_WAIT_2', 'CLOSE_WAIT', 'CLOSING', 'LAST_ACK', 'TIME_WAIT',
];

/** Bits of `flags`. */
export const F_TS = 1; // timestamps negotiated (RFC 7323)
export const F_SACK = 2; // SACK permitted both ways (RFC 2018)
export const F_WS = 4; // window scaling negotiated
export const F_FIN_QUEUED = 8; // shutdown(): FIN follows the queued data
export const F_DEFERRED = 16; // written inside a received burst: output waits for the burst's end
export const F_CLOSE = 32; // close(): release without telling the app more once done
export const F_WANT_WRITABLE = 128; // write() was short: call onWritable when space frees
export const F_PERSIST = 256; // zero-window probing instead of RTO
export const F_DACK = 512; // an ACK is owed (delayed)
export const F_OOO_FIN = 64; // a FIN arrived out of order, at oooFin: kept (and SACKed) until the data before it arrives
export const F_PASSIVE = 1024; // created from a listener
export const F_RTT = 2048; // a segment is being timed (no timestamps: Karn's algorithm)
export const F_EPHEMERAL = 4096; // local port came from the port pool
export const F_ACK_NOW = 16384; // an immediate ACK owed, left to the deferred output of the burst
export const F_NOTIFIED = 8192; // onClosed was delivered (handler detached)
/** Values of `tlp`. */
export const TLP_NONE = 0;
export const TLP_ARMED = 1;
/** Values of `ca`, the sender's loss-recovery state (Linux's icsk_ca_state). */
export const CA_OPEN = 0;
/** Fast recovery: losses detected by RACK (SACK) or three duplicate ACKs (RFC 6582); PRR sets cwnd under SACK. */
export const CA_RECOVERY = 1;
/** After an RTO until SND.UNA passes `recover`: the lost segments go out again under slow start. */
export const CA_LOSS = 2;

export class TcbStore {
  readonly max: number;
  readonly state: Uint8Array;
  readonly flags: Uint16Array;
  readonly localIp: Uint32Array;
  readonly remoteIp: Uint32Array;
  readonly localPort: Uint16Array;
  readonly remotePort: Uint16Array;
  /** Send sequence variables (RFC 9293 §3.3.1); sndMax is the highest SND.NXT reached (go-back-N after RTO). */
  readonly iss: Uint32Array;
  readonly sndUna: Uint32Array;
  readonly sndNxt: Uint32Array;
  readonly sndMax: Uint32Array;
  readonly sndWnd: Uint32Array;
  readonly sndWl1: Uint32Array;
  readonly sndWl2: Uint32Array;
  readonly maxSndWnd: Uint32Array;
  readonly rcvNxt: Uint32Array;
  readonly lastAckSent: Uint32Array;
  readonly sndWs: Uint8Array;
  readonly rcvWs: Uint8Array;
  readonly sndMss: Uint16Array;
  readonly tsRecent: Uint32Array;
  /** Added to our timestamp clock on this connection (RFC 7323 §5.4: a random offset per connection). */
  readonly tsOff: Uint32Array;
  /** Times the SYN moved to another source port because the peer still held the tuple (connect.ts moveSyn). */
  readonly synMoves: Uint8Array;
  /** RTT estimator of RFC 6298 in µs. */
  readonly srtt: Int32Array;
  readonly rttvar: Int32Array;
  readonly rto: Int32Array;
  /** Consecutive RTO expiries (exponential backoff exponent and retry count). */
  readonly backoff: Uint8Array;
  readonly rttStartMs: Float64Array;
  /** Active open: when connect() sent the first SYN (µs), and SYN -> SYN-ACK once established (-1: passive or not yet). */
  readonly synAt: Float64Array;
  readonly connectUs: Float64Array;
  /** Congestion state (RFC 5681/6582). */
  readonly cwnd: Uint32Array;
  readonly ssthresh: Uint32Array;
  /** Bytes acknowledged in congestion avoidance towards the next SMSS of cwnd (RFC 3465). */
  readonly caAcked: Uint32Array;
  readonly recover: Uint32Array;
  readonly dupAcks: Uint8Array;
  /** Range of the retransmissions since SND.UNA last passed them all: a D-SACK inside it reports a spurious retransmission. */
  readonly rxtLo: Uint32Array;
  readonly rxtHi: Uint32Array;
  /** Loss-recovery state: CA_OPEN, CA_RECOVERY or CA_LOSS. */
  readonly ca: Uint8Array;
  /** Congestion controller of the connection (CC_NEWRENO, CC_CUBIC). */
  readonly ccAlgo: Uint8Array;
  /** RFC 8985 loss probe: TLP_ARMED when rtoAt is the PTO, else TLP_NONE (the probe's episode is RACK's). */
  readonly tlp: Uint8Array;
  /** Timer deadlines in ms, 0 = not armed. rtoAt doubles as persist and TIME_WAIT deadline. */
  readonly rtoAt: Float64Array;
  readonly dackAt: Float64Array;
  readonly kaAt: Float64Array;
  readonly kaProbes: Uint8Array;
  /** Data segments received since the last ACK we sent (delayed ACK counts to 2). */
  readonly unacked: Uint8Array;
  /** Out-of-order queue: chunk chain sorted by sequence. */
  readonly oooHead: Int32Array;
  readonly oooLast: Uint32Array;
  /** Chunks held by the out-of-order queue (bounded: tiny segments must not drain the shared pool). */
  readonly oooCount: Uint16Array;
  /** Sequence number of a FIN that arrived out of order (valid with F_OOO_FIN). */
  readonly oooFin: Uint32Array;
  /** Listener that created the connection, -1 for active opens. */
  readonly listener: Int32Array;
  readonly handler: (TcpHandler | null)[];
  /** Incremented on every alloc: callers detect a TCB freed (and maybe reused) inside an app callback. */
  readonly gen: Uint32Array;
  /** Free-list link. */
  private readonly nextFree: Int32Array;
  private freeHead: number;
  active = 0;
  private readonly table: Int32Array;
  private readonly mask: number;

  constructor(max: number) {
    if (!Number.isInteger(max) || max <= 0 || max > 1 << 24) throw new RangeError(`max connections must be in 1..${1 << 24}, got ${max}`);
    this.max = max;
    this.state = new Uint8Array(max);
    this.flags = new Uint16Array(max);
    this.localIp = new Uint32Array(max);
    this.remoteIp = new Uint32Array(max);
    this.localPort = new Uint16Array(max);
    this.remotePort = new Uint16Array(max);
    this.iss = new Uint32Array(max);
    this.sndUna = new Uint32Array(max);
    this.sndNxt = new Uint32Array(max);
    this.sndMax = new Uint32Array(max);
    this.sndWnd = new Uint32Array(max);
    this.sndWl1 = new Uint32Array(max);
    this.sndWl2 = new Uint32Array(max);
    this.maxSndWnd = new Uint32Array(max);
    this.rcvNxt = new Uint32Array(max);
    this.lastAckSent = new Uint32Array(max);
    this.sndWs = new Uint8Array(max);
    this.rcvWs = new Uint8Array(max);
    this.sndMss = new Uint16Array(max);
    this.tsRecent = new Uint32Array(max);
    this.tsOff = new Uint32Array(max);
    this.synMoves = new Uint8Array(max);
    this.srtt = new Int32Array(max);
    this.rttvar = new Int32Array(max);
    this.rto = new Int32Array(max);
    this.backoff = new Uint8Array(max);
    this.rttStartMs = new Float64Array(max);
    this.synAt = new Float64Array(max);
    this.connectUs = new Float64Array(max).fill(-1);
    this.cwnd = new Uint32Array(max);
    this.ssthresh = new Uint32Array(max);
    this.caAcked = new Uint32Array(max);
    this.recover = new Uint32Array(max);
    this.dupAcks = new Uint8Array(max);
    this.rxtLo = new Uint32Array(max);
    this.rxtHi = new Uint32Array(max);
    this.ca = new Uint8Array(max);
    this.ccAlgo = new Uint8Array(max);
    this.tlp = new Uint8Array(max);
    this.rtoAt = new Float64Array(max);
    this.dackAt = new Float64Array(max);
    this.kaAt = new Float64Array(max);
    this.kaProbes = new Uint8Array(max);
    this.unacked = new Uint8Array(max);
    this.oooHead = new Int32Array(max).fill(-1);
    this.oooLast = new Uint32Array(max);
    this.oooCount = new Uint16Array(max);
    this.oooFin = new Uint32Array(max);
    this.listener = new Int32Array(max).fill(-1);
    this.handler = new Array<TcpHandler | null>(max).fill(null);
    this.gen = new Uint32Array(max);
    this.nextFree = new Int32Array(max);
    for (let i = 0; i < max; i++) this.nextFree[i] = i + 1 < max ? i + 1 : -1;
    this.freeHead = 0;
    let cap = 2;
    while (cap < max * 2) cap <<= 1;
    this.table = new Int32Array(cap).fill(-1);
    this.mask = cap - 1;
  }

  /** A fresh TCB id in CLOSED state with its 4-tuple set and hashed, or -1 when the store is full. */
  alloc(localIp: number, localPort: number, remoteIp: number, remotePort: number): number {
    const c = this.freeHead;
    if (c < 0) return -1;
    this.freeHead = this.nextFree[c];
    this.active++;
    this.gen[c]++;
    this.state[c] = CLOSED;
    this.flags[c] = 0;
    this.localIp[c] = localIp;
    this.remoteIp[c] = remoteIp;
    this.localPort[c] = localPort;
    this.remotePort[c] = remotePort;
    this.backoff[c] = 0;
    this.dupAcks[c] = 0;
    this.ca[c] = CA_OPEN;
    this.tlp[c] = TLP_NONE;
    this.rtoAt[c] = 0;
    this.dackAt[c] = 0;
    this.kaAt[c] = 0;
    this.kaProbes[c] = 0;
    this.unacked[c] = 0;
    this.tsRecent[c] = 0;
    this.synMoves[c] = 0;
    this.srtt[c] = -1;
    this.rttvar[c] = 0;
    this.listener[c] = -1;
    this.hash(c);
    return c;
  }

  private hash(c: number): void {
    let i = hash4(this.localIp[c], this.localPort[c], this.remoteIp[c], this.remotePort[c]) & this.mask;
    while (this.table[i] >= 0) i = (i + 1) & this.mask;
    this.table[i] = c;
  }

  /** Unhashes and frees a TCB. Buffers and timers are the caller's to release first. */
  free(c: number): void {
    this.unhash(c);
    this.state[c] = CLOSED;
    this.handler[c] = null;
    this.nextFree[c] = this.freeHead;
    this.freeHead = c;
    this.active--;
  }

  /** Gives `c` another local address and port, rehashed. */
  rebind(c: number, localIp: number, localPort: number): void {
    this.unhash(c);
    this.localIp[c] = localIp;
    this.localPort[c] = localPort;
    this.hash(c);
  }

  lookup(localIp: number, localPort: number, remoteIp: number, remotePort: number): number {
    const t = this.table;
    let i = hash4(localIp, localPort, remoteIp, remotePort) & this.mask;
    for (;;) {
      const c = t[i];
      if (c < 0) return -1;
      if (
        this.remotePort[c] === remotePort &&
        this.remoteIp[c] === remoteIp >>> 0 &&
        this.localPort[c] === localPort &&
        this.localIp[c] === localIp >>> 0
      ) {
        return c;
      }
      i = (i + 1) & this.mask;
    }
  }

  /** Removes `c` from the hash with backward-shift deletion (Knuth 6.4 algorithm R). */
  private unhash(c: number): void {
    const t = this.table;
    const mask = this.mask;
    let i = hash4(this.localIp[c], this.localPort[c], this.remoteIp[c], this.remotePort[c]) & mask;
    while (t[i] !== c) {
      if (t[i] < 0) return;
      i = (i + 1) & mask;
    }
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const e = t[j];
      if (e < 0) break;
      const home = hash4(this.localIp[e], this.localPort[e], this.remoteIp[e], this.remotePort[e]) & mask;
      // Move e into the hole at i unless its home lies cyclically in (i, j].
      if (i <= j ? home <= i || home > j : home <= i && home > j) {
        t[i] = e;
        i = j;
      }
    }
    t[i] = -1;
  }
}

/**
 * Mixes a 4-tuple into a 32-bit hash (multiply-xorshift; flows differ mostly in
 * ports). Returned as int32, a small integer V8 does not box; callers mask it.
 */
export function hash4(localIp: number, localPort: number, remoteIp: number, remotePort: number): number {
  let h = Math.imul(localIp ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ remoteIp ^ (h >>> 15), 0xc2b2ae35);
  h = Math.imul(h ^ ((localPort << 16) | remotePort) ^ (h >>> 13), 0x27d4eb2f);
  return h ^ (h >>> 16);
}
