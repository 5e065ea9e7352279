import type { ErrorCode } from './error-codes.js';

export type { CodesOf, ErrorCode } from './error-codes.js';

/**
 * Every error a user can meet carries a stable `code` (tests assert the code, never the
 * message), one of the closed set in error-codes.ts, a message that says what was wrong and
 * where, and optional structured `details` for `-o json` output. Modules narrow `C` to
 * their own code union.
 */
export class IngotError<C extends ErrorCode = ErrorCode> extends Error {
  readonly code: C;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(
    code: C,
    message: string,
    options: { cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.details = options.details ?? {};
  }
}

export function isIngotError(err: unknown): err is IngotError {
  return err instanceof IngotError;
}

/** Bad command-line usage: the CLI maps it to exit code 2. */
export class UsageError extends IngotError<'E_USAGE'> {
  constructor(message: string) {
    super('E_USAGE', message);
  }
}
