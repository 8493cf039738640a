/**
 * Structured logs (pino): the management side's events - a run's start and
 * stop, configuration changes, errors - one record each. They go to stderr
 * (or --log-file), never to stdout: stdout carries the live lines, the summary
 * and the console's answers, which scripts and tests parse line by line.
 * JSON lines (`level` as its name, `time` ISO 8601, `msg`, the event's fields)
 * unless both stdout and the log's destination are terminals; then one
 * readable line per record. Only the main thread logs; workers never do.
 */
import { pino, type DestinationStream, type Logger } from 'pino';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LogOptions {
  level: LogLevel;
  /** Append the records to this file (JSON) instead of stderr. */
  file: string | null;
}

/** Fields of a record that its readable line shows by themselves, not as key=value. */
const HEAD_FIELDS = new Set(['level', 'time', 'msg', 'pid', 'hostname']);

/** One JSON record as a terminal line: `12:00:01.250 INFO  run started port=... workers=1`. */
function readableLine(json: string): string {
  const r = JSON.parse(json) as Record<string, unknown>;
  const time = typeof r.time === 'string' ? r.time.slice(11, 23) : '';
  const fields = Object.entries(r)
    .filter(([k]) => !HEAD_FIELDS.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v)}`);
  return `${time} ${String(r.level).toUpperCase().padEnd(5)} ${String(r.msg ?? '')}${fields.length > 0 ? ` ${fields.join(' ')}` : ''}\n`;
}

function destination(opts: LogOptions): DestinationStream {
  // Synchronous writes: a record logged just before process.exit is not lost.
  if (opts.file !== null) return pino.destination({ dest: opts.file, sync: true, append: true, mkdir: true });
  if (process.stdout.isTTY === true && process.stderr.isTTY === true) return { write: (s: string) => void process.stderr.write(readableLine(s)) };
  return pino.destination({ dest: 2, sync: true });
}

function build(opts: LogOptions): Logger {
  return pino(
    {
      level: opts.level,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination(opts),
  );
}

let current = build({ level: 'info', file: null });

/** Sets the level and destination (from --log-level and --log-file), before the command runs. */
export function configureLog(opts: LogOptions): void {
  current = build(opts);
}

/** The process's logger. */
export function logger(): Logger {
  return current;
}
