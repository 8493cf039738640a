/**
 * The console's history file: one command per line, oldest first, the last
 * HISTORY_SIZE kept. By default `$XDG_STATE_HOME/vaigai/history` (XDG's place
 * for state that outlives a run; `~/.local/state` when the variable is unset);
 * `--history FILE` (or VAIGAI_HISTORY) names another, `--no-history` keeps none.
 * A file that cannot be read or written leaves the console without history
 * rather than refusing it.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

export const HISTORY_SIZE = 1000;

export function defaultHistoryPath(): string {
  const state = process.env.XDG_STATE_HOME;
  return join(state !== undefined && state !== '' ? state : join(homedir(), '.local', 'state'), 'vaigai', 'history');
}

/** The file's commands, newest first (as readline holds them); none when it cannot be read. */
export function loadHistory(path: string): string[] {
  try {
    return readFileSync(path, 'utf8').split('\n').filter((l) => l !== '').reverse().slice(0, HISTORY_SIZE);
  } catch {
    return [];
  }
}

/** Writes readline's history (newest first) to the file, oldest first. */
export function saveHistory(path: string, newestFirst: readonly string[]): void {
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const lines = newestFirst.slice(0, HISTORY_SIZE).map((l) => l.trim()).filter((l) => l !== '');
    writeFileSync(path, lines.reverse().map((l) => `${l}\n`).join(''), { mode: 0o600 });
  } catch {
    // No history is better than no console.
  }
}
