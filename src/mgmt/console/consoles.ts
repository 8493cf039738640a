/**
 * A generator's consoles: its own on stdin/stdout (with --interactive, or a
 * terminal and no mode) and one per `vaigai --attach` connection on its Unix
 * socket, each a session of the one command table on the one controller.
 * The socket is served with a console (at the default path unless --socket
 * names one) and whenever --socket is given; a default path another live
 * generator holds leaves this one without a socket (a warning), a --socket
 * path in use is an error.
 */
import { ConsoleSocketError } from '../../common/errors.js';
import type { Controller } from '../../run/controller.js';
import { logger } from '../../telemetry/log.js';
import { consoleCommands, type ConsoleContext } from './commands.js';
import { completer } from './completion.js';
import { serveConsole } from './console_socket.js';
import { runConsole } from './repl.js';
import { consoleSession } from './session.js';
import { defaultSocketPath } from './socket_path.js';
import type { StartFlags } from './start_flags.js';

export interface ConsolesOptions {
  /** A console on this process's stdin/stdout. */
  local: boolean;
  /** --socket, or null for the default (served only with a local console). */
  socket: string | null;
  /** The history file, or null. */
  history: string | null;
  start: StartFlags;
}

export interface Consoles {
  /** The socket served, or null. */
  socket: string | null;
  /** Resolves with the local console's exit code once it ends (quit, end of input); null without one. */
  local: Promise<number> | null;
  close(): void;
}

export async function startConsoles(ctl: Controller, o: ConsolesOptions): Promise<Consoles> {
  const table = consoleCommands(o.start.flags);
  const ctx = (pretty: boolean): ConsoleContext => ({ ctl, planStart: (w) => o.start.plan(w), pretty });
  let server: { close(): void } | null = null;
  let socket = o.socket ?? (o.local ? defaultSocketPath() : null);
  if (socket !== null) {
    try {
      server = await serveConsole(socket, (pretty) => consoleSession(table, ctx(pretty)));
      logger().info({ event: 'console', socket }, `console socket ${socket}`);
    } catch (e) {
      if (o.socket !== null || !(e instanceof ConsoleSocketError)) throw e;
      logger().warn({ event: 'console', code: e.code }, `${e.message}: no console socket (give --socket PATH)`);
      socket = null;
    }
  }
  const local = o.local
    ? runConsole(consoleSession(table, ctx(process.stdout.isTTY === true)), {
        input: process.stdin,
        output: process.stdout,
        errors: process.stderr,
        history: o.history,
        completer: completer(table),
        gone: ctl.closed,
      })
    : null;
  return { socket, local, close: () => server?.close() };
}
