import { IngotError, type CodesOf } from '../../domain/errors.js';

/** Errors of placement (their meanings: domain/error-codes.ts). */
export type PlacementErrorCode = CodesOf<'placement'>;

export class PlacementError extends IngotError<PlacementErrorCode> {}
