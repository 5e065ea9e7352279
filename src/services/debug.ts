import { z } from 'zod';
import { IngotError } from '../domain/errors.js';

/** Break-glass sessions last 15 minutes unless asked otherwise, and at most a day. */
export const DEFAULT_DEBUG_TTL_S = 900;
const MAX_DEBUG_TTL_S = 86_400;

// The record of a session must always fit in the ledger: every field is bounded, and
// nothing that could garble a log line (control characters) gets in.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
const printable = (max: number) =>
  z
    .string()
    .max(max)
    .refine((s) => !CONTROL.test(s), 'no control characters');

const request = z.strictObject({
  reason: printable(1000).trim().min(1, 'a reason is required'),
  who: printable(200).min(1),
  command: z
    .array(printable(1024))
    .min(1)
    .max(32)
    .refine((args) => args.join(' ').length <= 4096, 'at most 4096 characters in all'),
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
