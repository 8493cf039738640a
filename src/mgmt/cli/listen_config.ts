/**
 * `--listen proto:port[:handler]` (repeatable): the listeners of server mode,
 * parsed into a ListenPlan. Each error names --listen and the text at fault.
 */
import { InvalidOptionError } from '../../common/errors.js';
import { LISTEN_HANDLERS, listenerName, type ListenerPlan, type ListenHandler, type ListenPlan, type ListenProto } from '../../engine/listen.js';

const PROTOS = Object.keys(LISTEN_HANDLERS) as ListenProto[];

export function parseListener(text: string): ListenerPlan {
  const parts = text.trim().split(':');
  if (parts.length < 2 || parts.length > 3) throw new InvalidOptionError('--listen', `"${text}" is not proto:port[:handler] (e.g. http:80, tcp:7:echo, udp:7:echo)`);
  const proto = PROTOS.find((p) => p === parts[0].toLowerCase());
  if (proto === undefined) throw new InvalidOptionError('--listen', `"${text}": unknown protocol "${parts[0]}" (${PROTOS.join(', ')})`);
  const n = /^\d+$/.test(parts[1]) ? Number(parts[1]) : NaN;
  if (!(n >= 1 && n <= 65535)) throw new InvalidOptionError('--listen', `"${text}": port "${parts[1]}" is not an integer in 1..65535`);
  const allowed = LISTEN_HANDLERS[proto];
  const handler = parts.length === 3 ? allowed.find((h) => h === parts[2].toLowerCase()) : allowed[0];
  if (handler === undefined) throw new InvalidOptionError('--listen', `"${text}": handler "${parts[2]}" is not one of ${allowed.join(', ')} for ${proto}`);
  return { proto, port: n, handler: handler satisfies ListenHandler };
}

/** The listeners; http, https and tcp share the TCP port space, udp has its own. */
export function parseListeners(texts: string[], http: Omit<ListenPlan, 'listeners'>): ListenPlan {
  const listeners: ListenerPlan[] = [];
  for (const t of texts) {
    const l = parseListener(t);
    const udp = l.proto === 'udp';
    const taken = listeners.find((o) => o.port === l.port && (o.proto === 'udp') === udp);
    if (taken !== undefined) throw new InvalidOptionError('--listen', `"${t}": ${udp ? 'UDP' : 'TCP'} port ${l.port} is already ${listenerName(taken)}`);
    if (l.proto === 'https' && http.tls === null) throw new InvalidOptionError('--listen', `"${t}" needs --cert and --key (PEM files)`);
    listeners.push(l);
  }
  return { listeners, ...http };
}
