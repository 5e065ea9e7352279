import { IngotError } from '../../domain/errors.js';

export type StoreErrorCode =
  | 'E_STORE_INVALID'
  | 'E_STORE_LOCKED'
  | 'E_BLOB_NOT_FOUND'
  | 'E_BLOB_CORRUPT'
  | 'E_BLOB_SIZE_MISMATCH'
  | 'E_BLOB_TOO_LARGE'
  | 'E_REF_NOT_FOUND'
  | 'E_REF_AMBIGUOUS'
  | 'E_TAG_INVALID';

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
