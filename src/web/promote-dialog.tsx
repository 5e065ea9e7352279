import { promote, type Session, type UiFleet } from './api.js';
import { ConfirmButton } from './confirm-button.js';
import type { ActionResult } from './outcome.js';

/** Promote, confirmed first: the dialog names the fleet and the step it leaves. */
export function PromoteButton({
  fleet,
  session,
  onSignedOut,
  onResult,
}: {
  fleet: UiFleet;
  session: Session;
  onSignedOut: () => void;
  /** The card keeps the outcome: once promoted, the fleet is not promotable, and this is gone. */
  onResult: (result: ActionResult | null) => void;
}) {
  return (
    <ConfirmButton
      id={`promote-${fleet.name}`}
      class="promote"
      label="Promote…"
      title={`Promote ${fleet.name}?`}
      confirm="Promote"
      done={`Promoted ${fleet.name}.`}
      run={(reason) => promote(session, fleet.name, reason)}
      onSignedOut={onSignedOut}
      onResult={onResult}
    >
      It leaves <span class="mono">{fleet.phase}</span> for its next step: more instances of the new
      release replace old ones.
    </ConfirmButton>
  );
}
