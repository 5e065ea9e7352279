import picomatch from 'picomatch';
import { shortKeyId, type ProvenanceSummary } from '../../domain/attestation.js';
import type { Digest } from '../../domain/digest.js';
import type { Policy, PolicyDecision, PolicyReason } from '../../domain/policy.js';
import type { BundleVerdict } from '../attest/verify-bundle.js';
import { evaluateRuntime, type RuntimeRequest } from './runtime.js';

/** What is known about an artifact when admission is decided. */
export interface Evidence {
  readonly subject: Digest;
  /** One verdict per attached bundle that passed the integrity checks. */
  readonly signatures: readonly BundleVerdict[];
  /**
   * How it asks to run (user, capabilities, volumes, the fleet's limits); null only when it
   * has no readable runtime contract, which is refused as a problem of its own.
   */
  readonly runtime: RuntimeRequest | null;
}

/**
 * The one admission decision, used by `ingot verify`, by deploy and by the agent before
 * every start: the same evidence and policy give the same answer everywhere. It assumes
 * integrity was checked (signatures verified, subjects matched); it decides trust, and what
 * the artifact may do when it runs.
 */
export function evaluate(policy: Policy, evidence: Evidence): PolicyDecision {
  const reasons: PolicyReason[] = [];
  const add = (reason: PolicyReason) => {
    if (!reasons.some((r) => r.code === reason.code && r.message === reason.message))
      reasons.push(reason);
  };
  const nameOf = new Map(policy.keys.map((k) => [k.id, k.name]));
  const trusted = evidence.signatures.flatMap((s) =>
    s.status === 'verified' && nameOf.has(s.keyId) ? [s] : [],
  );
  const signerIds = [...new Set(trusted.map((s) => s.keyId))];
  const signers = signerIds.map((id) => ({ id, name: nameOf.get(id)! }));
  const threshold = Math.max(1, policy.threshold);
  // The threshold holds per required statement: a second key that signed something else
  // about the artifact must not make up the k of n of its provenance.
  const perType = policy.predicateTypes.map((type) => ({
    type,
    keys: [
      ...new Set(trusted.filter((s) => s.statement.predicateType === type).map((s) => s.keyId)),
    ],
  }));
  const met =
    perType.length > 0
      ? perType.every((t) => t.keys.length >= threshold)
      : signerIds.length >= threshold;
  const names = (ids: readonly string[]) => ids.map((id) => nameOf.get(id)!).join(', ');

  if (!met) {
    if (evidence.signatures.length === 0)
      add({ code: 'E_NO_ATTESTATION', message: 'no signed attestation is attached' });
    const unknown = evidence.signatures.flatMap((s) =>
      s.status === 'unknown-key'
        ? [s.keyHint]
        : s.status === 'verified' && !nameOf.has(s.keyId)
          ? [s.keyId]
          : [],
    );
    for (const id of new Set(unknown))
      add({ code: 'E_KEY_UNKNOWN', message: `signed by unknown key ${describeKey(id)}` });
    if (
      perType.length === 0 &&
      evidence.signatures.length > 0 &&
      (signerIds.length > 0 || unknown.length === 0)
    )
      add({
        code: 'E_POLICY_THRESHOLD',
        message: `signed by ${signerIds.length} trusted key(s)${signerIds.length > 0 ? ` (${names(signerIds)})` : ''}; the policy requires ${threshold}`,
      });
  }
  for (const { type, keys } of perType) {
    if (keys.length === 0)
      add({
        code: 'E_POLICY_PREDICATE',
        message: `no ${type} statement signed by a trusted key`,
      });
    else if (keys.length < threshold)
      add({
        code: 'E_POLICY_THRESHOLD',
        message: `${type} signed by ${keys.length} trusted key(s) (${names(keys)}); the policy requires ${threshold}`,
      });
  }

  const matchesSource = policy.sources ? picomatch([...policy.sources]) : null;
  for (const { statement } of trusted)
    if (statement.provenance)
      for (const r of provenanceReasons(policy, statement.provenance, matchesSource)) add(r);
  // A statement with no provenance cannot satisfy builder/source/base rules.
  if (
    (policy.builders || policy.sources || policy.bases) &&
    trusted.length > 0 &&
    !trusted.some((s) => s.statement.provenance) &&
    !reasons.some((r) => r.code === 'E_POLICY_PREDICATE')
  )
    add({
      code: 'E_POLICY_PREDICATE',
      message: 'no signed provenance to check the builder, source and base against',
    });

  if (evidence.runtime !== null)
    for (const reason of evaluateRuntime(policy.runtime, evidence.runtime)) add(reason);

  const allowed = policy.mode === 'warn' || reasons.length === 0;
  return { allowed, mode: policy.mode, reasons, signers };
}

function describeKey(id: string): string {
  return /^[0-9a-f]{64}$/.test(id) ? shortKeyId(id) : JSON.stringify(id.slice(0, 80));
}

/** What the policy says of one trusted provenance: builder, source, work tree, base. */
function provenanceReasons(
  policy: Policy,
  p: ProvenanceSummary,
  matchesSource: ((remote: string) => boolean) | null,
): PolicyReason[] {
  const reasons: PolicyReason[] = [];
  const add = (reason: PolicyReason) => reasons.push(reason);
  if (policy.builders && !policy.builders.includes(p.builderId))
    add({
      code: 'E_POLICY_BUILDER',
      message: `built by ${p.builderId}, which is not an allowed builder`,
    });
  if (matchesSource) {
    if (!p.git?.remote)
      add({
        code: 'E_POLICY_SOURCE',
        message: 'built from no git repository, and the policy requires an allowed source',
      });
    else if (!matchesSource(p.git.remote))
      add({
        code: 'E_POLICY_SOURCE',
        message: `built from ${p.git.remote}, which is not allowed`,
      });
  }
  if (p.git === null && !policy.allowUntracked)
    add({
      code: 'E_POLICY_UNTRACKED',
      message:
        'built from outside any git work tree: no commit names its sources (the policy may say allowUntracked: true)',
    });
  if (p.git?.dirty && !policy.allowDirty)
    add({
      code: 'E_POLICY_DIRTY',
      message: `built from a work tree with uncommitted changes (at ${p.git.commit.slice(0, 12)})`,
    });
  if (policy.bases) {
    if (p.base === null && !policy.bases.scratch)
      add({
        code: 'E_POLICY_BASE',
        message: 'built from scratch, which is not among the allowed bases',
      });
    if (p.base !== null && !policy.bases.digests.includes(p.base as Digest))
      add({
        code: 'E_POLICY_BASE',
        message: `base ${p.base}${p.baseName ? ` (${p.baseName})` : ''} is not in the allowed bases`,
      });
  }
  return reasons;
}
