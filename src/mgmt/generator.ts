/**
 * The long-running generator from the command line (src/run/controller.ts),
 * with its REST API and /metrics (-R PORT) and/or its consoles
 * (`--interactive`, or a terminal and no mode; `--socket` for --attach).
 * Without a load on the command line the stack comes up and waits for one;
 * with one, it starts at once and, without a console, the generator ends with
 * it as the plain run does. With a console on this terminal or script, the
 * session lines (start line, live lines, summaries) go to the log at debug:
 * stdout is the console's; `quit` or the end of its input closes the
 * generator, which exits with the console's code (0, or the first failed
 * command's). SIGINT/SIGTERM close it (a load drains and closes first); a
 * second one exits at once.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { clientExitCode, type LoadSummary } from '../engine/report.js';
import { Controller, type LoadPlan } from '../run/controller.js';
import type { RunPlan } from '../run/plan.js';
import { logger } from '../telemetry/log.js';
import { profileLoad, type RawRunOptions } from './cli/stack_config.js';
import { startConsoles, type Consoles, type ConsolesOptions } from './console/consoles.js';
import { startFlags } from './console/start_flags.js';
import { startRest } from './rest/server.js';

export interface RestFlags {
  restPort: number;
  restBind: string;
  restToken?: string;
}

export interface GeneratorConsoles extends Omit<ConsolesOptions, 'start'> {
  /** The run command, whose options `start` parses. */
  run: Command;
  eal: string[];
}

const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };

/** The modes that are loads (they end); the others are services the idle stack runs throughout. */
function loadOf(plan: RunPlan): LoadPlan | undefined {
  const k = plan.mode.kind;
  return k === 'client' || k === 'tcp_connect' || k === 'udp_client' || k === 'icmp_client' ? { mode: plan.mode, durationS: plan.durationS } : undefined;
}

/** Runs the generator until it closes; sets the exit code of its command-line load, or its console's. */
export async function runGenerator(
  plan: RunPlan,
  workers: number,
  raw: RawRunOptions,
  { rest, consoles }: { rest: RestFlags | null; consoles: GeneratorConsoles | null },
): Promise<void> {
  const local = consoles?.local === true;
  const initial = loadOf(plan);
  const base: RunPlan = initial === undefined ? plan : { ...plan, mode: { kind: 'stack' } };
  const ctl = await Controller.open({
    plan: base,
    workers,
    planLoad: (p, source) => profileLoad(p, base, raw, source),
    ...(initial !== undefined ? { initial, exitWhenDone: !local } : {}),
    ...(local ? { log: (line: string) => logger().debug({ event: 'session' }, line) } : {}),
  });
  let lastApp: unknown = null;
  ctl.on('result', (r: { app: unknown }) => (lastApp = r.app));
  let closedByUs = false;
  const close = (): Promise<void> => {
    closedByUs = true;
    return ctl.close();
  };
  let stops = 0;
  const onSignal = (): void => {
    if (++stops > 1) process.exit(130);
    void close();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let consoleCode = 0;
  let c: Consoles | null = null;
  try {
    const app =
      rest === null
        ? null
        : await startRest(ctl, { port: rest.restPort, bind: rest.restBind, token: rest.restToken ?? null, version: pkg.version }).catch(async (e: unknown) => {
            await close();
            throw e;
          });
    if (rest !== null) {
      const banner = `vaigai: REST API on http://${rest.restBind.includes(':') ? `[${rest.restBind}]` : rest.restBind}:${rest.restPort}/api/v1 (Prometheus: /metrics)`;
      if (local) logger().info({ event: 'rest', port: rest.restPort, bind: rest.restBind }, banner);
      else console.log(banner);
    }
    if (consoles !== null) {
      c = await startConsoles(ctl, { ...consoles, start: startFlags(consoles.run, raw, consoles.eal) }).catch(async (e: unknown) => {
        await close();
        await app?.close();
        throw e;
      });
      void c.local?.then(async (n) => {
        consoleCode = n;
        await close();
      });
    }
    await ctl.closed;
    c?.close();
    await app?.close();
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  // A console's generator ends as its console says; a load that failed it (a worker), or the stack, is its error.
  if (local && closedByUs) {
    process.exitCode = consoleCode;
    return;
  }
  const failure = ctl.failure;
  if (failure !== null) throw failure;
  if (initial?.mode.kind === 'client' && lastApp !== null) {
    const v = clientExitCode(lastApp as LoadSummary, initial.mode.allowErrors);
    if (v.reason !== '') console.error(`vaigai: ${v.reason}`);
    if (v.code !== 0) process.exitCode = v.code;
  }
}
