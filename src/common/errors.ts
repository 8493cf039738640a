/**
 * The control plane's coded errors, in undici's style: every error a user can
 * meet at the command line (and later over REST) is a VaigaiError with a
 * stable `code` that tests and scripts match, never its wording. Each class
 * carries the process exit code it ends a run with (README, "Exit codes").
 */

/** Exit codes of the `vaigai` command. */
export const EXIT_OK = 0;
/** Bad usage or configuration, found before any traffic. */
export const EXIT_USAGE = 1;
/** The run could not start: the port, permissions, a worker. */
export const EXIT_START = 2;
/** The run completed with failures (beyond --allow-errors). */
export const EXIT_FAILURES = 3;
/** A threshold (--threshold, the profile's thresholds) failed; it wins over EXIT_FAILURES. */
export const EXIT_THRESHOLDS = 4;

export class VaigaiError extends Error {
  code = 'VG_ERR';
  exitCode = EXIT_START;
}

/** An option, or a field of a configuration, that cannot be used; names it. */
export class InvalidOptionError extends VaigaiError {
  override code = 'VG_ERR_INVALID_OPTION';
  override exitCode = EXIT_USAGE;
  constructor(
    readonly option: string,
    detail: string,
  ) {
    super(`${option}: ${detail}`);
  }
}

/** A field of a traffic profile that cannot be used; `pointer` names it (RFC 6901). */
export class InvalidProfileError extends VaigaiError {
  override code = 'VG_ERR_INVALID_PROFILE';
  override exitCode = EXIT_USAGE;
  constructor(
    readonly pointer: string,
    detail: string,
    /** Where the profile came from (a file, or the command line). */
    readonly source = 'profile',
  ) {
    super(`${source}: ${pointer === '' ? '/' : pointer}: ${detail}`);
  }
}

/**
 * A threshold expression that cannot be used: `where` names the option or the
 * profile's field (`--config FILE: /thresholds/1`), `part` the offending part.
 */
export class InvalidThresholdError extends VaigaiError {
  override code = 'VG_ERR_INVALID_THRESHOLD';
  override exitCode = EXIT_USAGE;
  constructor(
    readonly where: string,
    readonly expr: string,
    readonly part: string,
    detail: string,
  ) {
    super(`${where}: "${expr}"${part === expr ? '' : ` at "${part}"`}: ${detail}`);
  }
}

/** A destination that is neither on-link nor routable from the owned addresses. */
export class NoRouteError extends InvalidOptionError {
  override code = 'VG_ERR_NO_ROUTE';
}

/** A file argument that cannot be read or written. */
export class FileAccessError extends InvalidOptionError {
  override code = 'VG_ERR_FILE_ACCESS';
}

/** The port could not be opened (driver, interface, permissions). */
export class PortOpenError extends VaigaiError {
  override code = 'VG_ERR_PORT_OPEN';
  constructor(detail: string) {
    super(`--port: ${detail}`);
  }
}

/** A worker failed to start or failed while running. */
export class WorkerFailedError extends VaigaiError {
  override code = 'VG_ERR_WORKER';
}

/** A control command that the generator's state does not allow (reset while running, stop while idle...). */
export class StateError extends VaigaiError {
  override code = 'VG_ERR_STATE';
  override exitCode = EXIT_USAGE;
}

/** A configuration change that cannot reach a running load (a field the workers fixed at start); `pointer` names it. */
export class NotLiveError extends InvalidProfileError {
  override code = 'VG_ERR_NOT_LIVE';
}

/** A command of the management plane that this version does not have yet. */
export class NotBuiltError extends VaigaiError {
  override code = 'VG_ERR_NOT_BUILT';
  override exitCode = EXIT_USAGE;
}

/** A control request that is not well formed (not JSON, a body too large, no such route); `status` is its HTTP answer. */
export class BadRequestError extends VaigaiError {
  override exitCode = EXIT_USAGE;
  constructor(
    override readonly code: 'VG_ERR_BAD_JSON' | 'VG_ERR_TOO_LARGE' | 'VG_ERR_NOT_FOUND' | 'VG_ERR_UNAUTHORIZED' | 'VG_ERR_BAD_REQUEST',
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** A console line that names no command (the console's `help` lists them). */
export class UnknownCommandError extends VaigaiError {
  override code = 'VG_ERR_UNKNOWN_COMMAND';
  override exitCode = EXIT_USAGE;
}

/** The console socket: nobody listens there (--attach), or a live generator already does (serving it). */
export class ConsoleSocketError extends VaigaiError {
  override code = 'VG_ERR_CONSOLE_SOCKET';
}

/** The exit code an error ends the process with: its own, or EXIT_START for anything unforeseen. */
export function exitCodeOf(e: unknown): number {
  return e instanceof VaigaiError ? e.exitCode : EXIT_START;
}
