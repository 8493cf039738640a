/**
 * `vaigai ... -R PORT`: the run as a long-running generator (src/run/controller.ts)
 * with its REST API and /metrics. Without a load on the command line the
 * stack comes up and waits for one (POST /api/v1/start); with one, it runs
 * that load with the API beside it (live changes, stats, metrics) and ends
 * with it, as the plain run does. SIGINT/SIGTERM stop what runs (a load
 * drains and closes as on a plain run); a second one exits at once.
 */
import { readFileSync } from 'node:fs';
import { clientExitCode, type LoadSummary } from '../engine/report.js';
import { Controller, type LoadPlan } from '../run/controller.js';
import type { RunPlan } from '../run/plan.js';
import { profileLoad, type RawRunOptions } from './cli/stack_config.js';
import { startRest } from './rest/server.js';

export interface RestFlags {
  restPort: number;
  restBind: string;
  restToken?: string;
}

const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };

/** The modes that are loads (they end); the others are services the idle stack runs throughout. */
function loadOf(plan: RunPlan): LoadPlan | undefined {
  const k = plan.mode.kind;
  return k === 'client' || k === 'tcp_connect' || k === 'udp_client' || k === 'icmp_client' ? { mode: plan.mode, durationS: plan.durationS } : undefined;
}

/** Runs the generator until it closes; sets the exit code of its command-line load. */
export async function runGenerator(plan: RunPlan, workers: number, raw: RawRunOptions, rest: RestFlags): Promise<void> {
  const initial = loadOf(plan);
  const base: RunPlan = initial === undefined ? plan : { ...plan, mode: { kind: 'stack' } };
  const ctl = await Controller.open({
    plan: base,
    workers,
    planLoad: (p, source) => profileLoad(p, base, raw, source),
    ...(initial !== undefined ? { initial, exitWhenDone: true } : {}),
  });
  let lastApp: unknown = null;
  ctl.on('result', (r: { app: unknown }) => (lastApp = r.app));
  let stops = 0;
  const onSignal = (): void => {
    if (++stops > 1) process.exit(130);
    void ctl.close();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const app = await startRest(ctl, { port: rest.restPort, bind: rest.restBind, token: rest.restToken ?? null, version: pkg.version }).catch(async (e: unknown) => {
      await ctl.close();
      throw e;
    });
    console.log(`vaigai: REST API on http://${rest.restBind.includes(':') ? `[${rest.restBind}]` : rest.restBind}:${rest.restPort}/api/v1 (Prometheus: /metrics)`);
    await ctl.closed;
    await app.close();
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  // A load that failed (a worker) ends the command as the plain run would: its error last.
  const failure = ctl.failure;
  if (failure !== null) throw failure;
  if (initial?.mode.kind === 'client' && lastApp !== null) {
    const v = clientExitCode(lastApp as LoadSummary, initial.mode.allowErrors);
    if (v.reason !== '') console.error(`vaigai: ${v.reason}`);
    if (v.code !== 0) process.exitCode = v.code;
  }
}
