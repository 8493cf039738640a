/**
 * The TLS engine choice (`--tls-engine node|native`): Node's `tls` over a
 * duplex per connection (TlsStream), or the addon's OpenSSL over memory BIOs
 * (NativeTlsStream). Both take the same configuration and count the same way.
 */
import type { StreamTransport } from '../net/tcp/stream.js';
import { NativeTlsStream } from './native_tls_stream.js';
import type { TlsStats } from './session_store.js';
import type { TlsStreamOptions } from './stream_base.js';
import { TlsStream } from './tls_stream.js';

export type TlsEngine = 'node' | 'native';
export const TLS_ENGINES: readonly TlsEngine[] = ['node', 'native'];

/** What callers use of either engine: the transport and its counters. */
export type TlsTransport = StreamTransport & { readonly stats: TlsStats };

export type { TlsStreamOptions };

/** Throws for an unknown engine, or (native) when the addon lacks the TLS engine. */
export function createTlsStream(engine: TlsEngine, lower: StreamTransport, opts: TlsStreamOptions): TlsTransport {
  if (engine === 'node') return new TlsStream(lower, opts);
  if (engine === 'native') return new NativeTlsStream(lower, opts);
  throw new TypeError(`unknown TLS engine '${String(engine)}' (node or native)`);
}
