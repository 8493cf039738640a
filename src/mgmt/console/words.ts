/**
 * A console line as words, as a shell splits it: blanks separate words;
 * single quotes keep everything literally, double quotes keep blanks, and a
 * backslash outside single quotes takes the next character as it is.
 */
import { InvalidOptionError } from '../../common/errors.js';

export interface SplitLine {
  words: string[];
  /** The line ends inside a word (no blank after it): completion completes that word. */
  open: boolean;
}

export function splitLine(line: string): SplitLine {
  const words: string[] = [];
  let word: string | null = null;
  let quote: '' | "'" | '"' = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote === "'") {
      if (c === "'") quote = '';
      else word += c;
    } else if (c === '\\' && i + 1 < line.length) {
      word = (word ?? '') + line[++i];
    } else if (quote === '"') {
      if (c === '"') quote = '';
      else word += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      word ??= '';
    } else if (c === ' ' || c === '\t') {
      if (word !== null) words.push(word);
      word = null;
    } else {
      word = (word ?? '') + c;
    }
  }
  if (quote !== '') throw new InvalidOptionError('line', `unterminated ${quote === '"' ? 'double' : 'single'} quote`);
  if (word !== null) words.push(word);
  return { words, open: word !== null };
}
