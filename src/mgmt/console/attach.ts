/**
 * `vaigai --attach [socket]`: this terminal becomes a console of a running
 * generator (console_socket.ts). Completion and history are local, the
 * commands run in the generator; `quit` detaches and leaves it running. When
 * the generator goes away the console ends with exit code 2.
 */
import { connect, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { ConsoleSocketError, EXIT_START } from '../../common/errors.js';
import { errorReply, type Execute, type Reply } from './reply.js';
import { runConsole, type ConsoleIo } from './repl.js';
import type { SocketRequest } from './console_socket.js';

function open(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(path);
    s.once('connect', () => resolve(s));
    s.once('error', (e) => reject(new ConsoleSocketError(`--attach: no generator console on ${path}: ${e.message}`)));
  });
}

export async function attachConsole(path: string, io: Omit<ConsoleIo, 'gone'>): Promise<number> {
  const sock = await open(path);
  const pretty = (io.output as { isTTY?: boolean }).isTTY === true;
  const waiting: ((r: Reply) => void)[] = [];
  const lost = (): Reply => errorReply(new ConsoleSocketError(`the generator on ${path} closed the console`));
  createInterface({ input: sock, crlfDelay: Infinity }).on('line', (l) => waiting.shift()?.(JSON.parse(l) as Reply));
  let closed = false;
  const gone = new Promise<void>((resolve) =>
    sock.once('close', () => {
      closed = true;
      for (const w of waiting.splice(0)) w(lost());
      resolve();
    }),
  );
  sock.on('error', () => sock.destroy());
  const exec: Execute = (line) => {
    if (closed) return Promise.resolve(lost());
    return new Promise<Reply>((resolve) => {
      waiting.push(resolve);
      sock.write(`${JSON.stringify({ line, pretty } satisfies SocketRequest)}\n`);
    });
  };
  let detached = false;
  const code = await runConsole(async (line) => {
    const r = await exec(line);
    detached ||= r.quit;
    return r;
  }, { ...io, gone });
  sock.end();
  if (closed && !detached) {
    // On a terminal the prompt is showing: the reason goes on a line of its own.
    io.errors.write(`${io.input.isTTY === true ? '\n' : ''}vaigai: the generator on ${path} closed the console\n`);
    return code === 0 ? EXIT_START : code;
  }
  return code;
}
