import { useState } from 'preact/hooks';
import { fleetActions, type FleetAction } from '../core/ui/fleet-actions.js';
import { act, type Session, type UiFleet } from './api.js';
import { ConfirmButton } from './confirm-button.js';
import { shortDigest } from './format.js';
import { Outcome, type ActionResult } from './outcome.js';

const WORDS: Record<FleetAction, { label: string; verb: string; done: string }> = {
  pause: { label: 'Pause…', verb: 'Pause', done: 'Paused' },
  resume: { label: 'Resume…', verb: 'Resume', done: 'Resumed' },
  abort: { label: 'Abort…', verb: 'Abort', done: 'Aborted the rollout of' },
  rollback: { label: 'Roll back…', verb: 'Roll back', done: 'Rolled back' },
};

/** What each action does, said in its dialog before anything is sent. */
function explain(action: FleetAction, fleet: UiFleet) {
  const target =
    fleet.stable !== null && fleet.stable !== fleet.release ? fleet.stable : fleet.previous;
  switch (action) {
    case 'pause':
      return `The rollout holds at ${fleet.phase}: it takes no further step, and its pause stops counting, until it is resumed.`;
    case 'resume':
      return 'The rollout goes on from where it was held; the time it was paused is given back.';
    case 'abort':
      return `The rollout stops and the fleet goes back to ${shortDigest(target ?? '')}; its instances are replaced within the fleet's budgets.`;
    case 'rollback':
      return `The fleet goes back to release ${shortDigest(target ?? '')}; its instances are replaced within the fleet's budgets.`;
  }
}

/**
 * Pause, resume, abort and rollback, each confirmed first: shown to the admin only (the
 * server refuses the read-only role anyway), and only those that apply to the fleet now.
 */
export function FleetActions(props: { fleet: UiFleet; session: Session; onSignedOut: () => void }) {
  const { fleet, session } = props;
  // Kept here: the button that acted is gone once the fleet changes (pause becomes resume).
  const [result, setResult] = useState<ActionResult | null>(null);
  if (session.role !== 'admin') return null;
  const actions = fleetActions(fleet);
  return (
    <div class="fleet-actions">
      <Outcome result={result} />
      {actions.map((a) => (
        <ConfirmButton
          key={a}
          id={`${a}-${fleet.name}`}
          class={`action ${a}`}
          label={WORDS[a].label}
          title={`${WORDS[a].verb} ${fleet.name}?`}
          confirm={WORDS[a].verb}
          done={`${WORDS[a].done} ${fleet.name}.`}
          run={(reason) => act(session, fleet.name, a, reason)}
          onSignedOut={props.onSignedOut}
          onResult={setResult}
        >
          {explain(a, fleet)}
        </ConfirmButton>
      ))}
    </div>
  );
}
