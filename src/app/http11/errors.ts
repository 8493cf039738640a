/**
 * Coded HTTP/1.1 parse errors, one table for requests and responses (in the
 * manner of fastify's error table): a stable number for counters, a name for
 * logs, and the response status a server answers with before closing.
 * Codes index counter arrays, so they stay dense from 0.
 */
export const HttpErr = {
  NONE: 0,
  BAD_VERSION: 1,
  BAD_STATUS: 2,
  BAD_METHOD: 3,
  BAD_TARGET: 4,
  BAD_START_LINE: 5,
  BAD_HEADER_NAME: 6,
  BAD_HEADER_VALUE: 7,
  OBS_FOLD: 8,
  BAD_LINE_ENDING: 9,
  HEADERS_TOO_LARGE: 10,
  TOO_MANY_HEADERS: 11,
  BAD_CONTENT_LENGTH: 12,
  DUP_CONTENT_LENGTH: 13,
  CL_AND_TE: 14,
  BAD_TRANSFER_ENCODING: 15,
  BAD_CHUNK_SIZE: 16,
  BAD_CHUNK_END: 17,
  BODY_TOO_LARGE: 18,
  TRUNCATED_BODY: 19,
  UNEXPECTED_DATA: 20,
  UPGRADE_UNSUPPORTED: 21,
  BAD_HOST: 22,
} as const;

export const HTTP_ERR_COUNT = 23;

/** Names indexed by code; tests and reports print these. */
export const HTTP_ERR_NAMES: readonly string[] = Object.keys(HttpErr);

/** What a server answers before closing on each request error (RFC 9110 §15). */
export function errStatus(code: number): number {
  if (code === HttpErr.HEADERS_TOO_LARGE || code === HttpErr.TOO_MANY_HEADERS) return 431;
  if (code === HttpErr.BODY_TOO_LARGE) return 413;
  if (code === HttpErr.BAD_VERSION) return 505;
  return 400;
}
