/**
 * Tab completion from the command table: the first word completes to a
 * command name, later words to what the command's `complete` offers for
 * that argument (subcommands, flags, file paths).
 */
import { readdirSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Completer } from 'node:readline';
import { splitLine } from './words.js';

export interface Completable {
  name: string;
  /** Candidates for argument `i` (0-based) after the words `before`, before filtering by what is typed. */
  complete?: (i: number, before: string[], typed: string) => readonly string[];
}

/** Paths starting with `typed` (directories with a trailing slash), for a file argument. */
export function files(typed: string): string[] {
  const dir = typed.endsWith('/') ? typed : dirname(typed);
  const base = typed.endsWith('/') ? '' : basename(typed);
  try {
    return readdirSync(dir === '' ? '.' : dir)
      .filter((f) => f.startsWith(base) && (base.startsWith('.') || !f.startsWith('.')))
      .map((f) => {
        const p = typed.includes('/') ? join(dir, f) : f;
        return statSync(p).isDirectory() ? `${p}/` : p;
      });
  } catch {
    return [];
  }
}

export function completer(table: readonly Completable[]): Completer {
  return (line: string): [string[], string] => {
    let words: string[];
    let open: boolean;
    try {
      ({ words, open } = splitLine(line));
    } catch {
      return [[], line];
    }
    const typed = open ? (words.pop() ?? '') : '';
    const pick = (c: readonly string[]): [string[], string] => {
      const hits = c.filter((x) => x.startsWith(typed));
      // One candidate: a blank after it, ready for the next word (not after a directory).
      return [hits.length === 1 && !hits[0].endsWith('/') ? [`${hits[0]} `] : hits, typed];
    };
    if (words.length === 0) return pick(table.map((c) => c.name));
    const cmd = table.find((c) => c.name === words[0]);
    return pick(cmd?.complete?.(words.length - 1, words.slice(1), typed) ?? []);
  };
}
