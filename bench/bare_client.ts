/**
 * The thinnest HTTP/1.1 client the stack allows, as the baseline that
 * bench/engine_cost.ts sets the engine against: N connections, one prebuilt
 * request written per answer (or a connection per request), each answer read
 * by the app layer's response parser, and nothing else: no flows, budgets,
 * timeouts, counters beyond the answers, or histograms.
 */
import type { Clock } from '../src/common/clock.js';
import { Http1Parser, KIND_RESPONSE, type ParserSink } from '../src/app/http11/parser.js';
import { buildRequest } from '../src/app/http11/request.js';
import type { MessageHead } from '../src/app/http11/head.js';
import type { TcpHandler } from '../src/net/tcp/api.js';
import type { TcpLayer } from '../src/net/tcp/tcp_layer.js';
import type { RingPair } from '../src/engine/ring_pair.js';

export interface BareLoad {
  connections: number;
  /** A connection per request (the request asks Connection: close) instead of keep-alive. */
  connPerRequest: boolean;
  durationUs: number;
}

export interface BareResult {
  responses: number;
  elapsedUs: number;
  failures: number;
}

class BareClient implements TcpHandler {
  responses = 0;
  failures = 0;
  stopping = false;
  private readonly parsers: Http1Parser[] = [];
  private readonly req: Uint8Array;

  constructor(
    private readonly tcp: TcpLayer,
    private readonly src: number,
    private readonly dst: number,
    private readonly o: BareLoad,
  ) {
    this.req = buildRequest({ method: 'GET', path: '/' }, 'vaigai', o.connPerRequest);
  }

  open(): void {
    const c = this.tcp.connect(this.src, this.dst, 80, this);
    if (c < 0) {
      this.failures++;
      return;
    }
    let p = this.parsers[c];
    if (p === undefined) {
      p = new Http1Parser(KIND_RESPONSE, this.sinkOf(c));
      this.parsers[c] = p;
    } else p.reset();
  }

  private sinkOf(c: number): ParserSink {
    return {
      onHead: (_h: MessageHead) => false,
      onHeader: () => {},
      onBody: () => {},
      onComplete: () => this.answered(c),
      onError: () => {
        this.failures++;
        this.tcp.abort(c);
      },
    };
  }

  private answered(c: number): void {
    this.responses++;
    if (this.o.connPerRequest) this.tcp.close(c);
    else if (!this.stopping) this.tcp.write(c, this.req, 0, this.req.length);
  }

  onConnected(c: number): void {
    this.tcp.write(c, this.req, 0, this.req.length);
  }

  onData(c: number, u8: Uint8Array, off: number, len: number): void {
    this.parsers[c].feed(u8, off, len);
  }

  onWritable(): void {}

  onPeerClosed(c: number): void {
    this.tcp.close(c);
  }

  onClosed(_c: number, reason: number): void {
    if (reason !== 0) this.failures++;
    if (this.o.connPerRequest && !this.stopping) this.open();
  }
}

/** Runs the bare client on the client end of `pair` against an Http1Server on the other's port 80. */
export function runBare(pair: RingPair, clock: Clock, src: number, dst: number, o: BareLoad): BareResult {
  const client = new BareClient(pair.client.tcp, src, dst, o);
  const start = clock.nowUs();
  for (let i = 0; i < o.connections; i++) client.open();
  let now = start;
  while (now - start < o.durationUs) {
    pair.poll();
    now = clock.nowUs();
  }
  client.stopping = true;
  return { responses: client.responses, elapsedUs: now - start, failures: client.failures };
}
