import { IngotError, type CodesOf } from '../../domain/errors.js';

export type StoreErrorCode = CodesOf<'store'>;

/** Errors of reading an OCI layout (layout-reader.ts) and of Ingot's store built on it. */
export class StoreError extends IngotError<StoreErrorCode> {
  constructor(
    code: StoreErrorCode,
    message: string,
    details: Record<string, unknown> = {},
    cause?: unknown,
  ) {
    super(code, message, { details, cause });
  }
}
