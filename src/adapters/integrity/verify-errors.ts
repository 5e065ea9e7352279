import { IngotError } from '../../domain/errors.js';

/** Why a rootfs could not be verified (as opposed to drift, which is a result). */
export type RootfsVerifyErrorCode =
  /** The root is missing or is not a folder. */
  | 'E_ROOTFS_VERIFY_ROOT'
  /** /proc/self/fd is not available: the tree cannot be read without following links. */
  | 'E_ROOTFS_VERIFY_PROC'
  /** An I/O error other than the path changing under the verifier. */
  | 'E_ROOTFS_VERIFY_READ'
  /** A path was replaced again on every attempt to read it. */
  | 'E_ROOTFS_VERIFY_UNSTABLE'
  /** A hashing worker died; the verifier cannot be used any more. */
  | 'E_ROOTFS_VERIFY_WORKER'
  | 'E_ROOTFS_VERIFY_CLOSED'
  | 'E_ROOTFS_VERIFY_ABORTED';

export class RootfsVerifyError extends IngotError<RootfsVerifyErrorCode> {}
