/**
 * Explicit Congestion Notification (RFC 3168 §6.1): negotiated on the
 * handshake, then new data leaves marked ECN-capable (ECT(0)); a receiver
 * that sees a Congestion Experienced mark echoes ECE on its ACKs until the
 * sender's CWR; a sender told of congestion reduces its window as for a loss,
 * once per window of data, and says so with CWR. Like Linux's tcp_ecn, the
 * mode is off, passive (agree when the peer asks: Linux's default) or on
 * (ask on our SYNs too).
 */
import { TCP_ACK, TCP_CWR, TCP_ECE, TCP_RST, TCP_SYN } from '../../wire/tcp.js';
import { seqLt } from './seq.js';
import { CA_OPEN } from './tcb.js';
import type { TcpLayer } from './tcp_layer.js';

export const ECN_MODES = ['off', 'passive', 'on'] as const;
export type EcnMode = (typeof ECN_MODES)[number];
export const ECN_OFF = 0;
export const ECN_PASSIVE = 1;
export const ECN_ON = 2;

/** TcbStore.ecn bits: negotiated; an ECE owed on our ACKs; a CWR owed on our next new data. */
const ECN_OK = 1;
const ECN_ECE_OWED = 2;
const ECN_CWR_OWED = 4;

/** The IP ECN field: ECT(0) on what we send (§5), CE as routers mark it. */
const ECT0 = 2;
const CE = 3;

/** A new connection: nothing negotiated, and a reduction may come at once. */
export function ecnInit(tcp: TcpLayer, c: number, iss: number): void {
  tcp.t.ecn[c] = 0;
  tcp.t.ecnHigh[c] = iss;
}

/** §6.1.1: a SYN with ECE and CWR asks; a passive open agrees unless ECN is off. */
export function ecnOnSyn(tcp: TcpLayer, c: number, flags: number): void {
  if (tcp.cfg.ecn !== ECN_OFF && (flags & (TCP_ECE | TCP_CWR)) === (TCP_ECE | TCP_CWR)) tcp.t.ecn[c] = ECN_OK;
}

/** §6.1.1: our ECN-setup SYN is agreed to by a SYN-ACK with ECE and without CWR. */
export function ecnOnSynAck(tcp: TcpLayer, c: number, flags: number): void {
  if (tcp.cfg.ecn === ECN_ON && (flags & (TCP_ECE | TCP_CWR)) === TCP_ECE) tcp.t.ecn[c] = ECN_OK;
}

/** The IP header's ECN field of the segment being processed said CE (TcpLayer.input). */
export function isCe(tos: number): boolean {
  return (tos & CE) === CE;
}

/** §6.1.3: a data segment arrived (`ce`: marked on the way): owe ECE from a CE mark until the sender's CWR. */
export function ecnOnData(tcp: TcpLayer, c: number, flags: number, ce: boolean): void {
  const t = tcp.t;
  if ((t.ecn[c] & ECN_OK) === 0) return;
  if ((flags & TCP_CWR) !== 0) t.ecn[c] &= ~ECN_ECE_OWED;
  if (ce) {
    t.ecn[c] |= ECN_ECE_OWED;
    tcp.counters.ecnCeIn++;
  }
}

/** §6.1.2: an ACK with ECE reduces the window as a loss would, once per window of data, and owes a CWR. */
export function ecnOnAck(tcp: TcpLayer, c: number, flags: number): void {
  const t = tcp.t;
  if ((t.ecn[c] & ECN_OK) === 0 || (flags & TCP_ECE) === 0) return;
  // Within the window of the last reduction, or in loss recovery (which reduced already): nothing more.
  if (seqLt(t.sndUna[c], t.ecnHigh[c]) || t.ca[c] !== CA_OPEN) return;
  tcp.ccOf(c).enterRecovery(c, true);
  t.ecnHigh[c] = t.sndNxt[c];
  t.ecn[c] |= ECN_CWR_OWED;
  tcp.counters.ecnReductions++;
}

/** The TCP flags of an outgoing segment of `c` with ECN's added: the setup on SYNs, ECE while owed, CWR once on new data. */
export function ecnFlags(tcp: TcpLayer, c: number, flags: number, newData: boolean): number {
  if ((flags & TCP_RST) !== 0) return flags;
  const t = tcp.t;
  const e = t.ecn[c];
  if ((flags & TCP_SYN) !== 0) {
    if ((flags & TCP_ACK) === 0) return tcp.cfg.ecn === ECN_ON ? flags | TCP_ECE | TCP_CWR : flags;
    return (e & ECN_OK) !== 0 ? flags | TCP_ECE : flags;
  }
  if ((e & ECN_OK) === 0) return flags;
  if ((e & ECN_ECE_OWED) !== 0 && (flags & TCP_ACK) !== 0) flags |= TCP_ECE;
  if ((e & ECN_CWR_OWED) !== 0 && newData) {
    flags |= TCP_CWR;
    t.ecn[c] = e & ~ECN_CWR_OWED;
  }
  return flags;
}

/** The IPv4 TOS byte of an outgoing segment: ECT(0) on new data of an ECN connection (§6.1.5: never on retransmissions, pure ACKs or SYNs). */
export function ecnTos(tcp: TcpLayer, c: number, newData: boolean): number {
  const tos = tcp.t.tos[c];
  return newData && (tcp.t.ecn[c] & ECN_OK) !== 0 ? tos | ECT0 : tos;
}
