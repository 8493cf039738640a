/**
 * Request builder (RFC 9112 §3): method, target, Host, headers, body with its
 * Content-Length. Requests are built once at configuration time into bytes and
 * written as they are on every send.
 */
import { TARGET_BYTE, TCHAR } from './chars.js';

export interface RequestSpec {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: Uint8Array;
  /** Expected sha256 of the response body, lowercase hex: the client verifies it. */
  sha256?: string;
}

function checkToken(s: string, what: string): void {
  if (s.length === 0) throw new RangeError(`${what} is empty`);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 255 || TCHAR[c] !== 1) throw new RangeError(`${what} ${JSON.stringify(s)} has a byte that is not a tchar`);
  }
}

function checkValue(s: string, what: string): void {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // RFC 9110 §5.5: CR, LF and NUL in a value are how header injection starts.
    if (c > 255 || (c < 0x20 && c !== 9) || c === 0x7f) throw new RangeError(`${what} has a control byte`);
  }
}

/** Builds the bytes of a request. `close` adds "Connection: close" (the last request on a connection). */
export function buildRequest(spec: RequestSpec, host: string, close: boolean): Uint8Array {
  checkToken(spec.method, 'method');
  if (spec.path.length === 0) throw new RangeError('path is empty');
  for (let i = 0; i < spec.path.length; i++) {
    const c = spec.path.charCodeAt(i);
    if (c > 255 || TARGET_BYTE[c] !== 1) throw new RangeError(`path ${JSON.stringify(spec.path)} has a space or control byte`);
  }
  checkValue(host, 'Host');
  let head = `${spec.method} ${spec.path} HTTP/1.1\r\nHost: ${host}\r\n`;
  let hasLength = false;
  for (const [name, value] of Object.entries(spec.headers ?? {})) {
    checkToken(name, 'header name');
    checkValue(value, `header ${name}`);
    const l = name.toLowerCase();
    if (l === 'host' || l === 'connection') throw new RangeError(`header ${name} is set by the client`);
    if (l === 'content-length' || l === 'transfer-encoding') hasLength = true;
    head += `${name}: ${value}\r\n`;
  }
  const body = spec.body ?? new Uint8Array(0);
  if (!hasLength && (body.length > 0 || spec.method === 'POST' || spec.method === 'PUT')) {
    head += `Content-Length: ${body.length}\r\n`;
  }
  if (close) head += 'Connection: close\r\n';
  head += '\r\n';
  const out = new Uint8Array(head.length + body.length);
  for (let i = 0; i < head.length; i++) out[i] = head.charCodeAt(i);
  out.set(body, head.length);
  return out;
}
