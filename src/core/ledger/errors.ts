import { IngotError, type CodesOf } from '../../domain/errors.js';

/** Errors of the ledger (their meanings: domain/error-codes.ts). */
export type LedgerErrorCode = CodesOf<'ledger'>;

export class LedgerError extends IngotError<LedgerErrorCode> {}
