/** The malformed-message corpus in test/fixtures/http, and vaigAI's parser verdict on a case. */
import fs from 'node:fs';
import { HTTP_ERR_NAMES, HttpErr } from '../../src/app/http11/errors.js';
import type { MessageHead } from '../../src/app/http11/head.js';
import { Http1Parser, type ParserSink } from '../../src/app/http11/parser.js';

export interface Case {
  name: string;
  raw: string;
  pad?: number;
  requests?: number;
  expect: string;
  /** node:http's verdict where it deliberately differs from ours, and why. */
  llhttp?: string;
  why?: string;
}

const DIR = new URL('../../../test/fixtures/http/', import.meta.url);

export function loadCorpus(file: 'responses.json' | 'requests.json'): Case[] {
  return (JSON.parse(fs.readFileSync(new URL(file, DIR), 'utf8')) as { cases: Case[] }).cases;
}

export function caseBytes(c: Case): Buffer {
  return Buffer.from(c.raw.replaceAll('@PAD@', 'a'.repeat(c.pad ?? 0)), 'latin1');
}

class CountingSink implements ParserSink {
  complete = 0;
  body = 0;
  onHead(h: MessageHead): boolean {
    return h.status >= 200 && false;
  }
  onHeader(): void {}
  onBody(_b: Uint8Array, _o: number, len: number): void {
    this.body += len;
  }
  onComplete(h: MessageHead): void {
    if (h.status === -1 || h.status >= 200) this.complete++;
  }
  onError(): void {}
}

/** 'ok' or the HttpErr name; `step` feeds that many bytes at a time (0 = all at once). */
export function verdict(kind: number, bytes: Uint8Array, expectedMessages: number, step = 0): string {
  const sink = new CountingSink();
  const p = new Http1Parser(kind, sink);
  const n = step > 0 ? step : bytes.length;
  for (let i = 0; i < bytes.length && p.error === HttpErr.NONE; i += n) p.feed(bytes, i, Math.min(n, bytes.length - i));
  const e = p.finish();
  if (e !== HttpErr.NONE) return HTTP_ERR_NAMES[e];
  return sink.complete >= expectedMessages ? 'ok' : 'INCOMPLETE';
}
