import { IngotError } from './errors.js';

/**
 * Errors of the build, by where the bad input came from. Every one names the offending
 * path in its message and in `details.path`, so that a user (or a script reading -o json)
 * can find it. Codes are stable: tests and scripts match on them.
 */

/** The baseline's own files: sources and where they go. */
export type SourceErrorCode =
  | 'E_SOURCE_NOT_FOUND'
  | 'E_SOURCE_OUTSIDE_CONTEXT'
  | 'E_SOURCE_SYMLINK_ESCAPE'
  | 'E_SOURCE_SYMLINK_LOOP'
  | 'E_SOURCE_SPECIAL_FILE'
  | 'E_SOURCE_SETUID'
  | 'E_SOURCE_NAME_INVALID'
  | 'E_SOURCE_CHANGED'
  | 'E_SOURCE_TOO_LARGE'
  | 'E_DEST_THROUGH_SYMLINK'
  | 'E_DEST_CONFLICT';

export class SourceError extends IngotError<SourceErrorCode> {
  constructor(code: SourceErrorCode, path: string, message: string, cause?: unknown) {
    super(code, `${path}: ${message}`, { details: { path }, cause });
  }
}

/** A base image's layers: somebody else's tar archives, hostile until proven otherwise. */
export type LayerErrorCode =
  | 'E_LAYER_ENTRY_NAME'
  | 'E_LAYER_DUPLICATE_ENTRY'
  | 'E_LAYER_HARDLINK_ESCAPE'
  | 'E_LAYER_THROUGH_SYMLINK'
  | 'E_LAYER_SPECIAL_FILE'
  | 'E_LAYER_SIZE_MISMATCH'
  | 'E_LAYER_BOMB'
  | 'E_LAYER_CORRUPT'
  | 'E_LAYER_MEDIA_TYPE'
  | 'E_LAYER_DIFF_ID';

export class LayerError extends IngotError<LayerErrorCode> {
  constructor(code: LayerErrorCode, layer: string, path: string, message: string, cause?: unknown) {
    super(code, `layer ${layer}${path ? `, ${path}` : ''}: ${message}`, {
      details: { layer, path },
      cause,
    });
  }
}

/** Finding the base image. */
export type BaseImageErrorCode =
  | 'E_BASE_NOT_FOUND'
  | 'E_BASE_TAG_NOT_FOUND'
  | 'E_BASE_DIGEST_MISMATCH'
  | 'E_BASE_PLATFORM'
  | 'E_BASE_INVALID';

export class BaseImageError extends IngotError<BaseImageErrorCode> {
  constructor(code: BaseImageErrorCode, message: string, cause?: unknown) {
    super(code, message, { cause });
  }
}
