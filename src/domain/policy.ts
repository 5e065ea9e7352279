import type { KeyId } from './attestation.js';
import type { Digest } from './digest.js';

/**
 * An admission policy after loading: keys are resolved to ids, base tags to digests. It is
 * what `evaluate` reads; the file format (policy.yaml) lives in core/policy/schema.ts.
 */
export interface Policy {
  readonly mode: 'enforce' | 'warn';
  /** How many distinct trusted keys must have signed (k of n). */
  readonly threshold: number;
  readonly keys: readonly { readonly name: string; readonly id: KeyId }[];
  /** Allowed `runDetails.builder.id`s; null allows any. */
  readonly builders: readonly string[] | null;
  /** Globs over the git remote the build came from; null allows any source. */
  readonly sources: readonly string[] | null;
  /** Whether a build from a work tree with uncommitted changes may run. */
  readonly allowDirty: boolean;
  /** Allowed base image digests (and whether `from: scratch` is allowed); null allows any. */
  readonly bases: { readonly digests: readonly Digest[]; readonly scratch: boolean } | null;
  /** Predicate types a trusted key must have signed a statement of. */
  readonly predicateTypes: readonly string[];
}

export type PolicyReasonCode =
  | 'E_NO_ATTESTATION'
  | 'E_KEY_UNKNOWN'
  | 'E_POLICY_THRESHOLD'
  | 'E_POLICY_PREDICATE'
  | 'E_POLICY_BUILDER'
  | 'E_POLICY_SOURCE'
  | 'E_POLICY_DIRTY'
  | 'E_POLICY_BASE';

export interface PolicyReason {
  readonly code: PolicyReasonCode;
  readonly message: string;
}

export interface PolicyDecision {
  /** In `warn` mode always true; the reasons are then warnings. */
  readonly allowed: boolean;
  readonly mode: Policy['mode'];
  readonly reasons: readonly PolicyReason[];
  /** The trusted keys whose signatures counted. */
  readonly signers: readonly { readonly name: string; readonly id: KeyId }[];
}
