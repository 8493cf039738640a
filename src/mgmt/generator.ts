/**
 * The long-running generator from the command line (src/run/controller.ts):
 * `vaigai --interactive`, or a terminal and no mode, brings the stack up and
 * waits for commands on its consoles (src/mgmt/console/). A load given on the
 * command line starts at once. The session lines (start line, live lines,
 * summaries) go to the log at debug: stdout is the console's. SIGINT and
 * SIGTERM close the generator (a load drains and closes first); so do `quit`
 * and the end of the console's input. Exit code: the console's (0, or the
 * first failed command's), or the generator's failure.
 */
import type { Command } from 'commander';
import { WorkerFailedError } from '../common/errors.js';
import { Controller, type LoadPlan } from '../run/controller.js';
import type { RunPlan } from '../run/plan.js';
import { logger } from '../telemetry/log.js';
import { profileLoad, type RawRunOptions } from './cli/stack_config.js';
import { startConsoles, type ConsolesOptions } from './console/consoles.js';
import { startFlags } from './console/start_flags.js';

/** The modes that are loads (they end); the others are services the idle stack runs throughout. */
function loadOf(plan: RunPlan): LoadPlan | undefined {
  const k = plan.mode.kind;
  return k === 'client' || k === 'tcp_connect' || k === 'udp_client' || k === 'icmp_client' ? { mode: plan.mode, durationS: plan.durationS } : undefined;
}

export interface GeneratorConsoles extends Omit<ConsolesOptions, 'start'> {
  /** The run command, whose options `start` parses. */
  run: Command;
  eal: string[];
}

export async function runGenerator(plan: RunPlan, workers: number, raw: RawRunOptions, consoles: GeneratorConsoles): Promise<void> {
  const initial = loadOf(plan);
  const base: RunPlan = initial === undefined ? plan : { ...plan, mode: { kind: 'stack' } };
  const ctl = await Controller.open({
    plan: base,
    workers,
    planLoad: (p, source) => profileLoad(p, base, raw, source),
    log: (line) => logger().debug({ event: 'session' }, line),
    ...(initial !== undefined ? { initial } : {}),
  });
  let stops = 0;
  let closing = false;
  const close = (): Promise<void> => {
    closing = true;
    return ctl.close();
  };
  const onSignal = (): void => {
    if (++stops > 1) process.exit(130);
    void close();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let code = 0;
  try {
    const c = await startConsoles(ctl, { ...consoles, start: startFlags(consoles.run, raw, consoles.eal) }).catch(async (e: unknown) => {
      await close();
      throw e;
    });
    void c.local?.then(async (n) => {
      code = n;
      await close();
    });
    await ctl.closed;
    c.close();
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  // Closed by itself: the stack failed (a worker).
  if (!closing) throw new WorkerFailedError(ctl.status().lastError ?? 'the generator stopped');
  process.exitCode = code;
}
