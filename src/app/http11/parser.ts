/**
 * Incremental, strict HTTP/1.1 message parser (RFC 9112) for requests or
 * responses, fed bytes as they arrive and working on them in place: lines are
 * parsed where they lie, and copied to a line buffer only when split across
 * reads. Bodies are handed to the sink, never buffered. The first violation
 * stops the parser with a coded error (errors.ts); the owner closes the
 * connection.
 */
import { HttpErr } from './errors.js';
import { ascii, CR, eqLower, FIELD_BYTE, hexVal, HTAB, LF, SP, TCHAR } from './chars.js';
import { MessageHead } from './head.js';
import { parseRequestLine, parseStatusLine } from './start_line.js';

export const KIND_REQUEST = 0;
export const KIND_RESPONSE = 1;

export interface ParserSink {
  /** Head complete (also for each 1xx). Return true when the message has no body (response to HEAD). */
  onHead(h: MessageHead): boolean;
  /** Each header field, only when the parser was built with `headers: true`; bytes valid during the call. */
  onHeader(buf: Uint8Array, nameOff: number, nameLen: number, valOff: number, valLen: number): void;
  onBody(buf: Uint8Array, off: number, len: number): void;
  onComplete(h: MessageHead): void;
  onError(code: number): void;
}

export interface ParserOptions {
  /** Start line plus header section, CRLFs included (llhttp's default is 16 KiB too). */
  maxHeaderBytes: number;
  maxHeaders: number;
  maxBodyBytes: number;
  maxTarget: number;
  /** Deliver every header field to sink.onHeader. */
  headers: boolean;
}

export const DEFAULT_PARSER_OPTIONS: ParserOptions = {
  maxHeaderBytes: 16384,
  maxHeaders: 100,
  maxBodyBytes: Number.MAX_SAFE_INTEGER,
  maxTarget: 8192,
  headers: false,
};

const S_START = 0;
const S_HEADER = 1;
const S_BODY_LEN = 2;
const S_CHUNK_SIZE = 3;
const S_CHUNK_DATA = 4;
const S_CHUNK_CR = 5;
const S_CHUNK_LF = 6;
const S_TRAILER = 7;
const S_BODY_CLOSE = 8;
const S_DEAD = 9;

const H_CONTENT_LENGTH = ascii('content-length');
const H_TRANSFER_ENCODING = ascii('transfer-encoding');
const H_CONNECTION = ascii('connection');
/** The lists whose elements the parser reads (listItems). */
const LIST_TRANSFER_ENCODING = 0;
const LIST_CONNECTION = 1;
const H_HOST = ascii('host');
const T_CHUNKED = ascii('chunked');
const T_CLOSE = ascii('close');
const T_KEEP_ALIVE = ascii('keep-alive');

/** Line buffer of a new parser; it doubles, up to maxHeaderBytes, when a longer line splits across reads. */
const LINE_START = 256;

/** Hex digits in a chunk size before it could exceed 2^53 (RFC 9112 §7.1 leaves the bound to us). */
const MAX_CHUNK_HEX = 13;

export class Http1Parser {
  readonly kind: number;
  readonly head: MessageHead;
  /** Code of the error that stopped the parser, or HttpErr.NONE. */
  error: number = HttpErr.NONE;
  /** Body bytes of the current message so far. */
  bodyBytes = 0;
  /** Whether the connection may carry another message after the last complete one. */
  keepAlive = true;
  private readonly sink: ParserSink;
  private readonly opt: ParserOptions;
  private state = S_START;
  private line: Uint8Array;
  private lineLen = 0;
  /** Head (or trailer section) bytes so far, against maxHeaderBytes. */
  private headBytes = 0;
  private remaining = 0;

  constructor(kind: number, sink: ParserSink, opt: ParserOptions = DEFAULT_PARSER_OPTIONS) {
    this.kind = kind;
    this.sink = sink;
    this.opt = opt;
    this.head = new MessageHead(opt.maxTarget);
    this.line = new Uint8Array(Math.min(LINE_START, opt.maxHeaderBytes));
  }

  /** Ready for a new connection. */
  reset(): void {
    this.error = HttpErr.NONE;
    this.state = S_START;
    this.lineLen = 0;
    this.headBytes = 0;
    this.bodyBytes = 0;
    this.remaining = 0;
    this.keepAlive = true;
    this.head.reset();
  }

  /** True between messages (nothing of a next message received yet). */
  idle(): boolean {
    return this.state === S_START && this.headBytes === 0 && this.lineLen === 0;
  }

  /** Consumes buf[off..off+len); stops at the first error (see `error`). */
  feed(buf: Uint8Array, off: number, len: number): void {
    let i = off;
    const end = off + len;
    while (i < end) {
      const st = this.state;
      if (st === S_BODY_LEN || st === S_CHUNK_DATA) {
        const n = Math.min(this.remaining, end - i);
        this.bodyBytes += n;
        this.remaining -= n;
        this.sink.onBody(buf, i, n);
        i += n;
        if (this.remaining === 0) {
          if (st === S_BODY_LEN) this.complete();
          else this.state = S_CHUNK_CR;
        }
        continue;
      }
      if (st === S_CHUNK_CR || st === S_CHUNK_LF) {
        // RFC 9112 §7.1: chunk-data is followed by exactly CRLF.
        if (buf[i] !== (st === S_CHUNK_CR ? CR : LF)) return this.fail(HttpErr.BAD_CHUNK_END);
        i++;
        if (st === S_CHUNK_CR) {
          this.state = S_CHUNK_LF;
        } else {
          this.state = S_CHUNK_SIZE;
          this.headBytes = 0;
        }
        continue;
      }
      if (st === S_BODY_CLOSE) {
        const n = end - i;
        this.bodyBytes += n;
        if (this.bodyBytes > this.opt.maxBodyBytes) return this.fail(HttpErr.BODY_TOO_LARGE);
        this.sink.onBody(buf, i, n);
        return;
      }
      if (st === S_DEAD) {
        // Bytes after a response that ended the connection are a framing error;
        // after a request with "Connection: close" the server is done reading.
        if (this.error === HttpErr.NONE && this.kind === KIND_RESPONSE) this.fail(HttpErr.UNEXPECTED_DATA);
        return;
      }
      // Line states: start line, header fields, chunk size, trailer fields.
      let j = i;
      while (j < end && buf[j] !== LF) j++;
      const room = this.opt.maxHeaderBytes - this.headBytes;
      if (j === end) {
        const n = end - i;
        if (this.lineLen + n > room) return this.fail(this.overflowCode());
        this.append(buf, i, end);
        return;
      }
      let lb = buf;
      let ls = i;
      let le = j;
      if (this.lineLen > 0) {
        const n = j - i;
        if (this.lineLen + n + 1 > room) return this.fail(this.overflowCode());
        this.append(buf, i, j);
        lb = this.line;
        ls = 0;
        le = this.lineLen;
      } else if (j - i + 1 > room) {
        return this.fail(this.overflowCode());
      }
      this.headBytes += le - ls + 1;
      this.lineLen = 0;
      i = j + 1;
      // RFC 9112 §2.2: a bare LF is tolerated by some parsers; we (and llhttp) require CRLF.
      if (le === ls || lb[le - 1] !== CR) return this.fail(HttpErr.BAD_LINE_ENDING);
      const code = this.onLine(lb, ls, le - 1);
      if (code !== HttpErr.NONE) return this.fail(code);
    }
  }

  /** Reads nothing more until `reset` (the owner dropped the connection, maybe inside a sink callback). */
  stop(): void {
    this.state = S_DEAD;
    this.keepAlive = false;
  }

  /** The peer closed: completes a close-delimited body (RFC 9112 §6.3 rule 8); returns an error code. */
  finish(): number {
    if (this.error !== HttpErr.NONE) return this.error;
    if (this.state === S_BODY_CLOSE) {
      this.complete();
      return HttpErr.NONE;
    }
    if (this.state === S_DEAD || this.idle()) return HttpErr.NONE;
    this.fail(HttpErr.TRUNCATED_BODY);
    return this.error;
  }

  /** Keeps the part of a line split across reads (a byte loop: no view per read). */
  private append(buf: Uint8Array, s: number, e: number): void {
    let n = this.lineLen;
    if (n + e - s > this.line.length) this.growLine(n + e - s);
    const line = this.line;
    for (let k = s; k < e; k++) line[n++] = buf[k];
    this.lineLen = n;
  }

  /** Room for `need` bytes (the callers keep it within maxHeaderBytes). */
  private growLine(need: number): void {
    let size = this.line.length * 2;
    while (size < need) size *= 2;
    const line = new Uint8Array(Math.min(size, this.opt.maxHeaderBytes));
    line.set(this.line.subarray(0, this.lineLen));
    this.line = line;
  }

  private overflowCode(): number {
    return this.state === S_CHUNK_SIZE ? HttpErr.BAD_CHUNK_SIZE : HttpErr.HEADERS_TOO_LARGE;
  }

  private fail(code: number): void {
    this.error = code;
    this.state = S_DEAD;
    this.keepAlive = false;
    this.sink.onError(code);
  }

  private onLine(b: Uint8Array, s: number, e: number): number {
    switch (this.state) {
      case S_START:
        if (s === e) {
          // RFC 9112 §2.2: empty lines before a request-line are ignored; llhttp does the same for status lines.
          this.headBytes = 0;
          return HttpErr.NONE;
        }
        this.head.reset();
        this.bodyBytes = 0;
        this.state = S_HEADER;
        return this.kind === KIND_REQUEST ? parseRequestLine(b, s, e, this.head) : parseStatusLine(b, s, e, this.head);
      case S_HEADER:
        return s === e ? this.headersDone() : this.headerLine(b, s, e, false);
      case S_CHUNK_SIZE:
        return this.chunkSize(b, s, e);
      default: // S_TRAILER
        if (s !== e) return this.headerLine(b, s, e, true);
        this.complete();
        return HttpErr.NONE;
    }
  }

  /** field-line = field-name ":" OWS field-value OWS (RFC 9112 §5). */
  private headerLine(b: Uint8Array, s: number, e: number, trailer: boolean): number {
    const h = this.head;
    // RFC 9112 §5.2: obsolete line folding is rejected.
    if (b[s] === SP || b[s] === HTAB) return HttpErr.OBS_FOLD;
    let i = s;
    while (i < e && TCHAR[b[i]] === 1) i++;
    // RFC 9112 §5.1: no whitespace between field name and colon.
    if (i === s || i >= e || b[i] !== 0x3a) return HttpErr.BAD_HEADER_NAME;
    const nameLen = i - s;
    i++;
    while (i < e && (b[i] === SP || b[i] === HTAB)) i++;
    let ve = e;
    while (ve > i && (b[ve - 1] === SP || b[ve - 1] === HTAB)) ve--;
    for (let k = i; k < ve; k++) if (FIELD_BYTE[b[k]] === 0) return HttpErr.BAD_HEADER_VALUE;
    if (++h.headerCount > this.opt.maxHeaders) return HttpErr.TOO_MANY_HEADERS;
    if (this.opt.headers) this.sink.onHeader(b, s, nameLen, i, ve - i);
    if (trailer) return HttpErr.NONE;
    if (eqLower(b, s, nameLen, H_CONTENT_LENGTH)) return this.contentLength(b, i, ve);
    if (eqLower(b, s, nameLen, H_TRANSFER_ENCODING)) return this.transferEncoding(b, i, ve);
    if (eqLower(b, s, nameLen, H_CONNECTION)) this.connection(b, i, ve);
    else if (eqLower(b, s, nameLen, H_HOST)) h.hostCount++;
    return HttpErr.NONE;
  }

  /** Content-Length = 1*DIGIT (RFC 9110 §8.6); a repeated field is rejected, as llhttp does. */
  private contentLength(b: Uint8Array, s: number, e: number): number {
    if (this.head.contentLength !== -1) return HttpErr.DUP_CONTENT_LENGTH;
    if (s === e || e - s > 15) return HttpErr.BAD_CONTENT_LENGTH;
    let v = 0;
    for (let i = s; i < e; i++) {
      const d = b[i] - 0x30;
      if (d < 0 || d > 9) return HttpErr.BAD_CONTENT_LENGTH;
      v = v * 10 + d;
    }
    this.head.contentLength = v;
    return HttpErr.NONE;
  }

  /** RFC 9112 §6.1: chunked, if present, is applied once and last. */
  private transferEncoding(b: Uint8Array, s: number, e: number): number {
    this.head.hasTransferEncoding = true;
    return this.listItems(b, s, e, LIST_TRANSFER_ENCODING);
  }

  private connection(b: Uint8Array, s: number, e: number): void {
    this.listItems(b, s, e, LIST_CONNECTION);
  }

  /**
   * A #rule list (RFC 9110 §5.6.1): each non-empty element, OWS trimmed, goes
   * to the handler of `list`; the first error ends the walk.
   */
  private listItems(b: Uint8Array, s: number, e: number, list: number): number {
    for (let i = s; i <= e; ) {
      let j = i;
      while (j < e && b[j] !== 0x2c) j++;
      let ts = i;
      let te = j;
      while (ts < te && (b[ts] === SP || b[ts] === HTAB)) ts++;
      while (te > ts && (b[te - 1] === SP || b[te - 1] === HTAB)) te--;
      if (te > ts) {
        const err = list === LIST_TRANSFER_ENCODING ? this.codingItem(b, ts, te) : this.connectionItem(b, ts, te);
        if (err !== HttpErr.NONE) return err;
      }
      i = j + 1;
    }
    return HttpErr.NONE;
  }

  /** A transfer coding after chunked is an error: chunked must be last. */
  private codingItem(b: Uint8Array, s: number, e: number): number {
    const h = this.head;
    if (h.chunked) return HttpErr.BAD_TRANSFER_ENCODING;
    if (eqLower(b, s, e - s, T_CHUNKED)) h.chunked = true;
    return HttpErr.NONE;
  }

  private connectionItem(b: Uint8Array, s: number, e: number): number {
    const h = this.head;
    if (eqLower(b, s, e - s, T_CLOSE)) h.connClose = true;
    else if (eqLower(b, s, e - s, T_KEEP_ALIVE)) h.connKeepAlive = true;
    return HttpErr.NONE;
  }

  /** Message framing, RFC 9112 §6.3, once the header section has ended. */
  private headersDone(): number {
    const h = this.head;
    // §6.1: a message with both is a smuggling vector; llhttp rejects it too.
    if (h.hasTransferEncoding && h.contentLength !== -1) return HttpErr.CL_AND_TE;
    if (h.contentLength > this.opt.maxBodyBytes) return HttpErr.BODY_TOO_LARGE;
    if (this.kind === KIND_REQUEST) {
      // §3.2: exactly one Host in HTTP/1.1, at most one in 1.0.
      if (h.hostCount > 1 || (h.version === 11 && h.hostCount === 0)) return HttpErr.BAD_HOST;
      // §6.3 rule 4: a request whose final coding is not chunked has no knowable length.
      if (h.hasTransferEncoding && !h.chunked) return HttpErr.BAD_TRANSFER_ENCODING;
      this.sink.onHead(h);
      this.startBody(h.chunked, h.contentLength);
      return HttpErr.NONE;
    }
    const st = h.status;
    if (st < 200) {
      // §6.3 rule 1: 1xx has no body and precedes the final response. We never ask to upgrade.
      if (st === 101) return HttpErr.UPGRADE_UNSUPPORTED;
      this.sink.onHead(h);
      this.state = S_START;
      this.headBytes = 0;
      return HttpErr.NONE;
    }
    const noBody = this.sink.onHead(h);
    if (noBody || st === 204 || st === 304) {
      this.complete();
    } else if (h.hasTransferEncoding && !h.chunked) {
      this.state = S_BODY_CLOSE; // §6.3 rule 4 for responses: read until close
    } else if (h.chunked || h.contentLength !== -1) {
      this.startBody(h.chunked, h.contentLength);
    } else {
      this.state = S_BODY_CLOSE; // §6.3 rule 8
    }
    return HttpErr.NONE;
  }

  private startBody(chunked: boolean, contentLength: number): void {
    if (chunked) {
      this.state = S_CHUNK_SIZE;
      this.headBytes = 0;
    } else if (contentLength > 0) {
      this.state = S_BODY_LEN;
      this.remaining = contentLength;
    } else {
      this.complete();
    }
  }

  /** chunk-size [ chunk-ext ] CRLF (RFC 9112 §7.1); extensions are skipped. */
  private chunkSize(b: Uint8Array, s: number, e: number): number {
    let i = s;
    let size = 0;
    while (i < e) {
      const v = hexVal(b[i]);
      if (v < 0) break;
      if (i - s >= MAX_CHUNK_HEX) return HttpErr.BAD_CHUNK_SIZE;
      size = size * 16 + v;
      i++;
    }
    if (i === s) return HttpErr.BAD_CHUNK_SIZE;
    if (i < e) {
      // §7.1.1: chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS value ] ); must start with ';'.
      let k = i;
      while (k < e && (b[k] === SP || b[k] === HTAB)) k++;
      if (k === e || b[k] !== 0x3b) return HttpErr.BAD_CHUNK_SIZE;
      for (k++; k < e; k++) if (FIELD_BYTE[b[k]] === 0) return HttpErr.BAD_CHUNK_SIZE;
    }
    if (size === 0) {
      this.state = S_TRAILER;
      this.headBytes = 0;
      return HttpErr.NONE;
    }
    if (this.bodyBytes + size > this.opt.maxBodyBytes) return HttpErr.BODY_TOO_LARGE;
    this.remaining = size;
    this.state = S_CHUNK_DATA;
    return HttpErr.NONE;
  }

  private complete(): void {
    const keep = this.state !== S_BODY_CLOSE && this.head.keepAlive();
    this.keepAlive = keep;
    this.state = keep ? S_START : S_DEAD;
    this.headBytes = 0;
    this.sink.onComplete(this.head);
  }
}
