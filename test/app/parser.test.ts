/**
 * The HTTP/1.1 parser on golden messages: what it reports for each framing
 * rule of RFC 9112 §6.3, its limits, and that any split of the input gives
 * the same result.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HTTP_ERR_NAMES, HttpErr } from '../../src/app/http11/errors.js';
import { METHOD_GET, METHOD_HEAD, METHOD_OTHER, METHOD_POST, type MessageHead } from '../../src/app/http11/head.js';
import { DEFAULT_PARSER_OPTIONS, Http1Parser, KIND_REQUEST, KIND_RESPONSE, type ParserSink } from '../../src/app/http11/parser.js';

interface Msg {
  status: number;
  method: number;
  target: string;
  version: number;
  body: string;
  keepAlive: boolean;
}

class Recorder implements ParserSink {
  msgs: Msg[] = [];
  heads: number[] = [];
  headers: string[] = [];
  errors: number[] = [];
  body: number[] = [];
  noBody = false;
  constructor(private readonly parser: () => Http1Parser) {}
  onHead(h: MessageHead): boolean {
    this.heads.push(h.status);
    return this.noBody;
  }
  onHeader(b: Uint8Array, no: number, nl: number, vo: number, vl: number): void {
    this.headers.push(`${Buffer.from(b.subarray(no, no + nl)).toString()}=${Buffer.from(b.subarray(vo, vo + vl)).toString()}`);
  }
  onBody(b: Uint8Array, o: number, l: number): void {
    for (let i = 0; i < l; i++) this.body.push(b[o + i]);
  }
  onComplete(h: MessageHead): void {
    this.msgs.push({
      status: h.status, method: h.method, target: Buffer.from(h.target.subarray(0, h.targetLen)).toString(), version: h.version,
      body: Buffer.from(this.body).toString('latin1'), keepAlive: this.parser().keepAlive,
    });
    this.body = [];
  }
  onError(code: number): void {
    this.errors.push(code);
  }
}

function parse(kind: number, text: string, opts: Partial<typeof DEFAULT_PARSER_OPTIONS> = {}, split = 0, noBody = false): { r: Recorder; p: Http1Parser; fin: number } {
  let p: Http1Parser | null = null;
  const r = new Recorder(() => p as Http1Parser);
  r.noBody = noBody;
  p = new Http1Parser(kind, r, { ...DEFAULT_PARSER_OPTIONS, ...opts });
  const b = Buffer.from(text, 'latin1');
  if (split > 0) {
    p.feed(b, 0, split);
    p.feed(b, split, b.length - split);
  } else {
    p.feed(b, 0, b.length);
  }
  return { r, p, fin: p.finish() };
}

describe('response framing (RFC 9112 §6.3)', () => {
  it('Content-Length body, keep-alive by default in 1.1', () => {
    const { r, fin } = parse(KIND_RESPONSE, 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloHTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
    assert.equal(fin, HttpErr.NONE);
    assert.deepEqual(r.msgs.map((m) => [m.status, m.body, m.keepAlive]), [[200, 'hello', true], [404, '', true]]);
  });

  it('chunked with extensions and trailers: body joined, trailers delivered as fields', () => {
    const { r } = parse(KIND_RESPONSE, 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3;a=b\r\nabc\r\nA\r\n0123456789\r\n0\r\nX-Sum: 1\r\n\r\n', { headers: true });
    assert.equal(r.msgs[0].body, 'abc0123456789');
    assert.deepEqual(r.headers, ['Transfer-Encoding=gzip, chunked', 'X-Sum=1']);
  });

  it('close-delimited body ends at finish(); the connection is not reusable', () => {
    const { r, fin, p } = parse(KIND_RESPONSE, 'HTTP/1.1 200 OK\r\n\r\nto the end');
    assert.equal(fin, HttpErr.NONE);
    assert.deepEqual([r.msgs[0].body, p.keepAlive], ['to the end', false]);
  });

  it('1xx are reported and skipped; HEAD, 204 and 304 have no body', () => {
    const { r } = parse(KIND_RESPONSE, 'HTTP/1.1 103 Early Hints\r\nLink: x\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n', {}, 0, true);
    assert.deepEqual(r.heads, [103, 200]);
    assert.deepEqual(r.msgs.map((m) => [m.status, m.body]), [[200, '']]);
    const b = parse(KIND_RESPONSE, 'HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 3\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx');
    assert.deepEqual(b.r.msgs.map((m) => [m.status, m.body]), [[204, ''], [304, ''], [200, 'x']]);
  });

  it('HTTP/1.0 closes unless keep-alive; Connection: close in 1.1 closes', () => {
    assert.equal(parse(KIND_RESPONSE, 'HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n').p.keepAlive, false);
    assert.equal(parse(KIND_RESPONSE, 'HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n').p.keepAlive, true);
    assert.equal(parse(KIND_RESPONSE, 'HTTP/1.1 200 OK\r\nConnection: foo, close\r\nContent-Length: 0\r\n\r\n').p.keepAlive, false);
  });

  it('limits: header bytes, header count, body bytes (declared and chunked)', () => {
    const big = `HTTP/1.1 200 OK\r\nX: ${'a'.repeat(100)}\r\n\r\n`;
    assert.deepEqual(parse(KIND_RESPONSE, big, { maxHeaderBytes: 64 }).r.errors, [HttpErr.HEADERS_TOO_LARGE]);
    assert.deepEqual(parse(KIND_RESPONSE, big, { maxHeaderBytes: 64 }, 30).r.errors, [HttpErr.HEADERS_TOO_LARGE], 'also when split');
    assert.deepEqual(parse(KIND_RESPONSE, 'HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n', { maxHeaders: 2 }).r.errors, [HttpErr.TOO_MANY_HEADERS]);
    assert.deepEqual(parse(KIND_RESPONSE, 'HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n', { maxBodyBytes: 10 }).r.errors, [HttpErr.BODY_TOO_LARGE]);
    assert.deepEqual(parse(KIND_RESPONSE, 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n6\r\n', { maxBodyBytes: 10 }).r.errors, [HttpErr.BODY_TOO_LARGE]);
    assert.deepEqual(parse(KIND_RESPONSE, 'HTTP/1.1 200 OK\r\n\r\n0123456789ab', { maxBodyBytes: 10 }).r.errors, [HttpErr.BODY_TOO_LARGE]);
  });

  it('stops at the first error and stays stopped', () => {
    const { r, p } = parse(KIND_RESPONSE, 'HTTP/1.1 200 OK\r\nbad line\r\n\r\n');
    assert.deepEqual(r.errors, [HttpErr.BAD_HEADER_NAME]);
    p.feed(Buffer.from('HTTP/1.1 200 OK\r\n\r\n'), 0, 19);
    assert.equal(r.errors.length, 1);
    assert.equal(HTTP_ERR_NAMES[p.error], 'BAD_HEADER_NAME');
  });
});

describe('request parsing', () => {
  it('pipelined requests: method codes, targets, bodies', () => {
    const { r, fin } = parse(KIND_REQUEST, 'GET /a?b=1 HTTP/1.1\r\nHost: h\r\n\r\nPOST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nxyzHEAD / HTTP/1.1\r\nHost: h\r\n\r\nPURGE /c HTTP/1.0\r\n\r\n');
    assert.equal(fin, HttpErr.NONE);
    assert.deepEqual(r.msgs.map((m) => [m.method, m.target, m.body, m.version]), [
      [METHOD_GET, '/a?b=1', '', 11], [METHOD_POST, '/p', 'xyz', 11], [METHOD_HEAD, '/', '', 11], [METHOD_OTHER, '/c', '', 10],
    ]);
  });

  it('every split point of a pipelined pair gives the same messages', () => {
    const text = 'POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\nGET /y HTTP/1.1\r\nHost: h\r\n\r\n';
    const whole = parse(KIND_REQUEST, text).r.msgs;
    assert.equal(whole.length, 2);
    for (let i = 1; i < text.length; i++) assert.deepEqual(parse(KIND_REQUEST, text, {}, i).r.msgs, whole, `split at ${i}`);
  });

  it('a target longer than maxTarget is refused', () => {
    assert.deepEqual(parse(KIND_REQUEST, `GET /${'x'.repeat(40)} HTTP/1.1\r\nHost: h\r\n\r\n`, { maxTarget: 16 }).r.errors, [HttpErr.HEADERS_TOO_LARGE]);
  });
});
