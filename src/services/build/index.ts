import { formatPlatform } from '../../core/image.js';
import { summarize, type DroppedEntry, type MeasuredEntry } from '../../domain/measurement.js';
import type { Descriptor } from '../../domain/oci.js';
import type { Digest } from '../../domain/digest.js';
import { storedBundles } from '../attestation.js';
import type { EncodedLayer } from '../../ports/layer-encoder.js';
import type { TagEvent } from '../../ports/store.js';
import { readBaseLayers } from './base-layers.js';
import { baseNames } from './base-names.js';
import { adoptParts, encodeLayers } from './encode-layers.js';
import { planLayers } from './plan-layers.js';
import { readInputs, type BuildInputs } from './read-inputs.js';
import {
  describeSources,
  gitFields,
  signProvenance,
  type Attestation,
  type SourceDescription,
} from './sign.js';
import type { BuildDeps, BuildRequest, BuildResult, BuiltLayer, Progress } from './types.js';
import { attacher, writeAttachments, type WrittenAttachments } from './write-attachments.js';
import { writeImage } from './write-image.js';

export type {
  BaselineFiles,
  BuildDeps,
  BuildProgress,
  BuildRequest,
  BuildResult,
  BuiltLayer,
  RegistryBases,
} from './types.js';
export { loadBaseline, type LoadedBaseline } from './load-baseline.js';

/**
 * `ingot build`: baseline → image, measurement and SBOM, committed to the store in one
 * transaction. Everything that can be refused (spec, keys, base, sources) is refused before
 * any content is encoded, and a failure at any point leaves the store as it was.
 *
 * The steps: read the inputs → read the base's layers → plan the build's own layers →
 * encode them → write config and manifest → attach measurement and SBOM → confirm every
 * part → sign the provenance → commit.
 */
export async function build(deps: BuildDeps, request: BuildRequest): Promise<BuildResult> {
  const progress: Progress = request.onProgress ?? (() => undefined);
  const startedOn = deps.now().toISOString();
  const inputs = await readInputs(deps, request, progress);
  const { baseline, base, created } = inputs;

  const tx = await deps.store.begin();
  const encoded: EncodedLayer[] = [];
  try {
    const { shape, layers, dropped } = await readBaseLayers(deps.store, tx, base, progress);
    const baseLayers = layers.length;
    const planned = planLayers(baseline, inputs.listings, shape, request.sourceDateEpoch);
    const layerOf = await encodeLayers(
      deps.encoder,
      request,
      tx,
      planned,
      shape,
      layers,
      encoded,
      progress,
    );

    progress({ phase: 'commit', message: 'writing config, manifest, measurement and SBOM' });
    const tree = shape.entries();
    const entries = tree.map((t) => t.entry);
    const { config, image } = await writeImage(tx, inputs, layers, baseLayers);
    const attach = attacher(tx, image, created);
    const attached = await writeAttachments(
      tx,
      attach,
      entries,
      tree,
      {
        name: baseline.name,
        version: baseline.version,
        image: image.digest,
        created,
        tool: deps.tool,
      },
      dropped,
    );

    await adoptParts(encoded, tx, layers, layerOf);
    const source = describeSources(deps, inputs, planned, encoded);
    const attestations = await signProvenance(deps, request, inputs, {
      tx,
      attach,
      image,
      source,
      measurement: attached.measurement.digest,
      sbom: attached.sbom.digest,
      startedOn,
    });

    const { moved } = await tx.commit({
      manifests: [
        { descriptor: image, tags: [inputs.tag] },
        { descriptor: attached.measurement.manifest, tags: [] },
        { descriptor: attached.sbom.manifest, tags: [] },
        ...attestations.map((a) => ({ descriptor: a.descriptor, tags: [] })),
      ],
      time: deps.now().toISOString(),
      // One bundle per key per image: a rebuild's signature replaces the key's earlier one
      // (the ledger keeps every build), so the image never gathers a bundle per build.
      unlist: await replacedBundles(deps.store, image.digest, attestations),
    });
    rememberQuietly(deps, encoded, progress);
    return resultOf(inputs, {
      image,
      config,
      layers,
      entries,
      attached,
      attestations,
      source,
      moved,
      dropped,
    });
  } catch (err) {
    // Background fsyncs of staged layers must settle before their files go.
    await Promise.allSettled(encoded.flatMap((l) => l.parts.map((p) => p.staged)));
    await tx.abort();
    throw err;
  }
}

/** The image's earlier bundles by the keys that signed it now (a store may have none yet). */
async function replacedBundles(
  store: BuildDeps['store'],
  image: Digest,
  attestations: readonly Attestation[],
): Promise<Digest[]> {
  if (attestations.length === 0) return [];
  const signers = new Set<string>(attestations.map((a) => a.keyId));
  const fresh = new Set(attestations.map((a) => a.descriptor.digest));
  const earlier = await storedBundles(store, image).catch(() => []);
  return earlier
    .filter((b) => b.keyHint !== null && signers.has(b.keyHint) && !fresh.has(b.attachment))
    .map((b) => b.attachment);
}

/** What `ingot build` reports of what it committed. */
function resultOf(
  inputs: BuildInputs,
  made: {
    readonly image: Descriptor;
    readonly config: Descriptor;
    readonly layers: readonly BuiltLayer[];
    readonly entries: readonly MeasuredEntry[];
    readonly attached: WrittenAttachments;
    readonly attestations: readonly Attestation[];
    readonly source: SourceDescription;
    readonly moved: readonly TagEvent[];
    readonly dropped: readonly DroppedEntry[];
  },
): BuildResult {
  const { baseline, base } = inputs;
  const { image, attached, source } = made;
  const baseTag = base && baseNames(baseline.from, base.descriptor.digest).tag;
  return {
    name: baseline.name,
    version: baseline.version,
    digest: image.digest,
    descriptor: image,
    tag: inputs.tag,
    platform: formatPlatform(inputs.platform),
    config: made.config.digest,
    layers: made.layers,
    base: base && {
      kind: baseline.from.kind === 'registry' ? 'registry' : 'layout',
      digest: base.descriptor.digest,
      ...(baseTag !== undefined && baseTag !== null && { tag: baseTag }),
      location: base.location,
      dropped: made.dropped.map(({ path, type }) => ({ path, type })),
    },
    measurement: {
      digest: attached.measurement.manifest.digest,
      summary: summarize(made.entries),
    },
    sbom: {
      digest: attached.sbom.manifest.digest,
      packages: attached.sbom.packages,
      files: attached.sbom.files,
    },
    attestations: made.attestations.map(({ keyId, digest }) => ({ keyId, digest })),
    source: { tree: source.tree, git: source.git && gitFields(source.git) },
    moved: made.moved,
  };
}

/** The image is committed; a cache that cannot be written only slows the next build. */
function rememberQuietly(deps: BuildDeps, encoded: readonly EncodedLayer[], progress: Progress) {
  try {
    deps.encoder.remember(encoded);
  } catch (err) {
    progress({
      phase: 'commit',
      message: `warning: the build cache was not updated (${err instanceof Error ? err.message : String(err)})`,
    });
  }
}
