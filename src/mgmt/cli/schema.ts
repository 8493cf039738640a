/**
 * `vaigai schema`: the traffic profile's JSON Schema (generated from the
 * TypeBox types of src/run/profile.ts), for editors and for checking
 * profiles with any JSON Schema validator.
 */
import type { Command } from 'commander';
import { editorSchema } from '../../run/profile.js';

export function registerSchema(program: Command): void {
  program
    .command('schema')
    .description("print the traffic profile's JSON Schema (for --config files)")
    .action(() => {
      process.stdout.write(`${JSON.stringify(editorSchema(), null, 2)}\n`);
    });
}
