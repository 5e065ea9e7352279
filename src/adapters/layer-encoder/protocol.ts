import type { LayerCompression } from '../../domain/media-types.js';
import type { SourceFile } from '../../domain/source.js';

/** Messages between the encoder and its workers. Plain data: they cross a thread boundary. */

export type Piece =
  | { readonly kind: 'bytes'; readonly data: Uint8Array }
  | { readonly kind: 'zeros'; readonly length: number }
  | {
      readonly kind: 'file';
      readonly entry: number;
      readonly file: SourceFile;
      /** Range of the file's content that falls in this segment. */
      readonly offset: number;
      readonly length: number;
      /** This piece starts the file: hash the whole file (reading past the segment if need be). */
      readonly first: boolean;
      readonly capture: boolean;
    };

export interface CachedMember {
  readonly path: string;
  readonly offset: number;
  readonly length: number;
  readonly sha256: string;
}

export interface SegmentTask {
  readonly type: 'segment';
  readonly id: number;
  readonly length: number;
  readonly pieces: readonly Piece[];
  readonly compression: LayerCompression;
  readonly level: number;
  /** Identifies the codec build; part of every cache key (see segment-cache.ts). */
  readonly codecId: string;
  readonly cache: ReadonlyMap<string, CachedMember> | null;
}

export interface SegmentResult {
  readonly type: 'result';
  readonly id: number;
  readonly raw: Uint8Array;
  readonly compressed: Uint8Array;
  /** Cache key of the raw segment and digest of its compressed form; null when not compressing. */
  readonly key: string | null;
  readonly memberSha256: string | null;
  readonly reused: boolean;
  readonly files: readonly {
    readonly entry: number;
    readonly sha256: string;
    readonly sha1: string;
  }[];
  readonly captured: readonly { readonly entry: number; readonly bytes: Uint8Array }[];
}

export interface SegmentFailure {
  readonly type: 'error';
  readonly id: number;
  readonly code: string;
  readonly path: string;
  readonly message: string;
}

export type WorkerReply = SegmentResult | SegmentFailure;
