/**
 * The run command's console options: `--interactive` (the stack up, a
 * console on this terminal or script), `--attach [socket]` (a console of a
 * generator already running), `--socket` (where a generator serves its
 * console), and the history file.
 */
import { Option, type Command } from 'commander';
import { defaultHistoryPath } from '../console/history.js';
import { defaultSocketPath } from '../console/socket_path.js';

export interface ConsoleFlags {
  interactive?: boolean;
  /** true: the default socket. */
  attach?: string | true;
  socket?: string;
  /** false: --no-history. */
  history?: string | false;
}

export function addConsoleOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('-i, --interactive', 'bring the stack up and wait for commands on a console (prompt vaigai>; a script over a pipe); the default on a terminal without a mode'))
    .addOption(new Option('--attach [socket]', `a console of a running generator, over its Unix socket (default ${defaultSocketPath()})`).conflicts(['port', 'interactive', 'socket']))
    .addOption(new Option('--socket <path>', `where the generator serves its console for --attach, mode 0600 (default with a console: ${defaultSocketPath()})`))
    .addOption(new Option('--history <file>', `the console's history file (default ${defaultHistoryPath()})`).env('VAIGAI_HISTORY'))
    .addOption(new Option('--no-history', 'keep no console history'));
}

/** The history file the flags give: --history, VAIGAI_HISTORY, the default, or none (--no-history). */
export function historyOf(f: ConsoleFlags): string | null {
  return f.history === false ? null : (f.history ?? defaultHistoryPath());
}
