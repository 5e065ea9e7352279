import { relative } from 'node:path';
import { encodeBundle } from '../../core/attest/bundle.js';
import { pae } from '../../core/attest/dsse.js';
import { buildProvenance, type GitSource } from '../../core/attest/provenance.js';
import { sourceTreeDigest } from '../../core/attest/source-tree.js';
import { canonicalJsonBytes } from '../../core/canonical-json.js';
import { DEFAULT_BUILDER_ID, InToto, type KeyId } from '../../domain/attestation.js';
import type { Digest } from '../../domain/digest.js';
import { MediaType } from '../../domain/media-types.js';
import type { Descriptor } from '../../domain/oci.js';
import type { EncodedLayer } from '../../ports/layer-encoder.js';
import type { StoreTransaction } from '../../ports/store.js';
import { baseNames, type BaseNames } from './base-names.js';
import { shownName } from './load-baseline.js';
import type { LayerPlans } from './plan-layers.js';
import type { BuildInputs } from './read-inputs.js';
import type { BuildDeps, BuildRequest } from './types.js';
import type { Attach, Attachment } from './write-attachments.js';

/** What the build was made from: the digest of its source tree, and git's view of it. */
export interface SourceDescription {
  readonly tree: Digest;
  /** Null when the build is not signed (nothing records it) or not in a git work tree. */
  readonly git: (GitSource & { readonly root: string }) | null;
}

export function describeSources(
  deps: BuildDeps,
  inputs: BuildInputs,
  planned: LayerPlans,
  encoded: readonly EncodedLayer[],
): SourceDescription {
  const { baseline, listings } = inputs;
  const tree = sourceTreeDigest(
    baseline.layers.map((spec, i) => ({
      source: spec.source,
      destination: spec.destination,
      entries: planned.plans[i]!.map((p, k) => ({
        name: p.header.name,
        type: p.header.type,
        content: encoded[i]!.files[k]?.sha256 ?? p.header.linkname ?? null,
      })),
    })),
  );
  // Described after the sources were read: a change made meanwhile shows up as dirty.
  const git =
    inputs.signers.length > 0
      ? deps.describeSource(
          inputs.contextDir,
          listings.flatMap((l) => l.items.flatMap((item) => (item.file ? [item.file.abs] : []))),
        )
      : null;
  return { tree, git };
}

function provenanceBase(names: BaseNames, base: { readonly descriptor: Descriptor }) {
  return {
    digest: base.descriptor.digest,
    ...(names.tag !== undefined && { name: names.tag }),
    ...(names.uri !== undefined && { uri: names.uri }),
    ...(names.index !== undefined && { index: names.index }),
  };
}

export interface Attestation {
  readonly keyId: KeyId;
  readonly digest: Digest;
  readonly descriptor: Attachment;
}

/**
 * SLSA provenance of the image, signed by each key into its own Sigstore bundle and
 * attached to the image. None when the build has no signing key.
 */
export async function signProvenance(
  deps: BuildDeps,
  request: BuildRequest,
  inputs: BuildInputs,
  made: {
    readonly tx: StoreTransaction;
    readonly attach: Attach;
    readonly image: Descriptor;
    readonly source: SourceDescription;
    readonly measurement: Digest;
    readonly sbom: Digest;
    readonly startedOn: string;
  },
): Promise<Attestation[]> {
  const { signers, baseline, base, tag, file } = inputs;
  if (signers.length === 0) return [];
  const { git } = made.source;
  const statement = buildProvenance({
    subject: { name: tag, digest: made.image.digest },
    baseline: {
      path: git ? relative(git.root, file) : shownName(deps.cwd, file),
      digest: inputs.digest,
    },
    tag,
    compression: request.compression,
    ...(request.level !== undefined && { level: request.level }),
    sourceDateEpoch: request.sourceDateEpoch,
    base: base && provenanceBase(baseNames(baseline.from, base.descriptor.digest), base),
    sourceTree: made.source.tree,
    git: git && gitFields(git),
    builderId: request.builderId ?? DEFAULT_BUILDER_ID,
    builderVersion: deps.version,
    invocationId: deps.invocationId(),
    startedOn: made.startedOn,
    finishedOn: deps.now().toISOString(),
    measurement: made.measurement,
    sbom: made.sbom,
    buildCache: !request.noCache,
  });
  const payload = canonicalJsonBytes(statement);
  const attestations: Attestation[] = [];
  for (const signer of signers) {
    const signature = await signer.sign(pae(InToto.payloadType, payload));
    const bundle = encodeBundle({
      payloadType: InToto.payloadType,
      payload,
      signature,
      keyId: signer.keyId,
    });
    const blob = await made.tx.putBlob(bundle, MediaType.sigstoreBundle);
    const descriptor = await made.attach(MediaType.sigstoreBundle, [blob]);
    attestations.push({ keyId: signer.keyId, digest: descriptor.digest, descriptor });
  }
  return attestations;
}

/** What provenance and the build's result record of git (not where the work tree is). */
export function gitFields(git: GitSource): GitSource {
  return {
    commit: git.commit,
    remote: git.remote,
    dirty: git.dirty,
    ignoredInputs: git.ignoredInputs,
  };
}
