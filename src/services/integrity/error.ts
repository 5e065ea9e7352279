import { IngotError } from '../../domain/errors.js';

export class IntegrityError extends IngotError<'E_ROOTFS_DRIFT'> {}
