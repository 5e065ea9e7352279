import { debugRequest } from '../core/api/instances.js';
import { IngotError } from '../domain/errors.js';

export interface DebugAccess {
  readonly who: string;
  readonly reason: string;
  /** The command, as one line for the record. */
  readonly command: string;
  readonly ttlMs: number;
}

/** A break-glass request from the API body (untrusted): refused without a reason. */
export function parseDebugRequest(body: unknown): DebugAccess {
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
    reason: parsed.data.reason,
    command: parsed.data.command.map((a) => JSON.stringify(a)).join(' '),
    ttlMs: parsed.data.ttlSeconds * 1000,
  };
}
