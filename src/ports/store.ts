import type { Digest } from '../domain/digest.js';
import type { Descriptor, ImageIndex } from '../domain/oci.js';

/**
 * The artifact store: content-addressed and write-once. Every read is verified against
 * the digest that names it; writes happen in a transaction that either commits whole or
 * leaves the store exactly as it was.
 */
export interface Store {
  /** Where the OCI layout lives (umoci and skopeo read it as `oci:<root>`). */
  readonly root: string;

  /** A blob, read whole and verified. `maxBytes` bounds what an attacker can make us read. */
  readBlob(digest: Digest, maxBytes: number, expectedSize?: number): Promise<Buffer>;
  hasBlob(digest: Digest): Promise<boolean>;
  /** Stream a blob through the hash without keeping it; throws if it does not match. */
  checkBlob(digest: Digest, expectedSize: number): Promise<void>;
  /** Path of a committed blob, for readers that verify what they read themselves. */
  blobPath(digest: Digest): string;

  index(): Promise<ImageIndex>;
  /** A tag, a digest, or a unique prefix of an image digest (at least 4 hex digits). */
  resolve(ref: string): Promise<Descriptor>;
  /** Attachments whose `subject` is the given manifest. */
  referrers(subject: Digest): Promise<Descriptor[]>;
  tagHistory(tag?: string): Promise<TagEvent[]>;

  begin(): Promise<StoreTransaction>;
}

/**
 * What reading and verifying an artifact needs of a store (`ingot verify`, admission): a
 * pull's admission implements it over the documents it fetched, held in memory.
 */
export type StoreReader = Pick<
  Store,
  'readBlob' | 'hasBlob' | 'checkBlob' | 'index' | 'resolve' | 'referrers'
>;

export interface TagEvent {
  readonly time: string;
  readonly tag: string;
  /** Where the tag pointed before; null when it was new. */
  readonly from: Digest | null;
  readonly to: Digest;
}

export interface CommitRequest {
  /** Manifests to list in index.json, each with the tags that should point at it. */
  readonly manifests: readonly {
    readonly descriptor: Descriptor;
    readonly tags: readonly string[];
  }[];
  /** When the tags moved (wall clock; not part of any artifact). */
  readonly time: string;
  /**
   * Attachments to take out of index.json in the same commit (a signer's earlier bundle for
   * the same image, replaced by its new one). Only untagged manifests with a subject are
   * taken out; their blobs stay, as every blob does.
   */
  readonly unlist?: readonly Digest[];
}

export interface CommitResult {
  readonly moved: readonly TagEvent[];
}

export interface StoreTransaction {
  /** A private directory on the store's filesystem for large blobs written by others. */
  readonly stagingDir: string;
  /** Stage a blob from memory; returns its descriptor. */
  putBlob(bytes: Uint8Array, mediaType: string): Promise<Descriptor>;
  /**
   * Stage a file already written inside `stagingDir` whose digest and size the caller
   * computed while writing it. It is not re-read: the caller vouches for the digest.
   */
  adoptFile(path: string, digest: Digest, size: number): void;
  /**
   * A blob as the commit would leave it: staged here, else already in the store; read whole
   * and verified. For checks of what was staged before it is committed (a pull's documents).
   */
  readBlob(digest: Digest, maxBytes: number, expectedSize?: number): Promise<Buffer>;
  commit(request: CommitRequest): Promise<CommitResult>;
  /** Remove everything staged. Safe to call after a failed commit or twice. */
  abort(): Promise<void>;
}
