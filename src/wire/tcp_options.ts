/**
 * TCP options: EOL, NOP, MSS (RFC 9293 §3.2), window scale and timestamps
 * (RFC 7323 §2.2, §3.2), SACK-permitted and SACK blocks (RFC 2018 §2, §3).
 * Unknown kinds are skipped by their length, as RFC 9293 §3.2 requires.
 */
import { WireError } from './error.js';

export const TCP_OPT_EOL = 0;
export const TCP_OPT_NOP = 1;
export const TCP_OPT_MSS = 2;
export const TCP_OPT_WSCALE = 3;
export const TCP_OPT_SACK_PERMITTED = 4;
export const TCP_OPT_SACK = 5;
export const TCP_OPT_TIMESTAMPS = 8;

export const TCP_OPT_MSS_LEN = 4;
export const TCP_OPT_WSCALE_LEN = 3;
export const TCP_OPT_SACK_PERMITTED_LEN = 2;
export const TCP_OPT_TIMESTAMPS_LEN = 10;
/** Room for options: 60-byte maximum header minus the fixed 20. */
export const TCP_OPT_MAX_LEN = 40;
/** A SACK option of 2 + 8n bytes fits at most 4 blocks in 40 bytes. */
export const TCP_MAX_SACK_BLOCKS = 4;
const NOP_NOP_TIMESTAMPS = 0x0101080a;
const SACK_PERMITTED_TIMESTAMPS = 0x0402080a;
/** Largest shift RFC 7323 §2.3 allows; larger received values are kept raw for the TCP layer to clamp. */
export const TCP_MAX_WSCALE = 14;

export interface TcpOptionsRepr {
  /** -1 when absent. */
  mss: number;
  /** Shift count, -1 when absent. */
  wscale: number;
  sackPermitted: boolean;
  hasTimestamps: boolean;
  tsVal: number;
  tsEcr: number;
  sackCount: number;
  /** `sackCount` (left, right) edge pairs. */
  sackBlocks: Uint32Array;
}

export function newTcpOptionsRepr(): TcpOptionsRepr {
  return {
    mss: -1,
    wscale: -1,
    sackPermitted: false,
    hasTimestamps: false,
    tsVal: 0,
    tsEcr: 0,
    sackCount: 0,
    sackBlocks: new Uint32Array(2 * TCP_MAX_SACK_BLOCKS),
  };
}

/**
 * Parses `len` option bytes at `off` (TcpRepr.optOff/optLen). An option with a
 * length field below 2, a length that overruns the option space, a kind whose
 * length is wrong, or a kind byte with no room for its length is BAD_OPTION.
 * Processing stops at EOL. A repeated option overrides the earlier one. On an
 * error `out` is partly filled and must not be used.
 */
export function parseTcpOptions(dv: DataView, off: number, len: number, out: TcpOptionsRepr): number {
  out.mss = -1;
  out.wscale = -1;
  out.sackPermitted = false;
  out.sackCount = 0;
  // Nearly every segment of an established connection carries exactly NOP NOP
  // timestamps (RFC 7323 Appendix A). Matching it whole keeps this function small
  // enough to be inlined into the receive path; the rest walks the list.
  if (len === 12 && dv.getUint32(off) === NOP_NOP_TIMESTAMPS) {
    out.hasTimestamps = true;
    out.tsVal = dv.getUint32(off + 4);
    out.tsEcr = dv.getUint32(off + 8);
    return WireError.OK;
  }
  out.hasTimestamps = false;
  out.tsVal = 0;
  out.tsEcr = 0;
  return parseOptionList(dv, off, off + len, out);
}

/** Walks the options in `[i, end)`; `out` holds the defaults on entry. */
function parseOptionList(dv: DataView, i: number, end: number, out: TcpOptionsRepr): number {
  while (i < end) {
    const kind = dv.getUint8(i);
    if (kind === TCP_OPT_EOL) break;
    if (kind === TCP_OPT_NOP) {
      i++;
      continue;
    }
    if (i + 1 >= end) return WireError.BAD_OPTION;
    const l = dv.getUint8(i + 1);
    if (l < 2 || i + l > end) return WireError.BAD_OPTION;
    switch (kind) {
      case TCP_OPT_MSS:
        if (l !== TCP_OPT_MSS_LEN) return WireError.BAD_OPTION;
        out.mss = dv.getUint16(i + 2);
        break;
      case TCP_OPT_WSCALE:
        if (l !== TCP_OPT_WSCALE_LEN) return WireError.BAD_OPTION;
        out.wscale = dv.getUint8(i + 2);
        break;
      case TCP_OPT_SACK_PERMITTED:
        if (l !== TCP_OPT_SACK_PERMITTED_LEN) return WireError.BAD_OPTION;
        out.sackPermitted = true;
        break;
      case TCP_OPT_TIMESTAMPS:
        if (l !== TCP_OPT_TIMESTAMPS_LEN) return WireError.BAD_OPTION;
        out.hasTimestamps = true;
        out.tsVal = dv.getUint32(i + 2);
        out.tsEcr = dv.getUint32(i + 6);
        break;
      case TCP_OPT_SACK: {
        // RFC 2018 §3: length 2 + 8n, n >= 1; 40 bytes bound n to 4.
        if (l < 10 || ((l - 2) & 7) !== 0) return WireError.BAD_OPTION;
        const n = (l - 2) >>> 3;
        const b = out.sackBlocks;
        for (let k = 0; k < n; k++) {
          b[2 * k] = dv.getUint32(i + 2 + 8 * k);
          b[2 * k + 1] = dv.getUint32(i + 6 + 8 * k);
        }
        out.sackCount = n;
        break;
      }
      default:
        break;
    }
    i += l;
  }
  return WireError.OK;
}

/** SACK blocks that fit beside the other options in 40 bytes (RFC 2018 §3: 3 with timestamps). */
function sackBlocksToEmit(repr: TcpOptionsRepr, used: number): number {
  const room = (TCP_OPT_MAX_LEN - used - 4) >> 3;
  const n = repr.sackCount < TCP_MAX_SACK_BLOCKS ? repr.sackCount : TCP_MAX_SACK_BLOCKS;
  return n < room ? n : room > 0 ? room : 0;
}

/** Bytes of the options other than SACK blocks, as emitTcpOptions lays them out. */
function fixedOptionsLen(repr: TcpOptionsRepr): number {
  return (
    (repr.mss >= 0 ? 4 : 0) +
    (repr.hasTimestamps ? 12 : repr.sackPermitted ? 4 : 0) +
    (repr.wscale >= 0 ? 4 : 0)
  );
}

/** Length emitTcpOptions will write: a multiple of 4, at most 40. */
export function tcpOptionsLen(repr: TcpOptionsRepr): number {
  const used = fixedOptionsLen(repr);
  const n = sackBlocksToEmit(repr, used);
  return used + (n > 0 ? 4 + 8 * n : 0);
}

/**
 * Writes the options in Linux's order and padding (tcp_options_write): MSS;
 * SACK-permitted + timestamps (or NOP NOP timestamps, or NOP NOP SACK-permitted);
 * NOP window scale; NOP NOP SACK blocks. Every piece is 4-byte aligned, so
 * no trailing padding is needed. Returns the bytes written (tcpOptionsLen).
 */
export function emitTcpOptions(repr: TcpOptionsRepr, dv: DataView, off: number): number {
  let i = off;
  if (repr.mss >= 0) {
    dv.setUint16(i, (TCP_OPT_MSS << 8) | TCP_OPT_MSS_LEN);
    dv.setUint16(i + 2, repr.mss);
    i += 4;
  }
  if (repr.hasTimestamps) {
    dv.setUint32(i, repr.sackPermitted ? SACK_PERMITTED_TIMESTAMPS : NOP_NOP_TIMESTAMPS);
    dv.setUint32(i + 4, repr.tsVal);
    dv.setUint32(i + 8, repr.tsEcr);
    i += 12;
  } else if (repr.sackPermitted) {
    dv.setUint32(i, 0x01010000 | (TCP_OPT_SACK_PERMITTED << 8) | TCP_OPT_SACK_PERMITTED_LEN);
    i += 4;
  }
  if (repr.wscale >= 0) {
    dv.setUint32(i, 0x01000000 | (TCP_OPT_WSCALE << 16) | (TCP_OPT_WSCALE_LEN << 8) | (repr.wscale & 0xff));
    i += 4;
  }
  const n = sackBlocksToEmit(repr, i - off);
  if (n > 0) {
    dv.setUint32(i, 0x01010000 | (TCP_OPT_SACK << 8) | (2 + 8 * n));
    i += 4;
    const b = repr.sackBlocks;
    for (let k = 0; k < 2 * n; k++, i += 4) dv.setUint32(i, b[k]);
  }
  return i - off;
}
