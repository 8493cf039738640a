/**
 * The console over a Unix socket, for `vaigai --attach`: the generator
 * listens (mode 0600), and each connection is a console session of its own.
 * The protocol is line-delimited JSON: the client sends `{"line": "..."}`
 * per command, the generator answers each with one Reply (reply.ts), in order.
 */
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { ConsoleSocketError } from '../../common/errors.js';
import { errorReply, type Execute } from './reply.js';

/** One request on the socket; `pretty`: the client's output is a terminal (JSON indented), as its first request says. */
export interface SocketRequest {
  line: string;
  pretty?: boolean;
}

/** Whether something answers on `path` (a generator that is up), within a second. */
function listening(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    const done = (up: boolean): void => {
      clearTimeout(t);
      s.destroy();
      resolve(up);
    };
    const t = setTimeout(() => done(true), 1000);
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/**
 * Serves the console on `path`: `session(pretty)` makes each connection's Execute.
 * A socket left by a generator that is gone is replaced; one a live generator
 * serves is refused. The socket is bound with umask 0177, so it is 0600 from
 * its first moment.
 */
export async function serveConsole(path: string, session: (pretty: boolean) => Execute): Promise<{ close(): void }> {
  if (await listening(path)) throw new ConsoleSocketError(`--socket: a generator already serves its console on ${path}`);
  try {
    rmSync(path, { force: true });
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  } catch (e) {
    throw new ConsoleSocketError(`--socket: cannot use ${path}: ${(e as Error).message}`);
  }
  const clients = new Set<Socket>();
  const server: Server = createServer((sock) => {
    clients.add(sock);
    sock.on('close', () => clients.delete(sock));
    sock.on('error', () => sock.destroy());
    void answer(sock, session);
  });
  const mask = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e) => reject(new ConsoleSocketError(`--socket: cannot listen on ${path}: ${e.message}`)));
      server.listen(path, () => resolve());
    });
  } finally {
    process.umask(mask);
  }
  chmodSync(path, 0o600);
  return {
    close(): void {
      server.close();
      for (const c of clients) c.destroy();
      rmSync(path, { force: true });
    },
  };
}

/** Answers one connection's requests in order, until it ends or a reply says quit. */
async function answer(sock: Socket, session: (pretty: boolean) => Execute): Promise<void> {
  const lines = createInterface({ input: sock, crlfDelay: Infinity });
  let exec: Execute | null = null;
  for await (const l of lines) {
    let line: string;
    try {
      const req = JSON.parse(l) as SocketRequest;
      line = String(req.line);
      exec ??= session(req.pretty === true);
    } catch (e) {
      sock.write(`${JSON.stringify(errorReply(new ConsoleSocketError(`not a console request: ${(e as Error).message}`)))}\n`);
      continue;
    }
    const r = await (exec as Execute)(line);
    if (sock.destroyed) break;
    sock.write(`${JSON.stringify(r)}\n`);
    if (r.quit) {
      sock.end();
      break;
    }
  }
}
