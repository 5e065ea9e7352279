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
  /**
   * Whether a build from outside any git work tree may run: no commit names its sources, so
   * nobody can rebuild it or say what changed; "no uncommitted changes" cannot even be asked.
   */
  readonly allowUntracked: boolean;
  /** Allowed base image digests (and whether `from: scratch` is allowed); null allows any. */
  readonly bases: { readonly digests: readonly Digest[]; readonly scratch: boolean } | null;
  /** Predicate types a trusted key must have signed a statement of. */
  readonly predicateTypes: readonly string[];
  /** What an admitted artifact may do when it runs (policy.yaml `runtime:`). */
  readonly runtime: RuntimeRules;
}

/**
 * Limits on the privileges and resources of what runs. A signature says who built an
 * artifact, not that it is harmless: a trusted builder can still sign an image that asks for
 * CAP_SYS_ADMIN and, with no user namespace, that is root on the host.
 */
export interface RuntimeRules {
  /** Whether the process may run as uid 0 (gid 0 alone is not root). */
  readonly allowRoot: boolean;
  /** Capabilities ("CAP_NET_BIND_SERVICE") the runtime contract may ask for. */
  readonly allowedCapabilities: readonly string[];
  /** Ceilings on the fleet's `resources`; when set, the fleet must set that limit too. */
  readonly maxMemoryBytes: number | null;
  readonly maxCpus: number | null;
  readonly maxPids: number | null;
  /** Whether the contract may declare volumes: state that outlives the instance. */
  readonly allowVolumes: boolean;
}

/** Why a policy refuses an artifact (a closed set: metrics count refusals by it). */
export const POLICY_REASON_CODES = [
  'E_NO_ATTESTATION',
  'E_KEY_UNKNOWN',
  'E_POLICY_THRESHOLD',
  'E_POLICY_PREDICATE',
  'E_POLICY_BUILDER',
  'E_POLICY_SOURCE',
  'E_POLICY_DIRTY',
  'E_POLICY_UNTRACKED',
  'E_POLICY_BASE',
  'E_POLICY_ROOT',
  'E_POLICY_CAPABILITY',
  'E_POLICY_MEMORY',
  'E_POLICY_CPUS',
  'E_POLICY_PIDS',
  'E_POLICY_VOLUME',
] as const;
export type PolicyReasonCode = (typeof POLICY_REASON_CODES)[number];

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
