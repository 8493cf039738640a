/**
 * The console's terminal side (node:readline), for the generator's own
 * stdin/stdout and for `vaigai --attach` alike; each line goes to an Execute.
 *
 * On a terminal: the prompt `vaigai> `, tab completion, history (up arrow,
 * kept in the history file), Ctrl-C clears the line, Ctrl-D quits.
 * Over a pipe (stdin not a terminal) it reads a script: no prompt and no
 * echo, one command per line (blank lines and `#` comments skipped), each
 * command's output on stdout as it completes, a failed command's error on
 * stderr as `error <CODE>: <message>`, and the script goes on. At the end of
 * the input (or `quit`) the console ends with 0 when every command
 * succeeded, else the exit code of the first failure (README, "Exit codes").
 */
import { createInterface, type Completer } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { HISTORY_SIZE, loadHistory, saveHistory } from './history.js';
import type { Execute, Reply } from './reply.js';

const PROMPT = 'vaigai> ';

export interface ConsoleIo {
  input: Readable & { isTTY?: boolean };
  output: Writable;
  errors: Writable;
  /** The history file, or null for none. */
  history: string | null;
  completer: Completer;
  /** Resolves when the other side went away (an attached generator quit): the console ends. */
  gone?: Promise<void>;
}

/** `error <CODE>: <message>`, as a failed command prints it. */
function errorLine(r: Reply): string {
  return r.error === null ? '' : `error ${r.error.code}: ${r.error.message}\n`;
}

/** Runs the console until `quit`, end of input or `gone`; resolves with its exit code. */
export async function runConsole(exec: Execute, io: ConsoleIo): Promise<number> {
  const tty = io.input.isTTY === true;
  const history = tty ? io.history : null;
  const rl = createInterface({
    input: io.input,
    ...(tty ? { output: io.output, completer: io.completer, history: history === null ? [] : loadHistory(history) } : {}),
    terminal: tty,
    historySize: history === null ? 0 : HISTORY_SIZE,
    removeHistoryDuplicates: true,
    prompt: PROMPT,
  });
  if (history !== null) rl.on('history', (h: string[]) => saveHistory(history, h));
  rl.on('SIGINT', () => {
    io.output.write('^C\n');
    rl.write(null, { ctrl: true, name: 'u' });
    rl.prompt();
  });
  let ended = false;
  void io.gone?.then(() => {
    ended = true;
    rl.close();
  });
  let exitCode = 0;
  if (tty) rl.prompt();
  for await (const line of rl) {
    const cmd = line.trim();
    if (cmd !== '' && !cmd.startsWith('#')) {
      const r = await exec(cmd);
      if (r.out !== '') io.output.write(r.out.endsWith('\n') ? r.out : `${r.out}\n`);
      io.errors.write(errorLine(r));
      if (r.error !== null && exitCode === 0) exitCode = r.error.exitCode;
      if (r.quit || ended) break;
    }
    if (tty) rl.prompt();
  }
  rl.close();
  return exitCode;
}
