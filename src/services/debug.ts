import { z } from 'zod';
import { IngotError } from '../domain/errors.js';

/** Break-glass sessions last 15 minutes unless asked otherwise, and at most a day. */
export const DEFAULT_DEBUG_TTL_S = 900;
const MAX_DEBUG_TTL_S = 86_400;

const request = z.strictObject({
  reason: z.string().trim().min(1, 'a reason is required').max(1000),
  who: z.string().min(1).max(200),
  command: z.array(z.string().max(4096)).min(1).max(64),
  ttlSeconds: z.number().int().min(1).max(MAX_DEBUG_TTL_S).default(DEFAULT_DEBUG_TTL_S),
});

export interface DebugAccess {
  readonly who: string;
  readonly reason: string;
  /** The command, as one line for the record. */
  readonly command: string;
  readonly ttlMs: number;
}

/** A break-glass request from the API body (untrusted): refused without a reason. */
export function parseDebugRequest(body: unknown): DebugAccess {
  const parsed = request.safeParse(body);
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
