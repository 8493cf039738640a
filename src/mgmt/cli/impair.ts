import type { Command } from 'commander';

export function registerImpair(program: Command): void {
  program.command('impair').description('(not built yet)').action(() => {
    throw new Error('impair: not built yet');
  });
}
