import { IngotError, type CodesOf } from './errors.js';

/**
 * Errors of the build, by where the bad input came from. Every one names the offending
 * path in its message and in `details.path`, so that a user (or a script reading -o json)
 * can find it. Codes are stable: tests and scripts match on them.
 */

/** The baseline's own files: sources and where they go. */
export type SourceErrorCode = CodesOf<'source'>;

export class SourceError extends IngotError<SourceErrorCode> {
  constructor(code: SourceErrorCode, path: string, message: string, cause?: unknown) {
    super(code, `${path}: ${message}`, { details: { path }, cause });
  }
}

/** A base image's layers: somebody else's tar archives, hostile until proven otherwise. */
export type LayerErrorCode = CodesOf<'layer'>;

export class LayerError extends IngotError<LayerErrorCode> {
  constructor(code: LayerErrorCode, layer: string, path: string, message: string, cause?: unknown) {
    super(code, `layer ${layer}${path ? `, ${path}` : ''}: ${message}`, {
      details: { layer, path },
      cause,
    });
  }
}

/** Finding the base image. */
export type BaseImageErrorCode = CodesOf<'baseImage'>;

export class BaseImageError extends IngotError<BaseImageErrorCode> {
  constructor(code: BaseImageErrorCode, message: string, cause?: unknown) {
    super(code, message, { cause });
  }
}
