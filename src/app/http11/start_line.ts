/**
 * Start-line codecs (RFC 9112 §3 request-line, §4 status-line), parsing bytes
 * in place into a MessageHead. Each returns an HttpErr code (NONE on success).
 * `s..e` is the line without its CRLF.
 */
import { HttpErr } from './errors.js';
import { ascii, SP, TARGET_BYTE, TCHAR } from './chars.js';
import { MessageHead, METHOD_NAMES, METHOD_OTHER } from './head.js';

const HTTP_SLASH = ascii('HTTP/');
const METHOD_BYTES = METHOD_NAMES.map(ascii);

/** Parses "HTTP/1.x" at buf[s..s+8); returns 10, 11, or -1. */
function parseVersion(buf: Uint8Array, s: number, e: number): number {
  if (e - s < 8) return -1;
  for (let i = 0; i < 5; i++) if (buf[s + i] !== HTTP_SLASH[i]) return -1;
  if (buf[s + 5] !== 0x31 || buf[s + 6] !== 0x2e) return -1;
  const minor = buf[s + 7];
  if (minor === 0x31) return 11;
  if (minor === 0x30) return 10;
  return -1;
}

/** status-line = HTTP-version SP status-code SP [ reason-phrase ] (RFC 9112 §4). */
export function parseStatusLine(buf: Uint8Array, s: number, e: number, h: MessageHead): number {
  const v = parseVersion(buf, s, e);
  if (v < 0) return HttpErr.BAD_VERSION;
  h.version = v;
  let i = s + 8;
  if (i >= e || buf[i] !== SP) return HttpErr.BAD_START_LINE;
  i++;
  if (e - i < 3) return HttpErr.BAD_STATUS;
  let code = 0;
  for (let k = 0; k < 3; k++) {
    const d = buf[i + k] - 0x30;
    if (d < 0 || d > 9) return HttpErr.BAD_STATUS;
    code = code * 10 + d;
  }
  if (code < 100) return HttpErr.BAD_STATUS;
  i += 3;
  // The reason phrase may be absent, with or without its SP (llhttp and most clients agree).
  if (i < e) {
    if (buf[i] !== SP) return HttpErr.BAD_STATUS;
    for (i++; i < e; i++) {
      const c = buf[i];
      if (c < 0x20 ? c !== 0x09 : c === 0x7f) return HttpErr.BAD_START_LINE;
    }
  }
  h.status = code;
  return HttpErr.NONE;
}

function methodCode(buf: Uint8Array, s: number, len: number): number {
  for (let m = 1; m < METHOD_BYTES.length; m++) {
    const mb = METHOD_BYTES[m];
    if (mb.length !== len) continue;
    let k = 0;
    while (k < len && buf[s + k] === mb[k]) k++;
    if (k === len) return m;
  }
  return METHOD_OTHER;
}

/** request-line = method SP request-target SP HTTP-version (RFC 9112 §3), single spaces. */
export function parseRequestLine(buf: Uint8Array, s: number, e: number, h: MessageHead): number {
  let i = s;
  while (i < e && TCHAR[buf[i]] === 1) i++;
  if (i === s || i >= e || buf[i] !== SP) return HttpErr.BAD_METHOD;
  h.method = methodCode(buf, s, i - s);
  const t0 = ++i;
  while (i < e && TARGET_BYTE[buf[i]] === 1) i++;
  if (i === t0 || i >= e || buf[i] !== SP) return HttpErr.BAD_TARGET;
  const tlen = i - t0;
  if (tlen > h.maxTarget) return HttpErr.HEADERS_TOO_LARGE;
  // A byte loop, not set(subarray): no view object per request.
  const t = h.targetRoom(tlen);
  for (let k = 0; k < tlen; k++) t[k] = buf[t0 + k];
  h.targetLen = tlen;
  i++;
  if (e - i !== 8) return HttpErr.BAD_VERSION;
  const v = parseVersion(buf, i, e);
  if (v < 0) return HttpErr.BAD_VERSION;
  h.version = v;
  return HttpErr.NONE;
}
