import type { GitSource } from '../../core/attest/provenance.js';
import type { KeyId } from '../../domain/attestation.js';
import type { Baseline } from '../../domain/baseline.js';
import type { Digest } from '../../domain/digest.js';
import type { DroppedEntry, MeasurementSummary } from '../../domain/measurement.js';
import type { LayerCompression } from '../../domain/media-types.js';
import type { Descriptor } from '../../domain/oci.js';
import type { SourceListing } from '../../domain/source.js';
import type { BaseImageSource } from '../../ports/base-image.js';
import type { LayerEncoder } from '../../ports/layer-encoder.js';
import type { Signer } from '../../ports/signer.js';
import type { ReadSpecFile } from '../../ports/spec-file.js';
import type { Store, TagEvent } from '../../ports/store.js';
import type { BlobLocations, Registry } from '../../ports/registry.js';
import type { RegistryReference } from '../../domain/registry.js';

/** How a build reaches the baseline's files: supplied by the composition root. */
export interface BaselineFiles {
  /** The working directory: relative paths are taken from it, and names shown against it. */
  readonly cwd: string;
  /** What is at a path (symlinks followed): a folder, something else, or nothing. */
  readonly pathKind: (path: string) => 'dir' | 'other' | null;
  /** The bounded, non-blocking reader of ingot.yaml (adapters/shared/spec-file.ts). */
  readonly readSpecFile: ReadSpecFile;
}

export interface BuildDeps extends BaselineFiles {
  readonly store: Store;
  readonly encoder: LayerEncoder;
  readonly bases: BaseImageSource;
  /** Bases in registries (`from: { image, digest }`): how to reach them, where they are kept. */
  readonly registryBases: RegistryBases;
  readonly walk: (contextDir: string, spec: Baseline['layers'][number]) => SourceListing;
  readonly now: () => Date;
  /** "ingot-<version>", for the SBOM's creator. */
  readonly tool: string;
  /** Ingot's version, recorded as the builder's version in provenance. */
  readonly version: string;
  /** The signer of a key file (`--key`). */
  readonly loadSigner: (path: string) => Signer;
  /** The git work tree holding a folder (and how many of the files read git ignores), or null. */
  readonly describeSource: (
    dir: string,
    inputs?: readonly string[],
  ) => (GitSource & { readonly root: string }) | null;
  /** A fresh, unique id for each build (the provenance's invocation id). */
  readonly invocationId: () => string;
}

export interface RegistryBases {
  /**
   * A client for the registry a reference names, as the command line asked to reach it;
   * the caller closes it when done.
   */
  readonly connect: (ref: RegistryReference) => Promise<Registry>;
  /**
   * The OCI layout fetched bases are kept in, apart from the store: a refused build leaves
   * the store as it was, and a base is nobody's artifact. A cache: deleting it costs a fetch.
   */
  readonly cache: () => Promise<Store>;
  /** Where blobs were found, so that a push to the same registry mounts the base's layers. */
  readonly locations: BlobLocations;
}

export interface BuildRequest {
  /** A baseline folder (holding ingot.yaml) or the ingot.yaml file itself. */
  readonly path: string;
  /** Defaults to "<name>:<version>". */
  readonly tag?: string;
  readonly compression: LayerCompression;
  readonly level?: number;
  /** Seconds since the epoch for every timestamp in the artifact (SOURCE_DATE_EPOCH). */
  readonly sourceDateEpoch: number;
  readonly onProgress?: (event: BuildProgress) => void;
  /** Private key files: each signs the provenance and attaches its own Sigstore bundle. */
  readonly signingKeys?: readonly string[];
  /** `runDetails.builder.id` of the provenance (default DEFAULT_BUILDER_ID). */
  readonly builderId?: string;
  /**
   * Read and encode every byte: the build cache is neither believed nor updated (the
   * composition root gives the build an encoder without one).
   */
  readonly noCache?: boolean;
}

export type BuildProgress =
  | { readonly phase: 'plan'; readonly message: string }
  | {
      readonly phase: 'base';
      readonly layer: number;
      readonly layers: number;
      readonly done: number;
      readonly total: number;
    }
  | {
      readonly phase: 'layer';
      readonly layer: number;
      readonly layers: number;
      readonly source: string;
      /** "hash": reading every file to find what earlier builds stored; "encode": writing. */
      readonly step: 'hash' | 'encode';
      readonly done: number;
      readonly total: number;
    }
  | { readonly phase: 'commit'; readonly message: string };

export type Progress = (event: BuildProgress) => void;

export interface BuiltLayer {
  readonly descriptor: Descriptor;
  readonly diffId: Digest;
  /** "base" for layers of the base image; the source otherwise. */
  readonly origin: string;
  readonly reusedBytes: number;
  readonly rawBytes: number;
}

export interface BuildResult {
  readonly name: string;
  readonly version: string;
  readonly digest: Digest;
  readonly descriptor: Descriptor;
  readonly tag: string;
  readonly platform: string;
  readonly config: Digest;
  readonly layers: readonly BuiltLayer[];
  readonly base: {
    /** Where it came from: an OCI layout on disk, or a registry (fetched by its pin). */
    readonly kind: 'layout' | 'registry';
    readonly digest: Digest;
    readonly tag?: string;
    /** The layout's folder, or `HOST[:PORT]/REPO[:TAG]` of a registry base. */
    readonly location: string;
    /** Device nodes under /dev the base carried, left out (and listed in the measurement). */
    readonly dropped: readonly Pick<DroppedEntry, 'path' | 'type'>[];
  } | null;
  readonly measurement: { readonly digest: Digest; readonly summary: MeasurementSummary };
  readonly sbom: { readonly digest: Digest; readonly packages: number; readonly files: number };
  /** One signed provenance bundle per signing key; empty when the build was not signed. */
  readonly attestations: readonly { readonly keyId: KeyId; readonly digest: Digest }[];
  readonly source: { readonly tree: Digest; readonly git: GitSource | null };
  readonly moved: readonly TagEvent[];
}
