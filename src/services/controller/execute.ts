import { sameMemory, type ControllerMemory } from '../../core/controller/memory.js';
import type { FleetDecision } from '../../core/controller/plan-fleet.js';
import type { RolloutDecision } from '../../core/controller/judge-rollout.js';
import type { FleetRecord } from '../../core/fleet/record.js';
import {
  judged,
  rollbackTarget,
  rolledBack,
  stepped,
  type FleetChange,
} from '../../core/fleet/transitions.js';
import type { LedgerEntryDraft } from '../../core/ledger/index.js';
import { IngotError } from '../../domain/errors.js';
import type { FleetStore } from '../../ports/fleet-store.js';

/**
 * Write a rollout decision, on the version of the fleet it was decided on: if the fleet
 * moved meanwhile (a deploy, a promote), the decision is moot and the next pass decides
 * again. Returns the fleet as it is now.
 */
export async function applyRollout(
  fleets: FleetStore,
  fleet: FleetRecord,
  decision: RolloutDecision,
  now: number,
): Promise<FleetRecord> {
  const change = await changeFor(fleets, fleet, decision, now);
  const written = change && (await fleets.writeFleet(change.next, fleet.version, change.note));
  return written ?? (await fleets.fleet(fleet.name)) ?? fleet;
}

async function changeFor(
  fleets: FleetStore,
  fleet: FleetRecord,
  decision: RolloutDecision,
  now: number,
): Promise<FleetChange | null> {
  switch (decision.kind) {
    case 'complete':
      return judged(fleet, 'complete', null, now);
    case 'refuse':
      return judged(fleet, 'refused', decision.reason, now);
    case 'fail':
      return judged(fleet, 'failed', decision.reason, now);
    case 'step':
      return stepped(fleet, decision.update, now, decision.why);
    case 'roll-back': {
      const target = rollbackTarget(fleet);
      const release = target === null ? null : await fleets.release(target);
      if (!release || release.fleet !== fleet.name)
        throw new IngotError(
          'E_ROLLBACK_NONE',
          `fleet ${fleet.name} cannot roll back: release ${target ?? '(none)'} is not one of its own`,
        );
      return rolledBack(fleet, release, decision.reason, now, 'controller');
    }
  }
}

/**
 * Record what a fleet's pass decided: its notes with what the controller now remembers
 * (one transaction), and its replacements into the ledger.
 */
export async function applyDecision(
  fleets: FleetStore,
  record: ((event: LedgerEntryDraft) => void) | undefined,
  fleet: string,
  before: ControllerMemory,
  decision: FleetDecision,
): Promise<void> {
  if (decision.notes.length > 0 || !sameMemory(before, decision.memory))
    await fleets.remember(fleet, decision.memory, decision.notes);
  for (const event of decision.events) record?.(event);
}
