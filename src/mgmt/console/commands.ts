/**
 * The console's commands, one table: each with its arguments, what tab
 * completes for them, its help and its handler. A handler answers text (JSON
 * for data: one line over a pipe, indented on a terminal) or throws a coded
 * error (src/common/errors.ts). The commands drive the generator's one
 * controller (src/run/controller.ts), as the REST API does.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { FileAccessError, InvalidOptionError, InvalidProfileError, StateError } from '../../common/errors.js';
import { probeSummaryText } from '../../engine/probe_report.js';
import { SHOW_TOPICS, type Controller, type LoadPlan, type ShowTopic } from '../../run/controller.js';
import { files, type Completable } from './completion.js';

export interface ConsoleContext {
  ctl: Controller;
  /** `start`'s words as a load on the generator's stack: the run flags, parsed by the command line's definitions. */
  planStart(words: string[]): LoadPlan;
  /** Data as indented JSON (a terminal) or one line (a pipe). */
  pretty: boolean;
}

export interface ConsoleCommand extends Completable {
  /** The arguments, as help shows them. */
  args: string;
  /** One line for `help`; `help` with the command adds `help`. */
  summary: string;
  help: string;
  /** Ends this console (`quit`). */
  quits?: true;
  run(ctx: ConsoleContext, args: string[]): Promise<string>;
}

const SET_TARGETS = ['cps', 'rps', 'concurrency'] as const;

function json(ctx: ConsoleContext, v: unknown): string {
  return ctx.pretty ? JSON.stringify(v, null, 2) : JSON.stringify(v);
}

/** Argument `i` of a command, required. */
function arg(cmd: ConsoleCommand, args: string[], i: number): string {
  const a = args[i];
  if (a === undefined) throw new InvalidOptionError(cmd.name, `usage: ${cmd.name} ${cmd.args}`);
  return a;
}

function noMoreThan(cmd: ConsoleCommand, args: string[], n: number): void {
  if (args.length > n) throw new InvalidOptionError(cmd.name, `unexpected "${args[n]}"; usage: ${cmd.name} ${cmd.args}`.trimEnd());
}

/** A number argument in lo..hi (an integer unless `real`), refused by its name. */
function num(name: string, text: string | undefined, fallback: number, lo: number, hi: number, real = false): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (text.trim() === '' || !(n >= lo && n <= hi) || (!real && !Number.isInteger(n))) {
    throw new InvalidOptionError(name, `"${text}" is not ${real ? 'a number' : 'an integer'} in ${lo}..${hi}`);
  }
  return n;
}

/** A command without arguments. */
function noArgs(name: string, summary: string, help: string, run: (ctx: ConsoleContext) => Promise<string> | string): ConsoleCommand {
  return {
    name,
    summary,
    args: '',
    help,
    async run(ctx, args) {
      noMoreThan(this, args, 0);
      return run(ctx);
    },
  };
}

/** The commands; `startFlags` are the run flags `start` completes. */
export function consoleCommands(startFlags: readonly string[]): ConsoleCommand[] {
  const table: ConsoleCommand[] = [
    {
      name: 'start',
      summary: 'start a load',
      args: '[run flags | --config FILE]',
      help: 'start a load: the run flags of the command line (--client URL, --rate, --connections, --duration, ...) or a profile (--config FILE); without any, the current config (load, PUT /api/v1/config)',
      complete: (_i, _before, typed) => (typed.startsWith('-') ? startFlags : files(typed)),
      async run(ctx, args) {
        const load = args.length === 0 ? undefined : ctx.planStart(args);
        return json(ctx, await ctx.ctl.start(load));
      },
    },
    noArgs('stop', 'stop the running load', "stop the running load (open requests drain, then every connection closes); prints its seconds and the load's summary", async (ctx) => {
      const r = await ctx.ctl.stop();
      return json(ctx, { seconds: r.seconds, app: r.app });
    }),
    noArgs('status', "the generator's state", 'the state (idle, running, ...), since when, the workers, the load seconds, the last error', (ctx) => json(ctx, ctx.ctl.status())),
    noArgs('stats', 'the counters (JSON)', "the counters as JSON (as --json writes them, with the state and per-second entries): the running load's, else the last load's, else the stack's", (ctx) =>
      json(ctx, ctx.ctl.stats()),
    ),
    noArgs('reset', "clear the last load's counters", "clear the last load's counters (refused while a load runs)", (ctx) => {
      ctx.ctl.reset();
      return 'reset';
    }),
    {
      name: 'ping',
      summary: 'ICMP echo from the stack',
      args: '<ip> [count] [size] [interval_ms]',
      help: 'ICMP echo from the stack: count requests (4) of size data bytes (64, 16..1472) every interval_ms (1000); the generator must be idle',
      async run(ctx, args) {
        noMoreThan(this, args, 4);
        const ip = arg(this, args, 0);
        const app = await ctx.ctl.ping(ip, num('count', args[1], 4, 1, 1e6), num('size', args[2], 64, 16, 1472), num('interval_ms', args[3], 1000, 1, 60_000, true));
        return probeSummaryText('icmp_client', app as Record<string, unknown>);
      },
    },
    {
      name: 'show',
      summary: 'what the generator holds (JSON)',
      args: `<${SHOW_TOPICS.join('|')}>`,
      help: 'what the generator holds, as JSON: the interface, the config, the flows, the ARP table, the routes, the workers, the connections',
      complete: (i) => (i === 0 ? SHOW_TOPICS : []),
      async run(ctx, args) {
        noMoreThan(this, args, 1);
        const topic = arg(this, args, 0);
        if (!(SHOW_TOPICS as readonly string[]).includes(topic)) throw new InvalidOptionError('show', `no such topic "${topic}": ${SHOW_TOPICS.join(', ')}`);
        return json(ctx, ctx.ctl.show(topic as ShowTopic));
      },
    },
    {
      name: 'set',
      summary: 'change a target, live when a load runs',
      args: `<${SET_TARGETS.join('|')}> <n>`,
      help: "change the config's target: connections or requests per second, or concurrency (the closed model's connections, the open model's cap); live when a load runs, each worker acking its share",
      complete: (i) => (i === 0 ? SET_TARGETS : []),
      async run(ctx, args) {
        noMoreThan(this, args, 2);
        const what = arg(this, args, 0);
        if (!(SET_TARGETS as readonly string[]).includes(what)) throw new InvalidOptionError('set', `"${what}" is not ${SET_TARGETS.join(', ')}`);
        const n = num(what, arg(this, args, 1), 0, 0, 1e9, what !== 'concurrency');
        const r = await ctx.ctl.set(what as (typeof SET_TARGETS)[number], n);
        return json(ctx, { live: r.live, acks: r.acks, late: r.late });
      },
    },
    {
      name: 'load',
      summary: 'make a profile file the config',
      args: '<file>',
      help: 'make a traffic profile (JSON, `vaigai schema`) the config, checked whole; `start` runs it',
      complete: (i, _b, typed) => (i === 0 ? files(typed) : []),
      async run(ctx, args) {
        noMoreThan(this, args, 1);
        const file = arg(this, args, 0);
        let raw: unknown;
        try {
          raw = JSON.parse(readFileSync(file, 'utf8'));
        } catch (e) {
          if (e instanceof SyntaxError) throw new InvalidProfileError('', `not JSON: ${e.message}`, file);
          throw new FileAccessError('load', `cannot read "${file}": ${(e as Error).message}`);
        }
        const r = await ctx.ctl.putConfig(raw, file);
        return json(ctx, { loaded: file, live: r.live, acks: r.acks, late: r.late });
      },
    },
    {
      name: 'save',
      summary: 'write the config to a file',
      args: '<file>',
      help: 'write the config (the traffic profile, defaults filled in) to a file that `load` and --config read',
      complete: (i, _b, typed) => (i === 0 ? files(typed) : []),
      async run(ctx, args) {
        noMoreThan(this, args, 1);
        const file = arg(this, args, 0);
        const p = ctx.ctl.getConfig();
        if (p === null) throw new StateError('save: no config: start a load or load a profile first');
        try {
          writeFileSync(file, `${JSON.stringify(p, null, 2)}\n`);
        } catch (e) {
          throw new FileAccessError('save', `cannot write "${file}": ${(e as Error).message}`);
        }
        return `saved ${file}`;
      },
    },
    {
      name: 'trace',
      summary: 'capture the frames to a pcapng file',
      args: '<start <file.pcapng>|stop>',
      help: 'capture every frame the workers receive and send, across loads, until `trace stop` writes the file (pcapng)',
      complete: (i, _b, typed) => (i === 0 ? ['start', 'stop'] : i === 1 ? files(typed) : []),
      async run(ctx, args) {
        const action = arg(this, args, 0);
        if (action === 'stop') {
          noMoreThan(this, args, 1);
          const r = await ctx.ctl.trace('stop');
          return `trace: ${r.frames} frames to ${r.file}`;
        }
        if (action !== 'start') throw new InvalidOptionError('trace', `"${action}" is not start or stop`);
        noMoreThan(this, args, 2);
        const r = await ctx.ctl.trace('start', arg(this, args, 1));
        return `tracing to ${r.file}`;
      },
    },
    {
      name: 'help',
      summary: 'this list, or one command in full',
      args: '[command]',
      help: 'the commands, or one command in full',
      complete: (i) => (i === 0 ? table.map((c) => c.name) : []),
      async run(_ctx, args) {
        noMoreThan(this, args, 1);
        if (args.length === 0) {
          const usage = table.map((c) => `${c.name} ${c.args}`.trimEnd());
          const width = Math.max(...usage.map((u) => u.length)) + 2;
          return table.map((c, i) => `${usage[i].padEnd(width)}${c.summary}`).join('\n');
        }
        const c = table.find((x) => x.name === args[0]);
        if (c === undefined) throw new InvalidOptionError('help', `no such command "${args[0]}"`);
        return `${c.name} ${c.args}\n  ${c.help}`;
      },
    },
    { ...noArgs('quit', 'end this console', "end the console: the generator's own stops its load and exits; an attached one (--attach) detaches", () => ''), quits: true },
  ];
  return table;
}
