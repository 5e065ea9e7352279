import type { ErrorCode } from '../domain/errors.js';

/** The codes a spec-file read fails with: the caller's own (E_SPEC_…, E_POLICY_…). */
export interface SpecFileCodes {
  /** Missing, unreadable, or not a regular file. */
  readonly notFound: ErrorCode;
  /** Larger than the bound. */
  readonly tooLarge: ErrorCode;
}

/**
 * Read a small file a user named (ingot.yaml, policy.yaml): a regular file of at most
 * `maxBytes`, or an IngotError with the caller's codes, naming the file as `shown`. Never
 * blocks on a FIFO or a device. `noFollow` refuses a symlink as the last component.
 */
export type ReadSpecFile = (
  path: string,
  shown: string,
  maxBytes: number,
  codes: SpecFileCodes,
  options?: { readonly noFollow?: boolean },
) => Buffer;
