/**
 * Process start: parses the command line and hands over to a subcommand.
 * Each subcommand lives in src/mgmt/cli/ and registers itself on the program.
 */
import { Command } from 'commander';
import { registerDemo } from './mgmt/cli/demo.js';
import { registerImpair } from './mgmt/cli/impair.js';
import { registerRun } from './mgmt/cli/run.js';

const program = new Command();
program.name('vaigai').description('Stateful L2-L7 traffic generator with its own user-space TCP/IP stack');
registerRun(program);
registerImpair(program);
registerDemo(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  console.error(`vaigai: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
