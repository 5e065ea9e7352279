/**
 * The rollout actions the dashboard offers on a fleet card, besides Promote. Each maps to the
 * API route of the same name (and `ingot pause|resume|abort|rollback`). The server decides
 * (core/fleet/transitions.ts): this only hides a button that would be refused for certain,
 * so the page does not offer what cannot be done. Pure; the page imports it (no Node, no zod).
 */
export const FLEET_ACTIONS = ['pause', 'resume', 'abort', 'rollback'] as const;
export type FleetAction = (typeof FLEET_ACTIONS)[number];

/** What of a fleet the choice reads (a UiFleet has these). */
export interface ActionFacts {
  readonly rollout: string;
  /** When it was paused by hand (RFC 3339, as the API says it), or null. */
  readonly pausedAt: string | null;
  /** Steps before the full shape; 0 for rolling (nothing to hold). */
  readonly stepCount: number;
  /** A progressing rollout short of its final shape. */
  readonly promotable: boolean;
  readonly previous: string | null;
  readonly stable: string | null;
  readonly release: string;
}

/** The actions that apply to the fleet now, in the order the card shows them. */
export function fleetActions(f: ActionFacts): FleetAction[] {
  const progressing = f.rollout === 'progressing';
  // Where abort and rollback go (transitions.ts rollbackTarget): the stable release, else the previous.
  const target = f.stable !== null && f.stable !== f.release ? f.stable : f.previous;
  const actions: FleetAction[] = [];
  if (progressing && f.pausedAt === null && f.stepCount > 0 && f.promotable) actions.push('pause');
  if (progressing && f.pausedAt !== null) actions.push('resume');
  if (progressing && target !== null) actions.push('abort');
  if (!progressing && target !== null) actions.push('rollback');
  return actions;
}

/** Whether `s` names an action (a path parameter is untrusted). */
export const isFleetAction = (s: string): s is FleetAction =>
  (FLEET_ACTIONS as readonly string[]).includes(s);
