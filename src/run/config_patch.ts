/**
 * Changes to the traffic profile while the generator runs: a JSON Merge
 * Patch (RFC 7396) applied to a copy, and which of its changes a running
 * load can take live. The workers fixed most of the profile when they
 * started (flows, their counters' names, request bytes, TLS); what the load
 * engine can retarget mid-run is its rates and its concurrency, so a change
 * to anything else is refused while a load runs, naming the field.
 */
import { NotLiveError } from '../common/errors.js';
import type { LiveTargets } from '../engine/load.js';
import type { ClientPlan } from '../engine/modes.js';
import type { Profile } from './profile.js';
import { splitClient } from './session.js';

/** RFC 7396: `patch` merged into a copy of `target` (null deletes a member; a non-object patch replaces the whole). */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return structuredClone(patch);
  const out: Record<string, unknown> = target !== null && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** RFC 6901: a member name as a pointer token. */
function token(k: string): string {
  return k.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** The JSON pointers where `a` and `b` differ (the shallowest of each branch), in document order. */
export function differences(a: unknown, b: unknown, at = ''): string[] {
  if (a === b) return [];
  const obj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object';
  if (!obj(a) || !obj(b) || Array.isArray(a) !== Array.isArray(b)) return [at];
  if (Array.isArray(a) && Array.isArray(b) && a.length !== b.length) return [at];
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  return keys.flatMap((k) => differences(a[k], b[k], `${at}/${token(k)}`));
}

/** The profile's fields a running load retargets, by the LiveTargets name. */
const LIVE_FIELDS: Record<string, keyof LiveTargets> = {
  '/load/target_cps': 'cps',
  '/load/target_rps': 'rps',
  '/load/connections': 'connections',
  '/load/max_concurrent': 'maxConcurrent',
};

/**
 * What of `after` a load started with `before` can take live: the targets
 * that changed, or a NotLiveError naming the first field it cannot (a target
 * that appears or disappears changes how the load paces, which is fixed at
 * start; the closed model has no connection rate nor cap, the open model no
 * connection count).
 */
export function liveChange(before: Profile, after: Profile, source: string): (keyof LiveTargets)[] {
  const open = before.load.model === 'open';
  const changed: (keyof LiveTargets)[] = [];
  for (const ptr of differences(before, after)) {
    const field = LIVE_FIELDS[ptr];
    const why =
      field === undefined
        ? 'the running load fixed this field when it started: stop it first (a running load takes load.target_cps, target_rps, connections and max_concurrent)'
        : (ptr === '/load/target_cps' && before.load.target_cps === undefined) || (ptr === '/load/target_rps' && before.load.target_rps === undefined)
          ? 'the running load was started without this target (it is not paced by it): stop it and start again with it set'
          : (ptr === '/load/target_cps' || ptr === '/load/target_rps') && after.load[ptr === '/load/target_cps' ? 'target_cps' : 'target_rps'] === undefined
            ? 'a running load keeps its targets: give a new value rather than removing it'
            : !open && field === 'maxConcurrent'
              ? 'the closed model has no concurrency cap: it holds load.connections'
              : open && field === 'connections'
                ? 'the open model has no connection count: its concurrency is load.max_concurrent'
                : null;
    if (why !== null) throw new NotLiveError(ptr, why, source);
    changed.push(field as keyof LiveTargets);
  }
  return changed;
}

/**
 * Each worker's share of the changed targets, as splitClient shares a load at
 * start: a worker that split gives no share of gets zeros (it then holds, or
 * refuses if it had none from the start).
 */
export function liveShares(plan: ClientPlan, workers: number, changed: readonly (keyof LiveTargets)[]): LiveTargets[] {
  return splitClient(plan, workers).map((share) => {
    const all: Required<LiveTargets> = {
      cps: share?.open?.cps ?? 0,
      rps: share?.rate ?? 0,
      connections: share?.connections ?? 0,
      maxConcurrent: share?.open?.maxConcurrent ?? 0,
    };
    const t: LiveTargets = {};
    for (const k of changed) t[k] = all[k];
    return t;
  });
}
