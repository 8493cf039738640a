/**
 * Server mode with any number of listeners (`--listen proto:port[:handler]`,
 * repeatable): HTTP and HTTPS (each its own Http1Server, HTTPS over its own
 * TLS layer on the same TCP), TCP echo, discard and chargen, UDP echo and
 * discard, all on one worker's stack at once. Each listener's counters carry
 * its name (`tcp_7_bytes_in`), listed once here.
 */
import type { TlsEngine } from '../tls/engine.js';
import type { KeyLog } from '../tls/keylog.js';
import type { StreamTransport } from '../net/tcp/stream.js';
import type { UdpLayer } from '../net/udp.js';
import { HttpServerMode, ModeError, type TlsVersion } from './modes.js';
import { fmtBytes } from './report.js';
import { TcpSink } from './tcp_bulk.js';
import { TcpChargen, TcpEcho } from './tcp_services.js';
import { UdpService } from './udp_services.js';

export type ListenProto = 'http' | 'https' | 'tcp' | 'udp';
export type ListenHandler = 'http' | 'echo' | 'discard' | 'chargen';

/** The handlers each protocol may have; the first is its default. */
export const LISTEN_HANDLERS: Record<ListenProto, readonly ListenHandler[]> = {
  http: ['http'],
  https: ['http'],
  tcp: ['discard', 'echo', 'chargen'],
  udp: ['echo', 'discard'],
};

export interface ListenerPlan {
  proto: ListenProto;
  port: number;
  handler: ListenHandler;
}

/** What --listen asks for: the listeners, the HTTP answers, the certificate of the HTTPS ones. */
export interface ListenPlan {
  listeners: ListenerPlan[];
  status: number;
  bodySize: number;
  tls: { cert: string; key: string; version: TlsVersion | null; engine: TlsEngine } | null;
}

const HTTP_KEYS = ['accepted', 'requests', 'responses', 'body_bytes_out', 'errors', 'tls_handshakes', 'tls_failures'] as const;
const TCP_KEYS = ['accepted', 'closed', 'bytes_in', 'bytes_out'] as const;
const UDP_KEYS = ['datagrams_in', 'datagrams_out', 'bytes_in', 'bytes_out'] as const;

/** `http:80`, `tcp:7:echo`: as the user wrote it (the handler of http and https is implied). */
export function listenerName(l: ListenerPlan): string {
  return l.proto === 'http' || l.proto === 'https' ? `${l.proto}:${l.port}` : `${l.proto}:${l.port}:${l.handler}`;
}

function prefix(l: ListenerPlan): string {
  return `${l.proto}_${l.port}_`;
}

function keysOf(l: ListenerPlan): readonly string[] {
  return l.proto === 'udp' ? UDP_KEYS : l.proto === 'tcp' ? TCP_KEYS : HTTP_KEYS;
}

/** Every listener's counter names, in the order ListenMode.publish writes them. */
export function listenKeys(listeners: readonly ListenerPlan[]): string[] {
  return listeners.flatMap((l) => keysOf(l).map((k) => `${prefix(l)}${k}`));
}

/** The summed flat counters (camelCase, as groupStackMetrics gives them) as `{ "tcp:7:echo": { bytesIn, ... } }`. */
export function listenJson(listeners: readonly ListenerPlan[], flat: Record<string, number>): Record<string, Record<string, number>> {
  const camel = (k: string): string => k.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
  const out: Record<string, Record<string, number>> = {};
  for (const l of listeners) {
    const r: Record<string, number> = {};
    for (const k of keysOf(l)) r[camel(k)] = flat[camel(`${prefix(l)}${k}`)] ?? 0;
    out[listenerName(l)] = r;
  }
  return out;
}

/** One short field per listener, for the live line. */
export function listenLive(listeners: readonly ListenerPlan[], flat: Record<string, number>): string {
  const j = listenJson(listeners, flat);
  return listeners
    .map((l) => {
      const r = j[listenerName(l)];
      if (l.proto === 'udp') return `${listenerName(l)} in ${r.datagramsIn} out ${r.datagramsOut}`;
      if (l.proto === 'tcp') return `${listenerName(l)} conns ${r.accepted} in ${fmtBytes(r.bytesIn)} out ${fmtBytes(r.bytesOut)}`;
      return `${listenerName(l)} req ${r.requests} resp ${r.responses}`;
    })
    .join(' | ');
}

type Service = HttpServerMode | TcpSink | TcpEcho | TcpChargen | UdpService;

export class ListenMode {
  private readonly services: Service[];

  constructor(plan: ListenPlan, tcp: StreamTransport, udp: UdpLayer, keylog: KeyLog | null) {
    this.services = plan.listeners.map((l) => {
      if (l.proto === 'udp') {
        const s = new UdpService(udp, l.handler === 'echo');
        if (!udp.bind(l.port, s)) throw new ModeError(`cannot listen on UDP port ${l.port}`);
        return s;
      }
      if (l.proto === 'http' || l.proto === 'https') {
        const tls = l.proto === 'https' ? plan.tls : null;
        if (l.proto === 'https' && tls === null) throw new ModeError(`${listenerName(l)} needs a certificate`);
        return new HttpServerMode({ transport: tcp, port: l.port, status: plan.status, bodySize: plan.bodySize, tls, keylog });
      }
      const h = l.handler === 'echo' ? new TcpEcho(tcp) : l.handler === 'chargen' ? new TcpChargen(tcp) : new TcpSink(tcp, null);
      const r = tcp.listen(0, l.port, h);
      if (r < 0) throw new ModeError(`cannot listen on TCP port ${l.port} (error ${r})`);
      return h;
    });
  }

  /** Every listener's counters in listenKeys order into the slab cells `ids[at..]`. */
  publish(c: Float64Array, ids: Int32Array, at: number): number {
    let i = at;
    for (const s of this.services) {
      if (s instanceof HttpServerMode) {
        const st = s.server.stats;
        c[ids[i++]] = st.accepted;
        c[ids[i++]] = st.requests;
        c[ids[i++]] = st.responses;
        c[ids[i++]] = st.bodyBytesOut;
        c[ids[i++]] = st.errors;
        c[ids[i++]] = s.tls?.stats.handshakes ?? 0;
        c[ids[i++]] = s.tls?.stats.failures ?? 0;
      } else if (s instanceof UdpService) {
        const st = s.stats;
        c[ids[i++]] = st.datagramsIn;
        c[ids[i++]] = st.datagramsOut;
        c[ids[i++]] = st.bytesIn;
        c[ids[i++]] = st.bytesOut;
      } else {
        const st = s.stats;
        c[ids[i++]] = st.accepted;
        c[ids[i++]] = st.closed;
        c[ids[i++]] = st.bytesIn;
        c[ids[i++]] = st.bytesOut;
      }
    }
    return i;
  }
}
