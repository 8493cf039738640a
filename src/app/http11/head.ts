/**
 * What the parser learned from a message head (start line and header fields).
 * One instance per parser, reset per message; numbers only, -1 when absent.
 */
export const METHOD_OTHER = 0;
export const METHOD_GET = 1;
export const METHOD_HEAD = 2;
export const METHOD_POST = 3;
export const METHOD_PUT = 4;
export const METHOD_DELETE = 5;
export const METHOD_OPTIONS = 6;
export const METHOD_PATCH = 7;
export const METHOD_CONNECT = 8;
export const METHOD_TRACE = 9;

export const METHOD_NAMES: readonly string[] = [
  '', 'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'CONNECT', 'TRACE',
];

/** Target buffer of a new head. */
const TARGET_START = 128;

export class MessageHead {
  /** 10 for HTTP/1.0, 11 for HTTP/1.1. */
  version = 11;
  /** Response status code, or -1 for requests. */
  status = -1;
  /** METHOD_* for requests, -1 for responses. */
  method = -1;
  /** Request-target bytes live in `target[0..targetLen)`; valid until the next message. */
  target: Uint8Array;
  targetLen = 0;
  /** Content-Length value, or -1 when absent. */
  contentLength = -1;
  /** Transfer-Encoding ends in chunked (RFC 9112 §6.1). */
  chunked = false;
  /** A Transfer-Encoding field was present at all. */
  hasTransferEncoding = false;
  /** Connection: close seen / Connection: keep-alive seen. */
  connClose = false;
  connKeepAlive = false;
  hostCount = 0;
  headerCount = 0;

  constructor(readonly maxTarget: number) {
    // Grown on demand (targetRoom): most targets are short, and a connection's state stays small.
    this.target = new Uint8Array(Math.min(TARGET_START, maxTarget));
  }

  /** Makes `target` hold `len` bytes (len <= maxTarget). */
  targetRoom(len: number): Uint8Array {
    if (len > this.target.length) {
      let size = this.target.length * 2;
      while (size < len) size *= 2;
      this.target = new Uint8Array(Math.min(size, this.maxTarget));
    }
    return this.target;
  }

  reset(): void {
    this.version = 11;
    this.status = -1;
    this.method = -1;
    this.targetLen = 0;
    this.contentLength = -1;
    this.chunked = false;
    this.hasTransferEncoding = false;
    this.connClose = false;
    this.connKeepAlive = false;
    this.hostCount = 0;
    this.headerCount = 0;
  }

  /** Persistence per RFC 9112 §9.3: 1.1 persists unless "close", 1.0 only with "keep-alive". */
  keepAlive(): boolean {
    if (this.connClose) return false;
    return this.version === 11 || this.connKeepAlive;
  }
}
