import type { FleetRecord } from '../../core/fleet/record.js';
import { aborted, because, paused, resumed, rollbackTarget } from '../../core/fleet/transitions.js';
import { IngotError } from '../../domain/errors.js';
import type { FleetStore } from '../../ports/fleet-store.js';
import { changeFleet } from './change-fleet.js';

/** Who and when, as the route establishes them. */
export interface ControlOptions {
  readonly now: number;
  readonly actor: string;
  /** What the person said the change is for (`--reason`). */
  readonly why?: string;
}

const missing = (name: string) =>
  new IngotError('E_FLEET_NOT_FOUND', `no fleet ${JSON.stringify(name)}`);

/**
 * `ingot pause`: the rollout in progress takes no further step until resumed. The rules are
 * core/fleet/transitions.ts's; this reads, decides and writes on the version read.
 */
export async function pauseRollout(
  fleets: FleetStore,
  name: string,
  o: ControlOptions,
): Promise<FleetRecord> {
  return byHand(fleets, name, (fleet) => because(paused(fleet, o.now, o.actor), o.why));
}

/** `ingot resume`: a paused rollout goes on, its step's pause and deadline where they stopped. */
export async function resumeRollout(
  fleets: FleetStore,
  name: string,
  o: ControlOptions,
): Promise<FleetRecord> {
  return byHand(fleets, name, (fleet) => because(resumed(fleet, o.now, o.actor), o.why));
}

/**
 * `ingot abort`: the rollout in progress ends, and the fleet goes back to its last stable
 * release by replacement, as an automatic rollback does. Refused when no rollout is in
 * progress (that is `ingot rollback`'s).
 */
export async function abortRollout(
  fleets: FleetStore,
  name: string,
  o: ControlOptions,
): Promise<FleetRecord> {
  const written = await changeFleet(fleets, name, async (fleet) => {
    if (!fleet) throw missing(name);
    const target = fleet.rollout === 'progressing' ? rollbackTarget(fleet) : null;
    const release = target === null ? null : await fleets.release(target);
    return { change: because(aborted(fleet, release, o.now, o.actor), o.why) };
  });
  return written!;
}

/** One change by hand to a fleet that must exist: it always writes, or throws. */
async function byHand(
  fleets: FleetStore,
  name: string,
  change: (fleet: FleetRecord) => ReturnType<typeof paused>,
): Promise<FleetRecord> {
  const written = await changeFleet(fleets, name, (fleet) => {
    if (!fleet) throw missing(name);
    return Promise.resolve({ change: change(fleet) });
  });
  return written!;
}
