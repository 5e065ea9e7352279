import { BrokenCircuitError, type IPolicy } from 'cockatiel';
import { isRecoverableError } from 'etcd3';

/**
 * etcd3's per-member policy: after three calls in a row failed to reach a member, skip it for
 * a second, so that a member behind a cut link does not cost every call its deadline.
 *
 * Not cockatiel's circuit breaker: in its half-open state a call waits for the one test call
 * to finish, and etcd3 re-runs a call whose auth token expired from *inside* that call; the
 * re-run then waits for the call that waits for it (seen here after members restarted: every
 * call held until its deadline). This gate never waits: a skipped member is skipped at once.
 */
export function hostGate(): IPolicy {
  let failures = 0;
  let closedUntil = 0;
  const gate = {
    async execute<T>(fn: (context: { signal: AbortSignal }) => PromiseLike<T> | T): Promise<T> {
      if (Date.now() < closedUntil) throw new BrokenCircuitError();
      try {
        const result = await fn({ signal: new AbortController().signal });
        failures = 0;
        return result;
      } catch (err) {
        if (err instanceof Error && isRecoverableError(err) && ++failures >= 3) {
          failures = 0;
          closedUntil = Date.now() + 1_000;
        }
        throw err;
      }
    },
  };
  // etcd3 calls execute() only; the rest of IPolicy (events) it never touches.
  return gate as unknown as IPolicy;
}
