import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from './api.js';
import type { ActionResult } from './outcome.js';

/**
 * An action confirmed first: a modal dialog says what will happen, and nothing is sent until
 * the user says so. `run` makes the request (with the session's CSRF header); the outcome goes
 * to `onResult`, for the caller to show (a status or an alert).
 */
export function ConfirmButton(props: {
  /** Unique on the page: the dialog's title is found by it. */
  id: string;
  /** The button's text ("Promote…"). */
  label: string;
  /** The dialog's heading ("Promote web?"). */
  title: string;
  /** What the action does, in the dialog. */
  children: ComponentChildren;
  /** The confirming button's text ("Promote"). */
  confirm: string;
  /** With the reason typed in the dialog, if any (kept in the history as `--reason` is). */
  run: (reason: string | undefined) => Promise<unknown>;
  /** Shown once it is done ("Promoted web."). */
  done: string;
  /** The wrapper's class ("promote", "action pause"). */
  class: string;
  onSignedOut: () => void;
  /**
   * Where the outcome goes (null: a new attempt began). Kept by the caller, never here: the
   * action changes the fleet, and the next push of it can remove this button, with whatever
   * it held, before the answer is even in (Promote: the fleet is no longer promotable).
   */
  onResult: (result: ActionResult | null) => void;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [open, setOpen] = useState(false);
  const setResult = props.onResult;
  const [busy, setBusy] = useState(false);
  const [reason, setReason] = useState('');
  useEffect(() => {
    if (open && dialog.current && !dialog.current.open) dialog.current.showModal();
    if (!open && dialog.current?.open) dialog.current.close();
  }, [open]);
  const confirm = () => {
    setBusy(true);
    props.run(reason.trim() === '' ? undefined : reason.trim()).then(
      () => {
        setBusy(false);
        setOpen(false);
        setReason('');
        setResult({ ok: true, text: props.done });
      },
      (err: unknown) => {
        setBusy(false);
        setOpen(false);
        if (err instanceof ApiError && err.code === 'E_UI_SESSION') props.onSignedOut();
        setResult({ ok: false, text: err instanceof Error ? err.message : 'the action failed' });
      },
    );
  };
  const titleId = `${props.id}-title`;
  return (
    <div class={props.class}>
      <button type="button" onClick={() => (setResult(null), setOpen(true))}>
        {props.label}
      </button>
      <dialog ref={dialog} aria-labelledby={titleId} onClose={() => setOpen(false)}>
        <h3 id={titleId}>{props.title}</h3>
        <p>{props.children}</p>
        <label class="reason">
          Why (optional: kept in the history and the ledger)
          <input
            value={reason}
            maxLength={300}
            onInput={(e) => setReason((e.target as HTMLInputElement).value)}
          />
        </label>
        <div class="actions">
          <button type="button" onClick={() => setOpen(false)} disabled={busy}>
            Cancel
          </button>
          <button type="button" class="primary" onClick={confirm} disabled={busy}>
            {props.confirm}
          </button>
        </div>
      </dialog>
    </div>
  );
}
