import type { TrustedKey } from '../core/attest/dsse.js';
import { verifyBundle, type BundleVerdict } from '../core/attest/verify-bundle.js';
import { evaluate } from '../core/policy/evaluate.js';
import { RUNTIME_REASON_CODES, type RuntimeRequest } from '../core/policy/runtime.js';
import { parseRuntimeContract } from '../core/runtime/contract.js';
import {
  AttestationError,
  MAX_BUNDLE_BYTES,
  type ProvenanceSummary,
} from '../domain/attestation.js';
import type { Digest } from '../domain/digest.js';
import { isIngotError } from '../domain/errors.js';
import { Annotation, MediaType } from '../domain/media-types.js';
import type { Descriptor, ImageManifest } from '../domain/oci.js';
import type { Policy, PolicyDecision } from '../domain/policy.js';
import type { StoreReader } from '../ports/store.js';
import { documentDigest, inParts, MAX_DOCUMENT_BYTES, readDocument } from './attached-document.js';
import { readConfig, readManifest } from './inspect.js';

export interface VerifyRequest {
  readonly ref: string;
  readonly policy: Policy;
  readonly keys: readonly TrustedKey[];
  /**
   * Re-hash every blob of the image and its attachments. Off for the check before each
   * start, where the rootfs is verified against the measurement instead.
   */
  readonly rehash: boolean;
  /**
   * The fleet's limits, checked against the policy's runtime maximums; null where no fleet
   * is known (`ingot verify`, the controller's cached verdict).
   */
  readonly resources: RuntimeRequest['resources'];
}

/** An integrity failure: something in the store is damaged or lies. Always fatal. */
export interface Problem {
  readonly code: string;
  readonly message: string;
  /** The attachment (manifest digest) it concerns, if any. */
  readonly attachment?: Digest;
}

export interface VerifyReport {
  /** Everything holds: no problem, and the policy allows it. */
  readonly ok: boolean;
  readonly digest: Digest;
  readonly tag: string | null;
  readonly decision: PolicyDecision;
  readonly problems: readonly Problem[];
  /** What the first provenance signed by a trusted key says. */
  readonly provenance: ProvenanceSummary | null;
  readonly attestations: readonly {
    readonly digest: Digest;
    readonly status: 'verified' | 'unknown-key' | 'invalid';
    readonly keyId?: string;
  }[];
  readonly measurement: { readonly digest: Digest | null; readonly signed: boolean };
  /** Blobs re-hashed (null when not asked for). */
  readonly blobs: { readonly count: number; readonly bytes: number } | null;
  /** How it asks to run, as the policy judged it (null: no readable runtime contract). */
  readonly runtime: RuntimeRequest | null;
}

/** Why a report does not admit its artifact: each problem and policy reason with its code. */
export function refusalReasons(report: VerifyReport): string[] {
  return [
    ...report.problems.map((p) => `${p.message} (${p.code})`),
    ...report.decision.reasons.map((r) => `${r.message} (${r.code})`),
  ];
}

/**
 * The checks an artifact must pass to run: its attestations are well-formed and signed by
 * trusted keys about this very artifact, the attached measurement is the one the provenance
 * signed, (optionally) every blob matches its digest, and the policy allows it.
 */
export async function verifyArtifact(
  store: StoreReader,
  request: VerifyRequest,
): Promise<VerifyReport> {
  const descriptor = await store.resolve(request.ref);
  const manifest = await readManifest(store, descriptor);
  const digest = descriptor.digest;
  const problems: Problem[] = [];
  const isImage = manifest.subject === undefined && manifest.artifactType === undefined;
  if (!isImage)
    problems.push({
      code: 'E_NOT_AN_IMAGE',
      message: `${digest} is an attachment (${manifest.artifactType ?? 'artifact'}), not an image`,
    });

  const { attachments, verdicts, attestations } = await readAttachments(
    store,
    digest,
    request.keys,
    problems,
  );
  const runtime = isImage ? await readRuntime(store, manifest, request.resources, problems) : null;
  const decision = evaluate(request.policy, { subject: digest, signatures: verdicts, runtime });
  const trustedIds = new Set(decision.signers.map((s) => s.id));
  const trustedProvenance = verdicts.flatMap((v) =>
    v.status === 'verified' && trustedIds.has(v.keyId) && v.statement.provenance
      ? [v.statement.provenance]
      : [],
  );
  const measurement = checkMeasurement(attachments, trustedProvenance, decision, problems);
  const blobs = request.rehash ? await rehash(store, manifest, attachments, problems) : null;

  const tag =
    (await store.index()).manifests.find(
      (d) => d.digest === digest && d.annotations?.[Annotation.refName] !== undefined,
    )?.annotations?.[Annotation.refName] ?? null;
  return {
    ok: problems.length === 0 && decision.allowed,
    digest,
    tag,
    decision,
    problems,
    provenance: trustedProvenance[0] ?? null,
    attestations,
    measurement,
    blobs,
    runtime,
  };
}

/**
 * What the image asks of the host: its `User`, and its runtime contract's capabilities and
 * volumes. A contract that cannot be read is a problem: nothing could run it anyway.
 */
async function readRuntime(
  store: StoreReader,
  manifest: ImageManifest,
  resources: RuntimeRequest['resources'],
  problems: Problem[],
): Promise<RuntimeRequest | null> {
  let config;
  try {
    config = await readConfig(store, manifest);
  } catch (err) {
    problems.push(asProblem(err));
    return null;
  }
  const contract = parseRuntimeContract(config.config?.Labels?.[Annotation.runtime]);
  if (contract === null) {
    problems.push({
      code: 'E_ARTIFACT_CONTRACT',
      message: `the image's runtime contract (${Annotation.runtime}) is malformed`,
    });
    return null;
  }
  return {
    user: config.config?.User,
    capabilities: contract.capabilities,
    volumes: contract.volumes.map((v) => v.name),
    resources,
  };
}

interface Attached {
  readonly descriptor: Descriptor;
  readonly manifest: ImageManifest;
}

/**
 * The image's attachments, each a manifest about this very image with exactly one blob,
 * and the verdict on each Sigstore bundle among them. What is malformed is a problem.
 */
async function readAttachments(
  store: StoreReader,
  digest: Digest,
  keys: readonly TrustedKey[],
  problems: Problem[],
): Promise<{
  attachments: Attached[];
  verdicts: BundleVerdict[];
  attestations: VerifyReport['attestations'][number][];
}> {
  const verdicts: BundleVerdict[] = [];
  const attestations: VerifyReport['attestations'][number][] = [];
  const attachments: Attached[] = [];
  for (const ref of await store.referrers(digest)) {
    let attached: ImageManifest;
    try {
      attached = await readManifest(store, ref);
    } catch (err) {
      problems.push(asProblem(err, ref.digest));
      continue;
    }
    const blob = attached.layers[0];
    // One blob, or a document in parts (attached-document.ts).
    const shaped = attached.layers.length === 1 || documentDigest(attached) !== null;
    if (attached.subject?.digest !== digest || !blob || !shaped) {
      problems.push({
        code: 'E_ATTACHMENT_INVALID',
        message: `attachment ${ref.digest} does not describe ${digest} with exactly one blob or a document's parts`,
        attachment: ref.digest,
      });
      continue;
    }
    attachments.push({ descriptor: ref, manifest: attached });
    if (attached.artifactType !== MediaType.sigstoreBundle) continue;
    try {
      if (attached.layers.length !== 1)
        throw new AttestationError(
          'E_ATTACHMENT_INVALID',
          `the bundle attachment ${ref.digest} has ${attached.layers.length} blobs, not one`,
        );
      if (blob.size > MAX_BUNDLE_BYTES)
        throw new AttestationError(
          'E_BUNDLE_TOO_LARGE',
          `the bundle has ${blob.size} bytes, more than the ${MAX_BUNDLE_BYTES} allowed`,
        );
      const bytes = await store.readBlob(blob.digest, MAX_BUNDLE_BYTES, blob.size);
      const verdict = verifyBundle(bytes, keys, digest);
      verdicts.push(verdict);
      attestations.push(
        verdict.status === 'verified'
          ? { digest: ref.digest, status: 'verified', keyId: verdict.keyId }
          : { digest: ref.digest, status: 'unknown-key', keyId: verdict.keyHint },
      );
    } catch (err) {
      problems.push(asProblem(err, ref.digest));
      attestations.push({ digest: ref.digest, status: 'invalid' });
    }
  }
  return { attachments, verdicts, attestations };
}

/** The measurement that will judge the running instance must be the one that was signed. */
function checkMeasurement(
  attachments: readonly Attached[],
  trustedProvenance: readonly ProvenanceSummary[],
  decision: PolicyDecision,
  problems: Problem[],
): VerifyReport['measurement'] {
  const measured = attachments.filter((a) => a.manifest.artifactType === MediaType.measurement);
  // The document's own digest, whichever form it is stored in: what provenance signs.
  const measurement = measured[0] ? documentDigest(measured[0].manifest) : null;
  if (measured.length > 1)
    problems.push({
      code: 'E_MEASUREMENT_MISMATCH',
      message: `${measured.length} measurements are attached; an image has exactly one`,
    });
  if (measurement === null)
    problems.push({ code: 'E_MEASUREMENT_MISSING', message: 'no measurement is attached' });
  let signed = false;
  for (const p of trustedProvenance) {
    if (p.measurement === null) continue;
    signed = true;
    if (p.measurement !== measurement)
      problems.push({
        code: 'E_MEASUREMENT_MISMATCH',
        message: `the attached measurement ${measurement ?? '(none)'} is not the one the provenance signed (${p.measurement})`,
      });
  }

  // A measurement no trusted key vouches for could be anyone's: hosts would check running
  // instances against it. Reported when trust is otherwise established, to not bury the
  // first reason under a consequence of it.
  const trusted =
    decision.allowed || decision.reasons.every((r) => RUNTIME_REASON_CODES.has(r.code));
  if (trusted && measurement !== null && !signed)
    problems.push({
      code: 'E_MEASUREMENT_UNSIGNED',
      message: `no provenance signed by a trusted key names the attached measurement ${measurement}`,
    });
  return { digest: measurement, signed };
}

/** Every blob of the image and its attachments re-hashed against its digest. */
async function rehash(
  store: StoreReader,
  manifest: ImageManifest,
  attachments: readonly Attached[],
  problems: Problem[],
): Promise<NonNullable<VerifyReport['blobs']>> {
  const all: Descriptor[] = [manifest.config, ...manifest.layers];
  for (const a of attachments) all.push(...a.manifest.layers);
  const unique = [...new Map(all.map((d) => [d.digest, d])).values()];
  let bytes = 0;
  for (const d of unique) {
    try {
      await store.checkBlob(d.digest, d.size);
      bytes += d.size;
    } catch (err) {
      problems.push(asProblem(err));
    }
  }
  // A document in parts is named by an annotation: its parts must come back to it.
  for (const a of attachments) {
    if (!inParts(a.manifest)) continue;
    try {
      await readDocument(store, a.manifest, MAX_DOCUMENT_BYTES);
    } catch (err) {
      problems.push(asProblem(err, a.descriptor.digest));
    }
  }
  return { count: unique.length + 1 + attachments.length, bytes };
}

function asProblem(err: unknown, attachment?: Digest): Problem {
  if (!isIngotError(err)) throw err;
  return { code: err.code, message: err.message, ...(attachment && { attachment }) };
}
