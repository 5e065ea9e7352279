import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, promote, type Session, type UiFleet } from './api.js';

/**
 * Promote, confirmed first: a modal dialog names the fleet and the step it leaves, and
 * nothing is sent until the user says so. The request carries the session's CSRF header.
 */
export function PromoteButton({
  fleet,
  session,
  onSignedOut,
}: {
  fleet: UiFleet;
  session: Session;
  onSignedOut: () => void;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [open, setOpen] = useState(false);
  const [result, setResult] = useState<{ ok: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    if (open && dialog.current && !dialog.current.open) dialog.current.showModal();
    if (!open && dialog.current?.open) dialog.current.close();
  }, [open]);
  const confirm = () => {
    setBusy(true);
    promote(session, fleet.name).then(
      () => {
        setBusy(false);
        setOpen(false);
        setResult({ ok: true, text: `Promoted ${fleet.name}.` });
      },
      (err: unknown) => {
        setBusy(false);
        setOpen(false);
        if (err instanceof ApiError && err.code === 'E_UI_SESSION') onSignedOut();
        setResult({ ok: false, text: err instanceof Error ? err.message : 'promotion failed' });
      },
    );
  };
  const titleId = `promote-title-${fleet.name}`;
  return (
    <div class="promote">
      <button type="button" onClick={() => (setResult(null), setOpen(true))}>
        Promote…
      </button>
      {result && (
        <p role={result.ok ? 'status' : 'alert'} class={result.ok ? 'ok' : 'error'}>
          {result.text}
        </p>
      )}
      <dialog ref={dialog} aria-labelledby={titleId} onClose={() => setOpen(false)}>
        <h3 id={titleId}>Promote {fleet.name}?</h3>
        <p>
          It leaves <span class="mono">{fleet.phase}</span> for its next step: more instances of the
          new release replace old ones.
        </p>
        <div class="actions">
          <button type="button" onClick={() => setOpen(false)} disabled={busy}>
            Cancel
          </button>
          <button type="button" class="primary" onClick={confirm} disabled={busy}>
            Promote
          </button>
        </div>
      </dialog>
    </div>
  );
}
