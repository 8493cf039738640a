/**
 * Result codes of the checked parsers. A parser returns one of these instead of
 * throwing: bad input on the packet path is counted and dropped, never fatal.
 */
export const WireError = {
  OK: 0,
  /** Fewer bytes than the fixed part of the header. */
  TRUNCATED: 1,
  BAD_VERSION: 2,
  /** A header-length field below the minimum or beyond the bytes at hand. */
  BAD_HEADER_LEN: 3,
  /** A total-length field below the header length or beyond the bytes at hand. */
  BAD_TOTAL_LEN: 4,
  BAD_CHECKSUM: 5,
  /** An option whose length is 0, 1, wrong for its kind, or overruns the option space. */
  BAD_OPTION: 6,
  /** A type/opcode field this codec does not define. */
  BAD_TYPE: 7,
  /** Well-formed, but outside what the stack handles (non-Ethernet ARP, stacked VLAN tags). */
  UNSUPPORTED: 8,
} as const;

export type WireErrorCode = (typeof WireError)[keyof typeof WireError];

const NAMES = [
  'OK',
  'TRUNCATED',
  'BAD_VERSION',
  'BAD_HEADER_LEN',
  'BAD_TOTAL_LEN',
  'BAD_CHECKSUM',
  'BAD_OPTION',
  'BAD_TYPE',
  'UNSUPPORTED',
] as const;

/** The constant's name for logs and counters' labels; `UNKNOWN(n)` for codes outside the table. */
export function wireErrorName(code: number): string {
  return Number.isInteger(code) && code >= 0 && code < NAMES.length ? NAMES[code] : `UNKNOWN(${code})`;
}
