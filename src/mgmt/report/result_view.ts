/**
 * Whether a parsed file is a run result (src/run/result_schema.ts), as
 * `vaigai report` needs one: the first field that does not fit, by its JSON
 * pointer.
 */
import { Value } from '@sinclair/typebox/value';
import { RunResult } from '../../run/result_schema.js';

/** Why `v` is not a run result, or null when it is one. */
export function notAResult(v: unknown): string | null {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return 'not a JSON object';
  const e = Value.Errors(RunResult, v).First();
  return e === undefined ? null : `not a vaigai --json result: ${e.path === '' ? '/' : e.path}: ${e.message.charAt(0).toLowerCase()}${e.message.slice(1)}`;
}
