/**
 * Before an instance that takes requests is stopped, the edge drains it: no new request goes
 * to it, and the stop waits until those it has are answered (its sessions at 0, and at least
 * `minMs` after the drain began, so that the edge applied it) or `timeoutMs` passed. An
 * instance that never took requests (not ready, or crashed) stops at once: there is nothing
 * to drain.
 */
export interface DrainPolicy {
  readonly minMs: number;
  readonly timeoutMs: number;
}

export const DEFAULT_DRAIN: DrainPolicy = { minMs: 1000, timeoutMs: 30_000 };

export interface DrainInput {
  /** Instances with a process now (their fleets have a service), by id. */
  readonly running: readonly string[];
  /** Of those, the ones that take requests now (ready, not draining). */
  readonly ready: ReadonlySet<string>;
  /** What the control plane wants to run: a running instance not in it is to stop. */
  readonly desired: ReadonlySet<string>;
  /** id → when its drain began, as the last pass left it. */
  readonly draining: ReadonlyMap<string, number>;
  /** The edge's open sessions on an instance now (undefined: unknown, so it waits the timeout). */
  readonly sessions: (id: string) => number | undefined;
  readonly now: number;
  readonly policy: DrainPolicy;
}

export interface DrainDecision {
  /** Instances to keep running this pass: their stops wait for their drains. */
  readonly hold: ReadonlySet<string>;
  /**
   * id → when its drain began, for the edge (those are `drain`) and the next pass. An
   * instance stays here until it has stopped, so that the edge never routes to it again.
   */
  readonly draining: ReadonlyMap<string, number>;
}

/** Which stops wait, and which instances drain. Pure. */
export function gateStops(input: DrainInput): DrainDecision {
  const hold = new Set<string>();
  const draining = new Map<string, number>();
  for (const id of [...input.running].sort()) {
    if (input.desired.has(id)) continue; // wanted again: it takes requests as before
    const since = input.draining.get(id) ?? (input.ready.has(id) ? input.now : undefined);
    if (since === undefined) continue; // never took requests: nothing to drain
    draining.set(id, since);
    const elapsed = input.now - since;
    if (elapsed >= input.policy.timeoutMs) continue;
    // Sessions the edge could not count are not taken for none: held until the timeout.
    const open = input.sessions(id);
    if (elapsed < input.policy.minMs || open === undefined || open > 0) hold.add(id);
  }
  return { hold, draining };
}
