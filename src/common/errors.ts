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

/** The exit code an error ends the process with: its own, or EXIT_START for anything unforeseen. */
export function exitCodeOf(e: unknown): number {
  return e instanceof VaigaiError ? e.exitCode : EXIT_START;
}
