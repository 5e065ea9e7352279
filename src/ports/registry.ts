import type { Digest } from '../domain/digest.js';
import type { Descriptor, ImageIndex } from '../domain/oci.js';
import type { Credentials } from '../domain/registry.js';

/** How to reach one registry. */
export interface RegistryOptions {
  /** `host[:port]`. */
  readonly authority: string;
  /** Speak plain HTTP: only when the user asked (`--plain-http`); credentials then travel in clear. */
  readonly plainHttp: boolean;
  /** Basic credentials, also exchanged for bearer tokens; null to go anonymous. */
  readonly credentials: Credentials | null;
  /** PEM of the CAs to trust instead of the system's (`--ca-file`). */
  readonly ca?: string | Buffer;
}

/** A manifest (or index) as the registry gave it, verified against the digest that names it. */
export interface FetchedManifest {
  readonly digest: Digest;
  readonly mediaType: string;
  readonly bytes: Buffer;
}

/** What to upload: bytes in memory, or a file (a layer) of a known size, read again on a retry. */
export type BlobSource = { readonly bytes: Uint8Array } | { readonly path: string };

/**
 * An OCI distribution registry, as push and pull need it. Every answer is hostile until
 * checked: manifests are bounded and verified, blobs are hashed while they stream and a
 * blob that does not match leaves nothing behind.
 */
export interface Registry {
  readonly authority: string;
  /** Does `repo` hold the blob (HEAD)? A blob of another size counts as absent. */
  hasBlob(repo: string, blob: Descriptor): Promise<boolean>;
  /** Mount a blob from another repository of the same registry; false if the registry would not. */
  mountBlob(repo: string, blob: Descriptor, from: string): Promise<boolean>;
  /** Upload a blob whole (POST, then PUT with ?digest=). */
  pushBlob(repo: string, blob: Descriptor, source: BlobSource): Promise<void>;
  /**
   * GET a manifest by tag or digest, at most `maxBytes` (default and most: 4 MiB, else
   * E_REGISTRY_TOO_LARGE); by digest it must hash to it.
   */
  getManifest(repo: string, reference: string, maxBytes?: number): Promise<FetchedManifest>;
  /** The digest a tag names now (HEAD), or null when the tag does not exist. */
  resolveTag(repo: string, tag: string): Promise<Digest | null>;
  /** PUT a manifest under a tag or its digest; returns its digest. */
  putManifest(
    repo: string,
    reference: string,
    mediaType: string,
    bytes: Uint8Array,
  ): Promise<Digest>;
  /**
   * Stream a blob into `path` (a new file), hashing it on the way. On a digest or size
   * mismatch, or any failure, the file is removed and the error thrown.
   */
  fetchBlob(repo: string, blob: Descriptor, path: string): Promise<void>;
  /**
   * GET a small blob (a config, a signature bundle) into memory, verified against its
   * digest; refused if its descriptor or the registry says it is larger than `maxBytes`.
   */
  getBlob(repo: string, blob: Descriptor, maxBytes: number): Promise<Buffer>;
  /** The referrers API's list for `subject`, or null when the registry has no such API. */
  referrers(repo: string, subject: Digest): Promise<ImageIndex | null>;
  /** Close the connections it keeps alive; whoever opened the client calls it, once done. */
  close(): Promise<void>;
}

export type RegistryFactory = (options: RegistryOptions) => Registry;

/**
 * Where this home has put or found blobs in registries, so that a push to another
 * repository of the same registry mounts them instead of uploading them again. A cache: a
 * wrong or lost entry costs one refused mount and an upload, never correctness.
 */
export interface BlobLocations {
  /** Repositories of `authority` known to hold `digest`, most recent first. */
  repositories(authority: string, digest: Digest): readonly string[];
  /** Remember that `repository` holds these blobs now. */
  record(authority: string, repository: string, digests: readonly Digest[]): void;
}
