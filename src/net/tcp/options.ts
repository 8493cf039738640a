/**
 * Option negotiation on the handshake (RFC 9293 §3.7.1 MSS, RFC 7323 window
 * scale and timestamps, RFC 2018 SACK-permitted) and the options each
 * outgoing segment carries.
 */
import type { TcpOptionsRepr } from '../../wire/tcp_options.js';
import { TCP_MAX_WSCALE } from '../../wire/tcp_options.js';
import type { TcpConfig } from './config.js';
import { F_SACK, F_TS, F_WS, type TcbStore } from './tcb.js';

/** RFC 9293 §3.7.1: without an MSS option the sender assumes 536. */
export const DEFAULT_MSS = 536;
/** Bytes the timestamp option takes in every segment once negotiated. */
export const TS_OPT_LEN = 12;

/** Applies the options of the peer's SYN or SYN-ACK to TCB `c`. */
export function negotiate(t: TcbStore, cfg: TcpConfig, c: number, o: TcpOptionsRepr): void {
  let f = t.flags[c] & ~(F_TS | F_SACK | F_WS);
  let mss = o.mss > 0 ? o.mss : DEFAULT_MSS;
  if (mss > cfg.mss) mss = cfg.mss;
  if (cfg.windowScale && o.wscale >= 0) {
    f |= F_WS;
    // RFC 7323 §2.3: a shift above 14 is used as 14.
    t.sndWs[c] = o.wscale > TCP_MAX_WSCALE ? TCP_MAX_WSCALE : o.wscale;
    t.rcvWs[c] = cfg.rcvWs;
  } else {
    t.sndWs[c] = 0;
    t.rcvWs[c] = 0;
  }
  if (cfg.sack && o.sackPermitted) f |= F_SACK;
  if (cfg.timestamps && o.hasTimestamps) {
    f |= F_TS;
    t.tsRecent[c] = o.tsVal;
    mss -= TS_OPT_LEN; // payload per segment, as Linux's mss_cache
  }
  t.sndMss[c] = mss;
  t.flags[c] = f;
}

/**
 * Fills `o` with the options of a segment of `c`. A SYN from an active open
 * offers what the configuration enables; a SYN-ACK answers only what the
 * peer's SYN offered (already in the flags).
 */
export function fillOptions(t: TcbStore, cfg: TcpConfig, c: number, syn: boolean, activeSyn: boolean, tsVal: number, o: TcpOptionsRepr): void {
  const f = t.flags[c];
  o.sackCount = 0;
  if (syn) {
    o.mss = cfg.mss;
    o.wscale = activeSyn ? (cfg.windowScale ? cfg.rcvWs : -1) : (f & F_WS) !== 0 ? cfg.rcvWs : -1;
    o.sackPermitted = activeSyn ? cfg.sack : (f & F_SACK) !== 0;
    o.hasTimestamps = activeSyn ? cfg.timestamps : (f & F_TS) !== 0;
  } else {
    o.mss = -1;
    o.wscale = -1;
    o.sackPermitted = false;
    o.hasTimestamps = (f & F_TS) !== 0;
  }
  if (o.hasTimestamps) {
    o.tsVal = tsVal;
    o.tsEcr = syn && activeSyn ? 0 : t.tsRecent[c];
  }
}
