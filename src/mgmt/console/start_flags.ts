/**
 * `start`'s words: the run flags of the command line, parsed by the very
 * Option definitions of the run command (src/mgmt/cli/run.ts), on top of the
 * generator's stack options. The flags that describe the stack (port,
 * addresses, routes, TCP, workers, capture, management) were fixed when the
 * generator started; `start` refuses them.
 */
import { Command, CommanderError, type Option } from 'commander';
import { InvalidOptionError } from '../../common/errors.js';
import type { LoadPlan } from '../../run/controller.js';
import { parseRunOptions, type RawRunOptions } from '../cli/stack_config.js';

/** The run command's options that belong to the generator, not to a load (by attribute name). */
const STACK_KEYS = new Set([
  'port', 'srcIp', 'gateway', 'route', 'vlan', 'mac', 'maxConns', 'tcpWindow', 'cc', 'workers', 'pcap', 'json', 'saveConfig',
  'restPort', 'restBind', 'restToken', 'interactive', 'attach', 'socket', 'history',
]);

const LOAD_KINDS = new Set(['client', 'tcp_connect', 'udp_client', 'icmp_client']);

export interface StartFlags {
  /** The long flags `start` takes, for completion. */
  flags: string[];
  /** `start`'s words as a load on the stack. */
  plan(words: string[]): LoadPlan;
}

export function startFlags(run: Command, generator: RawRunOptions, ealArgs: string[]): StartFlags {
  const options: Option[] = run.options.filter((o) => !STACK_KEYS.has(o.attributeName()));
  const stack = Object.fromEntries(Object.entries(generator).filter(([k]) => STACK_KEYS.has(k))) as RawRunOptions;
  return {
    flags: options.map((o) => o.long ?? '').filter((f) => f !== ''),
    plan(words: string[]): LoadPlan {
      const cmd = new Command('start').exitOverride().configureOutput({ writeOut: () => {}, writeErr: () => {} }).helpOption(false);
      for (const o of options) cmd.addOption(o);
      try {
        cmd.parse(words, { from: 'user' });
      } catch (e) {
        if (!(e instanceof CommanderError)) throw e;
        const stackFlag = /'(--[a-z-]+)/.exec(e.message)?.[1];
        const fixed = stackFlag !== undefined && run.options.some((o) => o.long === stackFlag && STACK_KEYS.has(o.attributeName()));
        throw new InvalidOptionError(fixed ? stackFlag : 'start', fixed ? "is the generator's, fixed when it started" : e.message.replace(/^error: /, ''));
      }
      // Only what the line gives: a default or an environment variable must not override the generator's.
      const given = Object.fromEntries(Object.entries(cmd.opts()).filter(([k]) => cmd.getOptionValueSource(k) === 'cli'));
      const plan = parseRunOptions({ ...stack, ...given }, ealArgs);
      if (LOAD_KINDS.has(plan.mode.kind)) return { mode: plan.mode, durationS: plan.durationS };
      if (plan.mode.kind === 'stack') throw new InvalidOptionError('start', 'give a load: --client URL or --config FILE (or nothing, for the current config)');
      throw new InvalidOptionError('start', `a ${plan.mode.kind} service is not a load: give it when the generator starts`);
    },
  };
}
