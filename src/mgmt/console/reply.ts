/**
 * What a console command answers: its output, or the coded error it failed
 * with (code and exit code from src/common/errors.ts), and whether the
 * console ends. The same object crosses the --attach socket as one JSON line.
 */
import { exitCodeOf, VaigaiError } from '../../common/errors.js';

export interface ReplyError {
  code: string;
  message: string;
  exitCode: number;
}

export interface Reply {
  out: string;
  error: ReplyError | null;
  quit: boolean;
}

/** Runs one command line; never rejects (a failure is a Reply with `error`). */
export type Execute = (line: string) => Promise<Reply>;

export function errorReply(e: unknown): Reply {
  const code = e instanceof VaigaiError ? e.code : 'VG_ERR';
  return { out: '', error: { code, message: e instanceof Error ? e.message : String(e), exitCode: exitCodeOf(e) }, quit: false };
}
