/**
 * Process start: parses the command line and hands over to a subcommand.
 * Each subcommand lives in src/mgmt/cli/ and registers itself on the program.
 * Errors end the process with the exit code their class carries
 * (src/common/errors.ts; README, "Exit codes"), the reason printed last.
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { exitCodeOf } from './common/errors.js';
import { registerDemo } from './mgmt/cli/demo.js';
import { registerImpair } from './mgmt/cli/impair.js';
import { logOptionsHelp, registerLogOptions } from './mgmt/cli/log_options.js';
import { driversHelp, registerRun } from './mgmt/cli/run.js';
import { registerReport } from './mgmt/cli/report.js';
import { registerSchema } from './mgmt/cli/schema.js';
import { logger } from './telemetry/log.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command();
program
  .name('vaigai')
  .description('Stateful L2-L7 traffic generator with its own user-space TCP/IP stack')
  .version(pkg.version, '-V, --version');
registerLogOptions(program);
const run = registerRun(program);
registerImpair(program);
registerDemo(program);
registerSchema(program);
registerReport(program);
// `vaigai --help` is the default command's help (its options and the drivers), then the subcommands.
program.helpInformation = (): string =>
  `${run.helpInformation().replace(/^Usage: vaigai run /, 'Usage: vaigai [run] ')}\n${driversHelp()}\n\n${logOptionsHelp(program)}\n\nCommands:\n` +
  program.commands.map((c) => `  ${c.name().padEnd(8)} ${c.description()}`).join('\n') +
  '\n\nExit codes: 0 success, 1 bad usage or configuration, 2 the run could not start, 3 the run completed with failures, 4 a threshold failed.\n';

program.parseAsync(process.argv).catch((err: unknown) => {
  logger().error({ event: 'error', code: (err as { code?: unknown }).code ?? 'VG_ERR', exitCode: exitCodeOf(err) }, err instanceof Error ? err.message : String(err));
  console.error(`vaigai: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(exitCodeOf(err));
});
