/**
 * `--log-level` and `--log-file`: options of the program, so they apply to
 * every subcommand and may stand anywhere on the line. The logger is set up
 * from them before the command runs (src/telemetry/log.ts).
 */
import { Option, type Command } from 'commander';
import { FileAccessError } from '../../common/errors.js';
import { configureLog, LOG_LEVELS, type LogLevel } from '../../telemetry/log.js';

export function registerLogOptions(program: Command): void {
  program
    .addOption(new Option('--log-level <level>', 'structured log level (records on stderr: JSON unless stdout and stderr are terminals)').choices(LOG_LEVELS).default('info').env('VAIGAI_LOG_LEVEL'))
    .addOption(new Option('--log-file <file>', 'append the log records (JSON) to this file instead of stderr').env('VAIGAI_LOG_FILE'))
    .hook('preAction', (cmd) => {
      const o = cmd.opts<{ logLevel: LogLevel; logFile?: string }>();
      try {
        configureLog({ level: o.logLevel, file: o.logFile ?? null });
      } catch (e) {
        throw new FileAccessError('--log-file', `cannot write "${o.logFile}": ${e instanceof Error ? e.message : String(e)}`);
      }
    });
}

/** The lines of the global options, for the default command's help. */
export function logOptionsHelp(program: Command): string {
  const help = program.createHelp();
  return ['Global options:', ...program.options.filter((o) => o.long?.startsWith('--log-') === true).map((o) => `  ${help.optionTerm(o).padEnd(24)} ${help.optionDescription(o)}`)].join('\n');
}
