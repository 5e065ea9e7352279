import type { PlannedEntry } from '../core/layer-plan.js';
import type { Digest } from '../domain/digest.js';
import type { LayerCompression } from '../domain/media-types.js';
import type { Descriptor } from '../domain/oci.js';
import type { SourceFile } from '../domain/source.js';

export interface EncodeRequest {
  readonly entries: readonly PlannedEntry[];
  readonly compression: LayerCompression;
  /** gzip 1–9, zstd 1–19; the default of each codec when absent. */
  readonly level?: number;
  /**
   * At most this many OCI layers for this one (the image's other layers leave the rest of
   * what runtimes stack: overlay filesystems stop at about 128).
   */
  readonly maxParts?: number;
  /** The blob is written here (a store transaction's staging directory). */
  readonly stagingDir: string;
  /**
   * Bytes done of the current step: "hash" reads every file once to find which parts an
   * earlier build already stored; "encode" writes the parts that are new.
   */
  readonly onProgress?: (done: number, total: number, step: 'hash' | 'encode') => void;
}

/** A layer's regular files, listed by the walk, before the layer is planned. */
export interface HashAheadRequest {
  readonly files: readonly { readonly file: SourceFile; readonly path: string }[];
  readonly compression: LayerCompression;
  readonly level?: number;
  readonly onProgress?: (done: number, total: number) => void;
}

export interface FileDigests {
  readonly sha256: string;
  readonly sha1: string;
}

/** One OCI layer of an encoded baseline layer (core/layer-parts.ts). */
export interface EncodedPart {
  readonly descriptor: Descriptor;
  /** sha256 of the uncompressed tar stream (the config's rootfs.diff_ids). */
  readonly diffId: Digest;
  /**
   * Settles once the part may be committed: with the staged blob to adopt (inside
   * `stagingDir`, on stable storage), or null when the store's copy was re-hashed and found
   * intact. Rejects when neither can be had.
   */
  readonly staged: Promise<string | null>;
  /**
   * Uncompressed bytes, and how many of them came from earlier builds. For a part
   * `fromStore` (the store's blob, referred to as it is) whose blob proves damaged, `staged`
   * gives the blob encoded afresh, and nothing of it was reused after all.
   */
  readonly rawBytes: number;
  readonly reusedBytes: number;
  readonly fromStore: boolean;
}

export interface EncodedLayer {
  /** In stream order: the layers' tar streams, concatenated, hold the entries in order. */
  readonly parts: readonly EncodedPart[];
  /** Per entry (same order as the request), for regular files. */
  readonly files: readonly (FileDigests | undefined)[];
  /** Content of the files the SBOM needs (core/sbom/capture.ts), by image path. */
  readonly captured: ReadonlyMap<string, Uint8Array>;
  /** Uncompressed bytes whose compressed form came from the cache. */
  readonly reusedBytes: number;
  readonly rawBytes: number;
}

/**
 * Turns planned entries into layer blobs: reads the sources (checking that none changed
 * since the walk), hashes every file for the measurement and the SBOM, and writes the tar
 * streams of the parts the store lacks, compressed reproducibly.
 */
export interface LayerEncoder {
  encode(request: EncodeRequest): Promise<EncodedLayer>;
  /** A hint that layers will follow: start whatever is slow to start. */
  warmUp(): void;
  /**
   * A hint that these files will be encoded: hash them now, while the caller plans, if a
   * later `encode` will need their digests before it encodes (to find stored parts).
   */
  hashAhead(request: HashAheadRequest): void;
  /** Record the layers of a committed build so a later build can reuse their parts and segments. */
  remember(committed: readonly EncodedLayer[]): void;
  close(): Promise<void>;
}
