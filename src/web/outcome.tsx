/** What an action came to, said beside it: a status when done, an alert when refused. */
export interface ActionResult {
  readonly ok: boolean;
  readonly text: string;
}

export function Outcome({ result }: { result: ActionResult | null }) {
  if (result === null) return null;
  return (
    <p role={result.ok ? 'status' : 'alert'} class={result.ok ? 'ok' : 'error'}>
      {result.text}
    </p>
  );
}
