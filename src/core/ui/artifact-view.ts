import type { ProvenanceSummary } from '../../domain/attestation.js';
import type { Digest } from '../../domain/digest.js';
import type { MeasuredEntry } from '../../domain/measurement.js';
import type { PolicyDecision } from '../../domain/policy.js';

/**
 * The shapes of the dashboard's artifacts view (GET /ui/api/artifacts…), shared by the
 * server, which answers with them, and the page, which names them by type only.
 */

/** One image as the artifacts view lists it: the fleets running it first. */
export interface ArtifactListed {
  readonly digest: Digest;
  readonly tags: readonly string[];
  readonly name: string | null;
  readonly version: string | null;
  /** Fleets whose current release runs it. */
  readonly fleets: readonly string[];
}

/**
 * The evidence about one image, in the words `ingot inspect` and `ingot verify` use: the
 * same admission check as a deploy (verifyArtifact, same codes), without re-hashing blobs.
 */
export interface ArtifactEvidence {
  readonly digest: Digest;
  readonly tags: readonly string[];
  readonly name: string | null;
  readonly version: string | null;
  readonly platform: string;
  readonly base: { readonly digest: string | null; readonly name: string | null };
  /** What the first provenance signed by a trusted key says (null: none). */
  readonly provenance: ProvenanceSummary | null;
  readonly attestations: readonly {
    readonly digest: Digest;
    readonly status: 'verified' | 'unknown-key' | 'invalid';
    readonly keyId?: string;
  }[];
  readonly decision: PolicyDecision;
  readonly problems: readonly {
    readonly code: string;
    readonly message: string;
    readonly attachment?: Digest;
  }[];
  /** Admitted: no problem and the policy allows it. */
  readonly ok: boolean;
  readonly measurement: {
    readonly digest: Digest | null;
    readonly signed: boolean;
    readonly files: number;
    readonly bytes: number;
  };
  readonly sbom: {
    readonly digest: Digest;
    readonly files: number;
    /** The first MAX_PACKAGES of them; `total` says how many there are. */
    readonly packages: readonly { name: string; version: string; purl?: string }[];
    readonly total: number;
  } | null;
}

/** A page of the measurement: paths in tree order, filtered by a substring of the path. */
export interface MeasurementPage {
  readonly total: number;
  readonly matched: number;
  readonly offset: number;
  readonly entries: readonly MeasuredEntry[];
}

/** What the artifacts view reads (services/ui/artifact-evidence.ts). */
export interface ArtifactReader {
  list(): Promise<ArtifactListed[]>;
  evidence(digest: Digest): Promise<ArtifactEvidence>;
  measurement(
    digest: Digest,
    query: { offset: number; limit: number; filter: string },
  ): Promise<MeasurementPage>;
}
