import { IngotError, type CodesOf } from '../../domain/errors.js';

/** Why a rootfs could not be verified (their meanings: domain/error-codes.ts). */
export type RootfsVerifyErrorCode = CodesOf<'rootfsVerify'>;

export class RootfsVerifyError extends IngotError<RootfsVerifyErrorCode> {}
