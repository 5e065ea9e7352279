import type { PlannedEntry } from '../core/layer-plan.js';
import type { Digest } from '../domain/digest.js';
import type { LayerCompression } from '../domain/media-types.js';
import type { Descriptor } from '../domain/oci.js';

export interface EncodeRequest {
  readonly entries: readonly PlannedEntry[];
  readonly compression: LayerCompression;
  /** gzip 1–9, zstd 1–19; the default of each codec when absent. */
  readonly level?: number;
  /** The blob is written here (a store transaction's staging directory). */
  readonly stagingDir: string;
  readonly onProgress?: (done: number, total: number) => void;
}

export interface FileDigests {
  readonly sha256: string;
  readonly sha1: string;
}

export interface EncodedLayer {
  readonly descriptor: Descriptor;
  /** sha256 of the uncompressed tar stream (the config's rootfs.diff_ids). */
  readonly diffId: Digest;
  /** The staged blob, inside `stagingDir`. */
  readonly path: string;
  /** Settles once the blob is on stable storage; commit only after it. */
  readonly flushed: Promise<void>;
  /** Per entry (same order as the request), for regular files. */
  readonly files: readonly (FileDigests | undefined)[];
  /** Content of the files the SBOM needs (core/sbom/capture.ts), by image path. */
  readonly captured: ReadonlyMap<string, Uint8Array>;
  /** Uncompressed bytes whose compressed form came from the cache. */
  readonly reusedBytes: number;
  readonly rawBytes: number;
}

/**
 * Turns planned entries into a layer blob: reads the sources (checking that none changed
 * since the walk), hashes every file for the measurement and the SBOM, and writes the tar
 * stream, compressed reproducibly.
 */
export interface LayerEncoder {
  encode(request: EncodeRequest): Promise<EncodedLayer>;
  /** A hint that layers will follow: start whatever is slow to start. */
  warmUp(): void;
  /** Record the layers of a committed build so a later build can reuse their segments. */
  remember(committed: readonly EncodedLayer[]): void;
  close(): Promise<void>;
}
