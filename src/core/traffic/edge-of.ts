import { shapeOf } from '../controller/shape.js';
import type { FleetRecord } from '../fleet/record.js';
import { canaryCounts, stepCount } from '../planner/strategy.js';
import type { ObservedInstance } from '../../domain/instance.js';
import { canaryWeights } from './canary-weights.js';
import type { EdgeFleet, EdgeServer, ServerState } from './edge.js';

/** The weight of an instance when every instance of a backend is alike. */
export const EVEN_WEIGHT = 100;

/** States in which an instance has a process that may answer (or finish answering). */
export const ROUTABLE: ReadonlySet<string> = new Set(['starting', 'healthy', 'unhealthy']);

/**
 * An instance takes requests once it is ready: healthy for at least minReadySeconds (the same
 * rule that paces a rollout), so a client never meets an instance still warming up.
 */
export function isReadyForTraffic(i: ObservedInstance, minReadyMs: number, now: number): boolean {
  if (i.state !== 'healthy' || i.healthySince === undefined) return false;
  return now - Date.parse(i.healthySince) >= minReadyMs;
}

export interface EdgeFleetView {
  readonly edge: EdgeFleet;
  /** Why the edge cannot do exactly what the rollout asks (weights it cannot give). */
  readonly reasons: readonly string[];
}

/**
 * What the edge should do for one fleet with a service, from the control plane's state. Pure.
 *
 * - Every instance with an address and a process is a server; only ready ones take requests,
 *   the others are in maintenance, and those `draining` (about to stop) finish what they have.
 * - A canary step gives the new release its step's percent of requests (weights, not a share
 *   of instances); a step given as a count of instances, that count's share.
 * - A blue-green preview answers on previewListen only; promotion moves every request at once
 *   (the old release drains).
 */
export function edgeFleetOf(
  fleet: FleetRecord,
  instances: readonly ObservedInstance[],
  draining: ReadonlySet<string>,
  now: number,
): EdgeFleetView | null {
  const service = fleet.spec.service;
  if (service === undefined) return null;
  const minReadyMs = fleet.spec.minReadySeconds * 1000;
  const shape = shapeOf(fleet);
  const previewing = 'blueGreen' in fleet.spec.strategy && !shape.final;
  const isNew = (i: ObservedInstance) => i.release === fleet.release;
  const reasons: string[] = [];
  // Draining instances take no new request: they count for no side of a split.
  const serving = instances.filter(
    (i) => !draining.has(i.id) && isReadyForTraffic(i, minReadyMs, now),
  );
  const weights = canaryStep(fleet, serving, reasons);
  // Promoted: every request to the new release at once, once as many of it are ready as of
  // the old (a preview smaller than the fleet must not take the whole load alone); the old
  // instances finish what they have while they wait for their stops.
  const readyNew = serving.filter(isNew).length;
  const promoted =
    'blueGreen' in fleet.spec.strategy &&
    shape.final &&
    readyNew > 0 &&
    readyNew >= serving.length - readyNew;
  const server = (i: ObservedInstance): EdgeServer | null => {
    if (i.address === undefined || !ROUTABLE.has(i.state)) return null;
    const state: ServerState =
      draining.has(i.id) || (promoted && !isNew(i))
        ? 'drain'
        : isReadyForTraffic(i, minReadyMs, now)
          ? 'ready'
          : 'maint';
    const weight = weights === null ? EVEN_WEIGHT : isNew(i) ? weights.new : weights.old;
    return { instance: i.id, address: i.address, port: service.port, weight, state };
  };
  const live: EdgeServer[] = [];
  const preview: EdgeServer[] = [];
  for (const i of [...instances].sort((a, b) => (a.id < b.id ? -1 : 1))) {
    const s = server(i);
    if (s === null) continue;
    if (previewing && isNew(i)) {
      if (service.previewListen !== undefined) preview.push(s);
    } else live.push(s);
  }
  return {
    edge: {
      fleet: fleet.name,
      service: {
        port: service.port,
        listen: service.listen,
        ...(service.previewListen !== undefined && { previewListen: service.previewListen }),
      },
      backends: { live, preview },
    },
    reasons,
  };
}

/**
 * The weights of a canary step in progress (new and old release), or null when every
 * instance weighs the same (no canary step, or one the weights cannot give: then said).
 */
function canaryStep(
  fleet: FleetRecord,
  ready: readonly ObservedInstance[],
  reasons: string[],
): { readonly new: number; readonly old: number } | null {
  const strategy = fleet.spec.strategy;
  if (!('canary' in strategy) || fleet.rollout !== 'progressing') return null;
  if (fleet.step >= stepCount(fleet.spec)) return null;
  const step = strategy.canary.steps[fleet.step]!;
  const percent =
    'percent' in step
      ? step.percent
      : Math.round((100 * canaryCounts(fleet.spec)[fleet.step]!) / fleet.spec.replicas);
  const counts = {
    new: ready.filter((i) => i.release === fleet.release).length,
    old: ready.filter((i) => i.release !== fleet.release).length,
  };
  // Until both sides have a ready instance there is no split to make: each side takes all.
  if (counts.new === 0 || counts.old === 0) return null;
  const w = canaryWeights(percent, counts);
  if (w.ok) return { new: w.new, old: w.old };
  reasons.push(`canary step ${fleet.step + 1}: ${w.reason}`);
  return null;
}
