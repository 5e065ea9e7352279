import { join } from 'node:path';
import {
  checkReferrerSubject,
  parseReferrersIndex,
  referrersTag,
} from '../../core/registry/referrers.js';
import { formatReference } from '../../core/registry/reference.js';
import { digestHex, type Digest } from '../../domain/digest.js';
import { IngotError, isIngotError } from '../../domain/errors.js';
import { Annotation } from '../../domain/media-types.js';
import {
  manifestSchema,
  MAX_CONFIG_BYTES,
  type Descriptor,
  type ImageIndex,
  type ImageManifest,
} from '../../domain/oci.js';
import { RegistryError, type RegistryReference } from '../../domain/registry.js';
import type { BlobLocations, Registry } from '../../ports/registry.js';
import type { Store, StoreTransaction } from '../../ports/store.js';
import type { VerifyReport } from '../verify.js';
import { inParallel, TRANSFERS } from './in-parallel.js';

/** An attachment's blob (a bundle, the measurement, the SBOM) is never this large. */
const MAX_ATTACHMENT_BLOB = 512 * 1024 * 1024;

export interface PullRequest {
  readonly src: RegistryReference;
  /** The local tag to give it; null for none. */
  readonly tag: string | null;
}

export interface PullDeps {
  readonly store: Store;
  readonly registry: Registry;
  /**
   * An empty store of its own on the store's filesystem: what is admitted is staged there
   * first, so that nothing of a refused image reaches the real store.
   */
  readonly scratch: () => Promise<{ readonly store: Store; dispose(): void }>;
  /** Admission, as `ingot verify` does it (signatures, subject, measurement, policy). */
  readonly verify: (store: Store, digest: Digest) => Promise<VerifyReport>;
  readonly now: () => Date;
  /** Copy a committed blob of the scratch store into the real store's staging folder. */
  readonly copyFile: (from: string, to: string) => void;
  /** Remember where the blobs came from, so that a push to another repository mounts them. */
  readonly locations: BlobLocations;
}

export interface PullReport {
  readonly ok: boolean;
  readonly digest: Digest;
  readonly source: string;
  readonly tag: string | null;
  readonly verify: VerifyReport;
  /** Layers fetched, and those the store already had (null: refused before any layer). */
  readonly layers: {
    readonly fetched: number;
    readonly fetchedBytes: number;
    readonly present: number;
  } | null;
  /**
   * When the pull began and when admission decided (ISO 8601, deps.now()): the decision
   * comes before any layer is requested. For benchmarks and logs; nothing depends on it.
   */
  readonly timings: { readonly started: string; readonly decided: string };
}

interface Fetched {
  readonly descriptor: Descriptor;
  readonly manifest: ImageManifest;
  readonly bytes: Buffer;
}

/**
 * Pull an image by tag or digest: the manifest and its referrers first, admitted by the
 * same verification as `ingot verify` before any layer is fetched; then only the layers
 * the store lacks, each hashed as it streams; all of it committed in one transaction.
 */
export async function pullImage(deps: PullDeps, request: PullRequest): Promise<PullReport> {
  const { registry, store } = deps;
  const { src } = request;
  const started = deps.now().toISOString();
  const repo = src.repository;
  const reference = src.digest ?? src.tag;
  if (reference === null)
    throw new RegistryError(
      'E_REGISTRY_REF_INVALID',
      `pull ${formatReference(src)}: name a :TAG or an @sha256: digest`,
    );

  const image = await fetchManifest(registry, repo, reference);
  const digest = image.descriptor.digest;
  const attachments = await fetchReferrers(registry, repo, digest);

  // Admission: everything but the layers, in a scratch store, verified there.
  const scratch = await deps.scratch();
  try {
    const tx = await scratch.store.begin();
    try {
      await stageDocuments(registry, repo, tx, image, attachments);
      await tx.commit({
        manifests: listing(image, attachments, []),
        time: deps.now().toISOString(),
      });
    } catch (err) {
      await tx.abort();
      throw err;
    }
    const report = await deps.verify(scratch.store, digest);
    const timings = { started, decided: deps.now().toISOString() };
    const source = formatReference({ ...src, digest });
    if (!report.ok)
      return { ok: false, digest, source, tag: null, verify: report, layers: null, timings };

    const real = await store.begin();
    try {
      const layers = { fetched: 0, fetchedBytes: 0, present: 0 };
      // A layer listed twice is fetched once.
      const wanted = [...new Map(image.manifest.layers.map((l) => [l.digest, l])).values()];
      await inParallel(wanted, TRANSFERS, async (layer) => {
        if (await store.hasBlob(layer.digest)) {
          layers.present++;
          return;
        }
        const path = join(real.stagingDir, digestHex(layer.digest));
        await registry.fetchBlob(repo, layer, path);
        real.adoptFile(path, layer.digest, layer.size);
        layers.fetched++;
        layers.fetchedBytes += layer.size;
      });
      // The documents admitted above, copied from the scratch store (verified as fetched).
      for (const blob of documentBlobs(image, attachments)) {
        if (await store.hasBlob(blob.digest)) continue;
        const path = join(real.stagingDir, digestHex(blob.digest));
        deps.copyFile(scratch.store.blobPath(blob.digest), path);
        real.adoptFile(path, blob.digest, blob.size);
      }
      // A tag that moved while we pulled names something we did not admit: refuse to name it.
      if (src.digest === null && src.tag !== null) {
        const current = await registry.resolveTag(repo, src.tag);
        if (current !== digest)
          throw new RegistryError(
            'E_REGISTRY_TAG_MOVED',
            `${formatReference({ ...src, digest: null })} moved from ${digest} to ${current ?? 'nothing'} during the pull: pull again, or by digest`,
            { from: digest, to: current },
          );
      }
      const tags = request.tag === null ? [] : [request.tag];
      await real.commit({
        manifests: listing(image, attachments, tags),
        time: deps.now().toISOString(),
      });
      deps.locations.record(registry.authority, repo, [
        ...image.manifest.layers.map((l) => l.digest),
        ...documentBlobs(image, attachments).map((b) => b.digest),
      ]);
      return { ok: true, digest, source, tag: request.tag, verify: report, layers, timings };
    } catch (err) {
      await real.abort();
      throw err;
    }
  } finally {
    scratch.dispose();
  }
}

async function fetchManifest(
  registry: Registry,
  repo: string,
  reference: string,
): Promise<Fetched> {
  const fetched = await registry.getManifest(repo, reference);
  const manifest = parseManifest(fetched.bytes, fetched.digest);
  return {
    descriptor: {
      mediaType: fetched.mediaType,
      digest: fetched.digest,
      size: fetched.bytes.length,
    },
    manifest,
    bytes: fetched.bytes,
  };
}

function parseManifest(bytes: Buffer, digest: Digest): ImageManifest {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch {
    doc = undefined;
  }
  const parsed = manifestSchema.safeParse(doc);
  if (!parsed.success)
    throw new IngotError(
      'E_NOT_AN_IMAGE',
      `${digest} is not an image manifest (an index, or not OCI at all)`,
    );
  return parsed.data;
}

/**
 * The referrers of `subject`: the registry's API, else the tag-schema index. Each is
 * fetched by digest and must name `subject`: the index is anybody's to write who may push.
 */
async function fetchReferrers(
  registry: Registry,
  repo: string,
  subject: Digest,
): Promise<Fetched[]> {
  const index: ImageIndex | null =
    (await registry.referrers(repo, subject)) ??
    (await fallbackIndex(registry, repo, referrersTag(subject)));
  const out: Fetched[] = [];
  const seen = new Set<string>();
  for (const entry of index?.manifests ?? []) {
    if (seen.has(entry.digest)) continue;
    seen.add(entry.digest);
    const fetched = await fetchManifest(registry, repo, entry.digest);
    checkReferrerSubject(fetched.manifest, entry.digest, subject);
    out.push({
      ...fetched,
      descriptor: {
        ...fetched.descriptor,
        ...(fetched.manifest.artifactType !== undefined && {
          artifactType: fetched.manifest.artifactType,
        }),
      },
    });
  }
  return out;
}

async function fallbackIndex(
  registry: Registry,
  repo: string,
  tag: string,
): Promise<ImageIndex | null> {
  try {
    return parseReferrersIndex((await registry.getManifest(repo, tag)).bytes);
  } catch (err) {
    if (isIngotError(err) && err.code === 'E_REGISTRY_NOT_FOUND') return null;
    throw err;
  }
}

/** Manifests, the image's config and the attachments' blobs: what admission reads. */
async function stageDocuments(
  registry: Registry,
  repo: string,
  tx: StoreTransaction,
  image: Fetched,
  attachments: readonly Fetched[],
): Promise<void> {
  await tx.putBlob(image.bytes, image.descriptor.mediaType);
  const fetched = new Set<string>();
  const fetch = async (blob: Descriptor, max: number) => {
    if (fetched.has(blob.digest)) return;
    fetched.add(blob.digest);
    if (blob.size > max)
      throw new RegistryError(
        'E_REGISTRY_TOO_LARGE',
        `blob ${blob.digest} declares ${blob.size} bytes (more than ${max})`,
      );
    const path = join(tx.stagingDir, digestHex(blob.digest));
    await registry.fetchBlob(repo, blob, path);
    tx.adoptFile(path, blob.digest, blob.size);
  };
  await fetch(image.manifest.config, MAX_CONFIG_BYTES);
  for (const a of attachments) {
    await tx.putBlob(a.bytes, a.descriptor.mediaType);
    for (const blob of [a.manifest.config, ...a.manifest.layers])
      await fetch(blob, MAX_ATTACHMENT_BLOB);
  }
}

function documentBlobs(image: Fetched, attachments: readonly Fetched[]): Descriptor[] {
  return [
    image.descriptor,
    image.manifest.config,
    ...attachments.flatMap((a) => [a.descriptor, a.manifest.config, ...a.manifest.layers]),
  ];
}

/** index.json entries as the store keeps them: attachments annotated with their subject. */
function listing(image: Fetched, attachments: readonly Fetched[], tags: readonly string[]) {
  return [
    { descriptor: image.descriptor, tags },
    ...attachments.map((a) => ({
      descriptor: {
        ...a.descriptor,
        annotations: { [Annotation.subject]: image.descriptor.digest },
      },
      tags: [] as string[],
    })),
  ];
}
