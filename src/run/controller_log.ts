/**
 * The generator's structured log records (src/telemetry/log.ts) from its
 * controller's events: state changes (a load started, stopped), configuration
 * changes with the load's targets, live changes with the workers' acks, and
 * errors. Whoever drives the controller (console, REST) is logged alike.
 */
import { logger } from '../telemetry/log.js';
import type { Controller, ControllerState, LiveResult } from './controller.js';
import type { Profile } from './profile.js';

export function logControllerEvents(c: Controller): void {
  c.on('state', (state: ControllerState, previous: ControllerState) => logger().info({ event: 'state', state, previous }, `generator ${state}`));
  c.on('config', (p: Profile) => {
    const { model, connections, target_cps, target_rps, max_concurrent } = p.load;
    logger().info({ event: 'config', flows: p.flows.length, load: { model, connections, target_cps, target_rps, max_concurrent } }, 'config changed');
  });
  c.on('live', (r: LiveResult) => logger().info({ event: 'live', acks: r.acks, late: r.late }, r.late.length > 0 ? `live change: workers ${r.late.join(',')} did not ack` : 'live change applied'));
  c.on('error', (e: unknown) => logger().error({ event: 'error', code: (e as { code?: unknown }).code ?? 'VG_ERR' }, e instanceof Error ? e.message : String(e)));
}
