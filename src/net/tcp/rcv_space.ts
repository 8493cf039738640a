/**
 * Receive-window autotuning, as Linux's dynamic right-sizing
 * (tcp_rcv_space_adjust): a connection first offers `cfg.rcvBuf`; once per
 * round trip it compares the bytes the peer delivered in that trip with the
 * window, and when the peer sent more than half of it, the window grows to
 * twice the trip's bytes, up to `cfg.rcvBufMax`. A sender limited by our
 * window thus doubles it each RTT until the path limits it instead, and a
 * connection that never needed more keeps the small one (and the small bound
 * on the out-of-order chunks it may hold). The window never shrinks
 * (RFC 9293 §3.8.6.2.2).
 */
import type { TcpLayer } from './tcp_layer.js';

/** The measuring period while no RTT is known (µs): Linux's initial rcv_rtt guess is similar. */
const NO_RTT_PERIOD_US = 100_000;
/** Windows grow in whole multiples of this (bytes), so the scaled window field says them exactly. */
const GRANULE = 16 * 1024;

/** Starts the connection's window at the configured initial size. */
export function rcvSpaceInit(tcp: TcpLayer, c: number): void {
  const t = tcp.t;
  t.rcvSpace[c] = tcp.cfg.rcvBuf;
  t.rcvCopied[c] = 0;
  t.rcvMarkUs[c] = tcp.nowUs;
}

/** `len` in-order bytes went to the application: at a round trip's end, maybe grow the window. */
export function rcvSpaceOnData(tcp: TcpLayer, c: number, len: number): void {
  const t = tcp.t;
  const space = t.rcvSpace[c];
  const max = tcp.cfg.rcvBufMax;
  if (space >= max) return;
  const copied = t.rcvCopied[c] + len;
  const srtt = t.srtt[c];
  const period = srtt > 0 ? srtt : NO_RTT_PERIOD_US;
  if (tcp.nowUs - t.rcvMarkUs[c] < period) {
    t.rcvCopied[c] = copied;
    return;
  }
  t.rcvCopied[c] = 0;
  t.rcvMarkUs[c] = tcp.nowUs;
  if (2 * copied <= space) return;
  const want = Math.ceil((2 * copied) / GRANULE) * GRANULE;
  t.rcvSpace[c] = want < max ? want : max;
  tcp.counters.rcvWindowGrowths++;
}
