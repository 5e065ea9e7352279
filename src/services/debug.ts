import { debugRequest } from '../core/api/instances.js';
import type { Caller } from '../core/api/routes.js';
import { IngotError } from '../domain/errors.js';
import { commandLine } from '../core/session/request.js';
import type { DebugAccess } from '../core/api/host-routes.js';

export type { DebugAccess } from '../core/api/host-routes.js';

/** "admin token, uid 1000 (alice)": the authenticated identity in a line of the record. */
export function describeCaller(c: Caller): string {
  if (c.uid === undefined) return `${c.credential}, local user unknown`;
  return `${c.credential}, uid ${c.uid}${c.user !== undefined ? ` (${c.user})` : ''}`;
}

/**
 * A break-glass request from the API body (untrusted): refused without a reason. The body's
 * `who` is only what the client claims; `caller` is who the server authenticated.
 */
export function parseDebugRequest(body: unknown, caller: Caller): DebugAccess {
  const parsed = debugRequest.safeParse(body);
  if (!parsed.success)
    throw new IngotError(
      'E_DEBUG_INVALID',
      `the debug request is invalid: ${parsed.error.issues
        .map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`)
        .join('; ')}`,
    );
  return {
    who: parsed.data.who,
    authenticated: caller,
    reason: parsed.data.reason,
    command: commandLine(parsed.data.command),
    ttlMs: parsed.data.ttlSeconds * 1000,
  };
}
