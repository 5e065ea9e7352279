import { IngotError, type CodesOf } from './errors.js';

/** The identifiers of the standards Ingot's attestations follow (DESIGN.md, "Formats"). */
export const InToto = {
  /** DSSE payloadType of an in-toto Statement. */
  payloadType: 'application/vnd.in-toto+json',
  statementType: 'https://in-toto.io/Statement/v1',
  slsaProvenance: 'https://slsa.dev/provenance/v1',
} as const;

/** The `buildType` of Ingot's builds: what `externalParameters` mean and how to redo them. */
export const INGOT_BUILD_TYPE = 'https://ingot.dev/build-types/baseline/v1';
/** Builder id recorded when none is configured (`--builder-id`, `INGOT_BUILDER_ID`). */
export const DEFAULT_BUILDER_ID = 'https://ingot.dev/builders/local/v1';

/**
 * Upper bound on a Sigstore bundle we read. A provenance bundle is a few KiB; anything near
 * this bound is an attacker trying to make the verifier allocate.
 */
export const MAX_BUNDLE_BYTES = 1 << 20;

/** A key id: lowercase hex SHA-256 of the public key's SubjectPublicKeyInfo DER. */
export type KeyId = string;

/** The 12 hex digits people read; never an identity. */
export function shortKeyId(id: KeyId): string {
  return `${id.slice(0, 12)}…`;
}

/** What went wrong with one attestation, or with the evidence as a whole. */
export type AttestationErrorCode = CodesOf<'attestation'>;

export class AttestationError extends IngotError<AttestationErrorCode> {}

/** A key pair just written by `ingot key generate`. */
export interface GeneratedKey {
  readonly keyId: KeyId;
  /** Paths of the private (0600) and public key files. */
  readonly privateKey: string;
  readonly publicKey: string;
}

/** Problems with key files. */
export type KeyErrorCode = CodesOf<'key'>;

export class KeyError extends IngotError<KeyErrorCode> {}

/** Where an artifact came from, as its signed provenance says. */
export interface ProvenanceSummary {
  readonly builderId: string;
  readonly buildType: string;
  readonly invocationId: string | null;
  readonly startedOn: string | null;
  readonly finishedOn: string | null;
  readonly baseline: {
    readonly path: string;
    readonly digest: string | null;
  } | null;
  readonly tag: string | null;
  readonly compression: string | null;
  readonly level: number | null;
  readonly sourceDateEpoch: number | null;
  /** The base image digest, or null for `from: scratch`. */
  readonly base: string | null;
  readonly baseName: string | null;
  readonly sourceTree: string | null;
  readonly git: {
    readonly commit: string;
    readonly remote: string | null;
    readonly dirty: boolean;
    readonly ignoredInputs: number;
  } | null;
  /** Digests of the measurement and SBOM documents (the blobs) made with the image. */
  readonly measurement: string | null;
  readonly sbom: string | null;
  /**
   * Whether the build could take parts and file digests from earlier builds (false with
   * `--no-cache`: every source byte was read); null when the provenance does not say.
   */
  readonly buildCache: boolean | null;
}
