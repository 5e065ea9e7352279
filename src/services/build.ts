import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { applyLayer } from '../core/apply-layer.js';
import { parseBaseline, MAX_SPEC_BYTES } from '../core/baseline/parse.js';
import { encodeBundle } from '../core/attest/bundle.js';
import { pae } from '../core/attest/dsse.js';
import { buildProvenance, type GitSource } from '../core/attest/provenance.js';
import { sourceTreeDigest } from '../core/attest/source-tree.js';
import { canonicalJsonBytes } from '../core/canonical-json.js';
import {
  buildArtifactManifest,
  buildImageConfig,
  buildImageManifest,
  EMPTY_CONFIG_BYTES,
  epochToRfc3339,
  formatPlatform,
  parsePlatform,
} from '../core/image.js';
import {
  measuredFromHeader,
  planLayer,
  planMountPoints,
  sourceFilesOf,
  type PlannedEntry,
} from '../core/layer-plan.js';
import { encodeMeasurement } from '../core/measurement.js';
import { RootfsTree } from '../core/rootfs-tree.js';
import { changedBetweenWalks } from '../core/source-identity.js';
import { STANDARD_MOUNT_POINTS } from '../core/runtime/oci-spec.js';
import { detectPackages } from '../core/sbom/detect.js';
import { encodeSpdx } from '../core/sbom/spdx.js';
import { DEFAULT_BUILDER_ID, InToto, type KeyId } from '../domain/attestation.js';
import type { Baseline } from '../domain/baseline.js';
import { LayerError, SourceError } from '../domain/build-errors.js';
import { digestOf, type Digest } from '../domain/digest.js';
import { IngotError } from '../domain/errors.js';
import {
  summarize,
  type FileExtra,
  type MeasuredEntry,
  type MeasurementSummary,
} from '../domain/measurement.js';
import { Annotation, MediaType, type LayerCompression } from '../domain/media-types.js';
import type { Descriptor, Platform } from '../domain/oci.js';
import type { SourceListing } from '../domain/source.js';
import type { BaseImageSource, OpenedBase } from '../ports/base-image.js';
import type { EncodedLayer, EncodedPart, LayerEncoder } from '../ports/layer-encoder.js';
import type { Signer } from '../ports/signer.js';
import type { Store, TagEvent } from '../ports/store.js';
import { readSpecFile } from '../adapters/shared/spec-file.js';

export interface BuildDeps {
  readonly store: Store;
  readonly encoder: LayerEncoder;
  readonly bases: BaseImageSource;
  readonly walk: (contextDir: string, spec: Baseline['layers'][number]) => SourceListing;
  readonly now: () => Date;
  /** "ingot-<version>", for the SBOM's creator. */
  readonly tool: string;
  /** Ingot's version, recorded as the builder's version in provenance. */
  readonly version: string;
  /** The signer of a key file (`--key`). */
  readonly loadSigner: (path: string) => Signer;
  /** The git work tree holding a folder, or null. */
  /** The git work tree holding a folder (and how many of the files read git ignores), or null. */
  readonly describeSource: (
    dir: string,
    inputs?: readonly string[],
  ) => (GitSource & { readonly root: string }) | null;
  /** A fresh, unique id for each build (the provenance's invocation id). */
  readonly invocationId: () => string;
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
    readonly digest: Digest;
    readonly tag?: string;
    readonly location: string;
  } | null;
  readonly measurement: { readonly digest: Digest; readonly summary: MeasurementSummary };
  readonly sbom: { readonly digest: Digest; readonly packages: number; readonly files: number };
  /** One signed provenance bundle per signing key; empty when the build was not signed. */
  readonly attestations: readonly { readonly keyId: KeyId; readonly digest: Digest }[];
  readonly source: { readonly tree: Digest; readonly git: GitSource | null };
  readonly moved: readonly TagEvent[];
}

/** Layers an image may have: overlayfs-based runtimes refuse deeper stacks (~128). */
const MAX_IMAGE_LAYERS = 120;

/** Locate and parse the baseline, as `ingot build` and later commands take it. */
export function loadBaseline(path: string): {
  baseline: Baseline;
  file: string;
  contextDir: string;
  /** SHA-256 of the file's bytes, as the provenance records it. */
  digest: Digest;
} {
  const abs = resolve(path);
  if (!existsSync(abs)) throw new IngotError('E_SPEC_NOT_FOUND', `${path}: no such file or folder`);
  const file = statSync(abs).isDirectory() ? join(abs, 'ingot.yaml') : abs;
  if (!existsSync(file))
    throw new IngotError(
      'E_SPEC_NOT_FOUND',
      `${relative(process.cwd(), file) || file}: not found (a baseline folder holds an ingot.yaml)`,
    );
  const shown = relative(process.cwd(), file) || basename(file);
  const bytes = readSpecFile(file, shown, MAX_SPEC_BYTES, {
    notFound: 'E_SPEC_NOT_FOUND',
    tooLarge: 'E_SPEC_TOO_LARGE',
  });
  return {
    baseline: parseBaseline(bytes.toString('utf8'), shown),
    file,
    contextDir: dirname(file),
    digest: digestOf(bytes),
  };
}

/**
 * `ingot build`: baseline → image, measurement and SBOM, committed to the store in one
 * transaction. Everything that can be refused (spec, sources, base) is refused before
 * any content is encoded, and a failure at any point leaves the store as it was.
 */
export async function build(deps: BuildDeps, request: BuildRequest): Promise<BuildResult> {
  const progress = request.onProgress ?? (() => undefined);
  const startedOn = deps.now().toISOString();
  const { baseline, contextDir, file, digest: baselineDigest } = loadBaseline(request.path);
  // Keys are checked before any work: a build meant to be signed must not end unsigned.
  const signers = [
    ...new Map((request.signingKeys ?? []).map(deps.loadSigner).map((s) => [s.keyId, s])).values(),
  ];
  const tag = request.tag ?? `${baseline.name}:${baseline.version}`;
  const created = epochToRfc3339(request.sourceDateEpoch);

  let base: OpenedBase | null = null;
  if (baseline.from.kind === 'layout') {
    progress({
      phase: 'plan',
      message: `resolving base ${baseline.from.layout}${baseline.from.tag ? `:${baseline.from.tag}` : ''}`,
    });
    base = await deps.bases.open(
      {
        layoutDir: baseline.from.layout,
        ...(baseline.from.tag !== undefined && { tag: baseline.from.tag }),
        ...(baseline.from.digest !== undefined && { digest: baseline.from.digest }),
        ...(baseline.platform !== undefined && { platform: baseline.platform }),
      },
      contextDir,
    );
  }
  const platform: Platform =
    baseline.platform !== undefined
      ? parsePlatform(baseline.platform)
      : (base?.platform ?? { os: 'linux', architecture: 'amd64' });

  if (baseline.layers.length > 0) deps.encoder.warmUp();
  progress({ phase: 'plan', message: `reading ${baseline.layers.length} layer source(s)` });
  const listings = baseline.layers.map((spec) => deps.walk(contextDir, spec));
  const changed = changedBetweenWalks(listings);
  if (changed)
    throw new SourceError(
      'E_SOURCE_CHANGED',
      changed.abs,
      'changed between two looks while the build listed its sources (it is listed more than once: by two layers, symlinks or hard links); run the build again once the sources are settled',
    );
  // Reading starts now, on the encoder's threads, while this one plans.
  const layerProgress =
    (layer: number, layers: number, source: string) =>
    (done: number, total: number, step: 'hash' | 'encode') =>
      progress({ phase: 'layer', layer, layers, source, step, done, total });
  baseline.layers.forEach((spec, i) => {
    const report = layerProgress(i + 1, baseline.layers.length, spec.source);
    deps.encoder.hashAhead({
      files: sourceFilesOf(spec, listings[i]!),
      compression: request.compression,
      ...(request.level !== undefined && { level: request.level }),
      onProgress: (done, total) => report(done, total, 'hash'),
    });
  });

  const tx = await deps.store.begin();
  const encoded: EncodedLayer[] = [];
  try {
    // Base layers: read (verified), measured, and copied into the store if it lacks them.
    const shape = new RootfsTree<FileExtra>();
    const layers: BuiltLayer[] = [];
    const layerOf = new Map<EncodedPart, number>();
    const baseLayerCount = base?.manifest.layers.length ?? 0;
    for (let i = 0; base && i < baseLayerCount; i++) {
      const descriptor = base.manifest.layers[i]!;
      const copyTo = (await deps.store.hasBlob(descriptor.digest))
        ? null
        : join(tx.stagingDir, `base-${i}`);
      const { changes, uncompressedBytes } = await base.readLayer(i, {
        copyTo,
        onBytes: (done) =>
          progress({
            phase: 'base',
            layer: i + 1,
            layers: baseLayerCount,
            done,
            total: descriptor.size,
          }),
      });
      if (copyTo) tx.adoptFile(copyTo, descriptor.digest, descriptor.size);
      const problem = applyLayer(shape, changes);
      if (problem)
        throw new LayerError(
          'E_LAYER_THROUGH_SYMLINK',
          descriptor.digest,
          problem.entry,
          `would be written through ${problem.path}, which is ${problem.problem === 'parent-is-symlink' ? 'a symlink' : 'a file'}`,
        );
      const diffId = base.config.rootfs.diff_ids[i]!;
      layers.push({
        descriptor: {
          mediaType: descriptor.mediaType,
          digest: descriptor.digest,
          size: descriptor.size,
        },
        diffId,
        origin: 'base',
        reusedBytes: 0,
        rawBytes: uncompressedBytes,
      });
    }

    // Our layers: planned against what lies below, in order, before any content is read.
    // `shape` becomes the flattened rootfs: each planned entry is settled with its digests
    // once its layer is read.
    const plans: PlannedEntry[][] = [];
    const plannedEntries: MeasuredEntry[][] = [];
    // Every layer is applied: the mount points are planned against all of them.
    const mountPaths = [
      ...STANDARD_MOUNT_POINTS,
      ...baseline.runtime.tmpfs.map((m) => m.path),
      ...baseline.runtime.volumes.map((m) => m.path),
    ];
    baseline.layers.forEach((spec, i) => {
      const plan = planLayer(spec, listings[i]!, shape, request.sourceDateEpoch);
      plans.push(plan);
      plannedEntries.push(applyPlanned(shape, plan));
    });

    const origins = baseline.layers.map((l) => `${l.source} → ${l.destination}`);
    const sources = baseline.layers.map((l) => l.source);
    const mounts = planMountPoints(
      mountPaths,
      shape,
      request.sourceDateEpoch,
      new Set(baseline.runtime.tmpfs.map((m) => m.path)),
    );
    if (mounts.length > 0) {
      plans.push(mounts);
      plannedEntries.push(applyPlanned(shape, mounts));
      origins.push('mount points of the runtime contract');
      sources.push('(mount points)');
    }

    // Runtimes stack at most about 128 layers: the base's come first, the rest is shared.
    const maxParts = Math.max(
      1,
      Math.floor((MAX_IMAGE_LAYERS - baseLayerCount - plans.length) / plans.length) + 1,
    );
    for (const [i, plan] of plans.entries()) {
      const source = sources[i]!;
      const layer = await deps.encoder.encode({
        entries: plan,
        maxParts,
        compression: request.compression,
        ...(request.level !== undefined && { level: request.level }),
        stagingDir: tx.stagingDir,
        onProgress: layerProgress(i + 1, plans.length, source),
      });
      encoded.push(layer);
      for (const [k, part] of layer.parts.entries()) {
        const n = layer.parts.length;
        layerOf.set(part, layers.length);
        layers.push({
          descriptor: part.descriptor,
          diffId: part.diffId,
          origin: n > 1 ? `${origins[i]!} (part ${k + 1}/${n})` : origins[i]!,
          reusedBytes: part.reusedBytes,
          rawBytes: part.rawBytes,
        });
      }
      plan.forEach((p, k) => {
        const digests = layer.files[k];
        if (!digests) return; // folders, symlinks: planned as they are
        const entry = measuredFromHeader(p.header, digests.sha256);
        const content = layer.captured.get(entry.path);
        const extra = content ? { sha1: digests.sha1, content } : { sha1: digests.sha1 };
        shape.settle(plannedEntries[i]![k]!, entry, extra);
      });
    }

    progress({ phase: 'commit', message: 'writing config, manifest, measurement and SBOM' });
    const tree = shape.entries();
    const entries: MeasuredEntry[] = tree.map((t) => t.entry);

    const config = buildImageConfig({
      baseline,
      base: base?.config ?? null,
      platform,
      created,
      diffIds: layers.map((l) => l.diffId),
      layerNotes: layers.slice(baseLayerCount).map((l) => `ingot: ${l.origin}`),
    });
    const configDesc = await tx.putBlob(canonicalJsonBytes(config), MediaType.imageConfig);
    const annotations: Record<string, string> = {
      [Annotation.created]: created,
      [Annotation.title]: baseline.name,
      [Annotation.version]: baseline.version,
      ...(base && { [Annotation.baseDigest]: base.descriptor.digest }),
      ...(base &&
        baseline.from.kind === 'layout' &&
        baseline.from.tag !== undefined && { [Annotation.baseName]: baseline.from.tag }),
    };
    const manifestBytes = canonicalJsonBytes(
      buildImageManifest(
        configDesc,
        layers.map((l) => l.descriptor),
        annotations,
      ),
    );
    const image = await tx.putBlob(manifestBytes, MediaType.imageManifest);

    const measurementBlob = await tx.putBlob(encodeMeasurement(entries), MediaType.measurement);
    await tx.putBlob(EMPTY_CONFIG_BYTES, MediaType.empty);
    const attach = async (artifactType: string, blob: Descriptor) => {
      const bytes = canonicalJsonBytes(
        buildArtifactManifest(artifactType, blob, image, { [Annotation.created]: created }),
      );
      const desc = await tx.putBlob(bytes, MediaType.imageManifest);
      return { ...desc, artifactType, annotations: { [Annotation.subject]: image.digest } };
    };
    const measurementManifest = await attach(MediaType.measurement, measurementBlob);

    const captured = new Map<string, Uint8Array>();
    for (const t of tree) if (t.extra?.content) captured.set(t.entry.path, t.extra.content);
    const packages = detectPackages(captured);
    const files = tree
      .filter((t) => t.entry.type === 'file')
      .map((t) => {
        // Every file was settled with its digests (or came so from the base): a gap here is
        // a bug, never something to write into an SBOM.
        if (t.entry.sha256 === undefined || t.extra?.sha1 === undefined)
          throw new Error(`internal: ${t.entry.path} has no digest`);
        return { path: t.entry.path, sha256: t.entry.sha256, sha1: t.extra.sha1 };
      });
    const sbomBytes = encodeSpdx({
      name: baseline.name,
      version: baseline.version,
      imageDigest: image.digest,
      created,
      tool: deps.tool,
      files,
      packages,
    });
    const sbomBlob = await tx.putBlob(sbomBytes, MediaType.spdx);
    const sbomManifest = await attach(MediaType.spdx, sbomBlob);

    // Every part confirmed (stored ones re-hashed, new ones on disk) before anything is
    // signed: a signature is never made over layers that might not be committed.
    for (const part of encoded.flatMap((l) => l.parts)) {
      const path = await part.staged;
      if (path === null) continue;
      tx.adoptFile(path, part.descriptor.digest, part.descriptor.size);
      // A stored part whose blob proved damaged was encoded afresh: nothing was reused.
      const at = layerOf.get(part)!;
      if (part.fromStore) layers[at] = { ...layers[at]!, reusedBytes: 0 };
    }
    const sourceTree = sourceTreeDigest(
      baseline.layers.map((spec, i) => ({
        source: spec.source,
        destination: spec.destination,
        entries: plans[i]!.map((p, k) => ({
          name: p.header.name,
          type: p.header.type,
          content: encoded[i]!.files[k]?.sha256 ?? p.header.linkname ?? null,
        })),
      })),
    );
    // Described after the sources were read: a change made meanwhile shows up as dirty.
    const git =
      signers.length > 0
        ? deps.describeSource(
            contextDir,
            listings.flatMap((l) => l.items.flatMap((item) => (item.file ? [item.file.abs] : []))),
          )
        : null;
    const attestations: { keyId: KeyId; digest: Digest; descriptor: Descriptor }[] = [];
    if (signers.length > 0) {
      const statement = buildProvenance({
        subject: { name: tag, digest: image.digest },
        baseline: {
          path: git ? relative(git.root, file) : relative(process.cwd(), file) || basename(file),
          digest: baselineDigest,
        },
        tag,
        compression: request.compression,
        ...(request.level !== undefined && { level: request.level }),
        sourceDateEpoch: request.sourceDateEpoch,
        base: base && {
          digest: base.descriptor.digest,
          ...(baseline.from.kind === 'layout' &&
            baseline.from.tag !== undefined && { name: baseline.from.tag }),
        },
        sourceTree,
        git: git && {
          commit: git.commit,
          remote: git.remote,
          dirty: git.dirty,
          ignoredInputs: git.ignoredInputs,
        },
        builderId: request.builderId ?? DEFAULT_BUILDER_ID,
        builderVersion: deps.version,
        invocationId: deps.invocationId(),
        startedOn,
        finishedOn: deps.now().toISOString(),
        measurement: measurementBlob.digest,
        sbom: sbomBlob.digest,
        buildCache: !request.noCache,
      });
      const payload = canonicalJsonBytes(statement);
      for (const signer of signers) {
        const signature = await signer.sign(pae(InToto.payloadType, payload));
        const bundle = encodeBundle({
          payloadType: InToto.payloadType,
          payload,
          signature,
          keyId: signer.keyId,
        });
        const blob = await tx.putBlob(bundle, MediaType.sigstoreBundle);
        const descriptor = await attach(MediaType.sigstoreBundle, blob);
        attestations.push({ keyId: signer.keyId, digest: descriptor.digest, descriptor });
      }
    }

    const { moved } = await tx.commit({
      manifests: [
        { descriptor: image, tags: [tag] },
        { descriptor: measurementManifest, tags: [] },
        { descriptor: sbomManifest, tags: [] },
        ...attestations.map((a) => ({ descriptor: a.descriptor, tags: [] })),
      ],
      time: deps.now().toISOString(),
    });
    try {
      deps.encoder.remember(encoded);
    } catch (err) {
      // The image is committed; a cache that cannot be written only slows the next build.
      progress({
        phase: 'commit',
        message: `warning: the build cache was not updated (${err instanceof Error ? err.message : String(err)})`,
      });
    }

    return {
      name: baseline.name,
      version: baseline.version,
      digest: image.digest,
      descriptor: image,
      tag,
      platform: formatPlatform(platform),
      config: configDesc.digest,
      layers,
      base: base && {
        digest: base.descriptor.digest,
        ...(baseline.from.kind === 'layout' &&
          baseline.from.tag !== undefined && { tag: baseline.from.tag }),
        location: base.location,
      },
      measurement: { digest: measurementManifest.digest, summary: summarize(entries) },
      sbom: { digest: sbomManifest.digest, packages: packages.length, files: files.length },
      attestations: attestations.map(({ keyId, digest }) => ({ keyId, digest })),
      source: {
        tree: sourceTree,
        git: git && {
          commit: git.commit,
          remote: git.remote,
          dirty: git.dirty,
          ignoredInputs: git.ignoredInputs,
        },
      },
      moved,
    };
  } catch (err) {
    // Background fsyncs of staged layers must settle before their files go.
    await Promise.allSettled(encoded.flatMap((l) => l.parts.map((p) => p.staged)));
    await tx.abort();
    throw err;
  }
}

/**
 * Put a planned layer's entries into the tree (planLayer checked them against it) and
 * return them, so that each can be settled with its digests once read.
 */
function applyPlanned(tree: RootfsTree<FileExtra>, plan: readonly PlannedEntry[]): MeasuredEntry[] {
  const entries = plan.map((p) => measuredFromHeader(p.header));
  applyLayer(tree, { whiteouts: [], opaques: [], entries: entries.map((entry) => ({ entry })) });
  return entries;
}
