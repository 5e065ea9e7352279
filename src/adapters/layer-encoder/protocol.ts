import type { Digest } from '../../domain/digest.js';
import type { LayerCompression } from '../../domain/media-types.js';
import type { TarEntryHeader } from '../../core/tar/header.js';
import type { SourceFile } from '../../domain/source.js';

/** Messages between the encoder and its workers. Plain data: they cross a thread boundary. */

export type Piece =
  /** An entry's tar header (encoded by the worker: it is pure). */
  | { readonly kind: 'header'; readonly header: TarEntryHeader }
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

/**
 * Sent once per layer. Segments are assembled in `slots`, memory shared by all threads,
 * so no segment is ever copied or garbage-collected. For an uncompressed layer, workers
 * write their segment into its part's blob (the task's `fd`, shared by the process) at
 * its offset.
 */
export interface EncodeSetup {
  readonly type: 'setup';
  readonly slots: SharedArrayBuffer;
  readonly slotSize: number;
  /** Compressed output, one region per slot; a member too big for it is transferred instead. */
  readonly outputs: SharedArrayBuffer;
  readonly outputSize: number;
  readonly cache: readonly (readonly [string, CachedMember])[];
}

export interface SegmentTask {
  readonly type: 'segment';
  readonly id: number;
  readonly slot: number;
  readonly length: number;
  readonly pieces: readonly Piece[];
  readonly compression: LayerCompression;
  readonly level: number;
  /** Identifies the codec build and encoding rules; part of every cache key (segment-cache.ts). */
  readonly codecId: string;
  /** The part's blob and where in it to write the raw segment (uncompressed layers only). */
  readonly fd: number | null;
  readonly writeAt: number | null;
}

/** Hash whole files for the measurement and the SBOM, before deciding what to encode. */
export interface HashTask {
  readonly type: 'hash';
  readonly id: number;
  readonly files: readonly {
    readonly entry: number;
    readonly file: SourceFile;
    readonly capture: boolean;
  }[];
}

export interface HashResult {
  readonly type: 'hashed';
  readonly id: number;
  readonly files: readonly { readonly entry: number; readonly sha256: string }[];
  readonly captured: SegmentResult['captured'];
}

/** Check that a stored blob still hashes to its digest before a build refers to it again. */
export interface CheckTask {
  readonly type: 'check';
  readonly id: number;
  readonly path: string;
  readonly size: number;
  readonly digest: Digest;
}

export interface CheckResult {
  readonly type: 'checked';
  readonly id: number;
  readonly intact: boolean;
}

export type WorkerTask = SegmentTask | HashTask | CheckTask;

export interface SegmentResult {
  readonly type: 'result';
  readonly id: number;
  readonly slot: number;
  /**
   * Bytes of compressed output in the slot's output region; null for an uncompressed layer
   * (already written to the blob). `overflow` holds the output instead when it did not fit.
   */
  readonly compressedLength: number | null;
  readonly overflow: Uint8Array | null;
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
  /** The segment's slot; -1 for tasks that hold none. */
  readonly slot: number;
  readonly code: string;
  readonly path: string;
  readonly message: string;
}

export type WorkerReply = SegmentResult | HashResult | CheckResult | SegmentFailure;

/** What a segment job needs besides its task: the shared slots and the cache. */
export interface JobEnv {
  readonly slots: Buffer;
  readonly slotSize: number;
  readonly outputs: Buffer;
  readonly outputSize: number;
  readonly cache: ReadonlyMap<string, CachedMember>;
}

export function envOf(setup: EncodeSetup): JobEnv {
  return {
    slots: Buffer.from(setup.slots),
    slotSize: setup.slotSize,
    outputs: Buffer.from(setup.outputs),
    outputSize: setup.outputSize,
    cache: new Map(setup.cache),
  };
}
