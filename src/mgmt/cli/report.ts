/**
 * `vaigai report result.json -o report.html`: the HTML report of a saved
 * --json result, as `--report` writes it at the end of a run.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { FileAccessError, InvalidOptionError } from '../../common/errors.js';
import { renderReport } from '../report/render.js';
import type { RunResult } from '../../run/result_schema.js';
import { notAResult } from '../report/result_view.js';

/** result.json -> result.html (the extension replaced, or appended). */
export function defaultReportPath(input: string): string {
  return /\.json$/i.test(input) ? input.replace(/\.json$/i, '.html') : `${input}.html`;
}

export function registerReport(program: Command): void {
  program
    .command('report')
    .description('render the HTML report of a saved --json result')
    .argument('<result>', 'a result written by --json')
    .addOption(new Option('-o, --output <file>', 'the HTML file to write (default: the result with .html)'))
    .action((input: string, opts: { output?: string }) => {
      let text: string;
      try {
        text = readFileSync(input, 'utf8');
      } catch (e) {
        throw new FileAccessError('<result>', `cannot read "${input}": ${(e as Error).message}`);
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch (e) {
        throw new InvalidOptionError('<result>', `"${input}" is not JSON: ${(e as Error).message}`);
      }
      const why = notAResult(parsed);
      if (why !== null) throw new InvalidOptionError('<result>', `"${input}": ${why}`);
      const out = opts.output ?? defaultReportPath(input);
      const html = renderReport(parsed as RunResult);
      try {
        writeFileSync(out, html);
      } catch (e) {
        throw new FileAccessError('--output', `cannot write "${out}": ${(e as Error).message}`);
      }
      console.log(`vaigai: report of ${input} written to ${out}`);
    });
}
