/**
 * Why a client connection or request failed: one reason per failure, so that
 * every failure is counted once. A connection that never became usable (TCP
 * and, over TLS, the handshake) is one failed connection; a usable connection
 * that ended with requests unanswered fails each of them. Codes index counter
 * arrays; keys name them in reports and JSON.
 */
import { CloseReason, TlsCloseReason } from '../../net/tcp/stream.js';
import { HTTP_ERR_NAMES } from './errors.js';

export const Fail = {
  /** RST to our SYN. */
  REFUSED: 0,
  /** RST on an open connection. */
  RESET: 1,
  /** Not open within --connect-timeout (or the SYN retries ran out). */
  CONNECT_TIMEOUT: 2,
  /** Retransmissions of an open connection ran out. */
  RETRANSMIT_TIMEOUT: 3,
  /** ICMP unreachable while connecting, or no route or neighbour. */
  UNREACHABLE: 4,
  TLS_TIMEOUT: 5,
  TLS_VERIFY: 6,
  /** A TLS alert or a bad record. */
  TLS_ERROR: 7,
  /** The oldest request's response not complete within --response-timeout. */
  RESPONSE_TIMEOUT: 8,
  /** The response did not parse: the connection is aborted. */
  HTTP_PARSE: 9,
  /** The peer closed (FIN) before the connection was up, or with requests unanswered. */
  CLOSED_EARLY: 10,
  /** No connection slot or source port free here (connect() refused locally). */
  LOCAL: 11,
} as const;

export const FAIL_COUNT = 12;

/** Report and JSON keys by code (camelCase). */
export const FAIL_KEYS: readonly string[] = [
  'refused', 'reset', 'connectTimeout', 'retransmitTimeout', 'unreachable', 'tlsTimeout', 'tlsVerify', 'tlsError',
  'responseTimeout', 'httpParse', 'closedEarly', 'local',
];

const FAIL_TEXT: readonly string[] = [
  'connection refused (RST to SYN)', 'connection reset by peer', 'connect timeout', 'retransmissions timed out', 'host unreachable (ICMP, or no ARP answer)',
  'TLS handshake timeout', 'TLS certificate verify failed', 'TLS error', 'response timeout', 'HTTP parse error',
  'closed by peer with requests unanswered', 'no free connection or source port',
];

/** What a failure of `code` says, toward `peer` ("198.18.52.1:80"). */
export function failText(code: number, peer: string): string {
  return `${FAIL_TEXT[code]} (${peer})`;
}

/** The message of a parse error, by HttpErr code. */
export const PARSE_FAIL_TEXT: readonly string[] = HTTP_ERR_NAMES.map((n) => `HTTP parse error: ${n}`);

/**
 * The reason of a connection that closed with no failure of the client's own:
 * -1 when it is none (an open connection closed with nothing outstanding, or
 * one cancelled by stop()). `usable`: it had connected (TLS included).
 */
export function failOfClose(reason: number, usable: boolean, outstanding: number): number {
  if (usable && outstanding === 0) return -1;
  switch (reason) {
    case CloseReason.REFUSED:
      return Fail.REFUSED;
    case CloseReason.RESET:
      return Fail.RESET;
    case CloseReason.TIMEOUT:
      return usable ? Fail.RETRANSMIT_TIMEOUT : Fail.CONNECT_TIMEOUT;
    case CloseReason.UNREACHABLE:
      return Fail.UNREACHABLE;
    case TlsCloseReason.TLS_TIMEOUT:
      return Fail.TLS_TIMEOUT;
    case TlsCloseReason.TLS_VERIFY:
      return Fail.TLS_VERIFY;
    case TlsCloseReason.TLS_ERROR:
      return Fail.TLS_ERROR;
    default:
      // NORMAL (the peer's FIN), ABORTED (a layer below gave up without a reason of its own).
      return Fail.CLOSED_EARLY;
  }
}
