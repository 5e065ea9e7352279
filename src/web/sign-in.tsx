import { useState } from 'preact/hooks';
import { ApiError, signIn, type Session } from './api.js';

/**
 * The token goes to the server once, in a POST's JSON body; the server answers with an
 * HttpOnly cookie, so the token is not kept by the page (nor in storage, nor in the URL).
 */
export function SignIn({ onSession }: { onSession: (session: Session) => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    signIn(token.trim()).then(
      (session) => {
        setToken('');
        onSession(session);
      },
      (err: unknown) => {
        setBusy(false);
        setError(
          err instanceof ApiError && err.status === 401
            ? 'That token is not this server’s admin or read-only token.'
            : `Sign-in failed: ${err instanceof Error ? err.message : 'unknown error'}`,
        );
      },
    );
  };
  return (
    <main class="sign-in">
      <h1>Ingot</h1>
      <form onSubmit={submit} aria-describedby="token-help">
        <label for="token">Token</label>
        <input
          id="token"
          name="token"
          type="password"
          autocomplete="off"
          required
          value={token}
          onInput={(e) => setToken(e.currentTarget.value)}
        />
        <p id="token-help" class="help">
          The admin token (<code>$INGOT_HOME/token</code>) or the read-only one (
          <code>$INGOT_HOME/ui-readonly-token</code>).
        </p>
        <button type="submit" disabled={busy}>
          Sign in
        </button>
        {error !== null && (
          <p role="alert" class="error">
            {error}
          </p>
        )}
      </form>
    </main>
  );
}
