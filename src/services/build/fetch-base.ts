import { join } from 'node:path';
import { choosePlatform, DEFAULT_PLATFORM } from '../../core/platform.js';
import { formatReference } from '../../core/registry/reference.js';
import type { BaseRef } from '../../domain/baseline.js';
import { BaseImageError, LayerError } from '../../domain/build-errors.js';
import { digestHex, type Digest } from '../../domain/digest.js';
import { MediaType, readableLayerTypes } from '../../domain/media-types.js';
import {
  indexSchema,
  manifestSchema,
  MAX_CONFIG_BYTES,
  MAX_MANIFEST_BYTES,
  type Descriptor,
  type ImageIndex,
  type ImageManifest,
} from '../../domain/oci.js';
import type { BlobLocations, Registry } from '../../ports/registry.js';
import type { Store, StoreTransaction } from '../../ports/store.js';
import type { Progress } from './types.js';

export type RegistryBase = Extract<BaseRef, { kind: 'registry' }>;

/**
 * A layer bigger than what any layer may decompress to (the layer reader's 16 GiB) is
 * refused before a byte of it is fetched: the manifest is the registry's word until read.
 */
const MAX_BASE_LAYER_BYTES = 16 * 1024 ** 3;

export interface FetchBaseDeps {
  /** An OCI layout that keeps fetched bases (not the store: a base is nobody's artifact). */
  readonly cache: Store;
  readonly registry: Registry;
  readonly locations: BlobLocations;
  readonly now: () => Date;
}

/**
 * Bring a registry base into the cache by its pinned digest, so that the build reads it as
 * it reads a layout base (adapters/base-image: every blob verified again, layers measured).
 *
 * Integrity comes from the pin alone, not from signatures (a Debian image is not signed for
 * us): the manifest (or index) must hash to the pinned digest, the platform's manifest to
 * the digest the index names, and config and layers to the digests that manifest names,
 * each hashed while it streams. A tag, when the baseline gives one, is asked first and must
 * still name the pin: a moved tag fails the build as it does with layouts
 * (E_BASE_DIGEST_MISMATCH), before anything is fetched or written.
 *
 * Blobs the cache has are not fetched again; the rest are staged and committed at once,
 * so a refused base leaves the cache as it was.
 */
export async function fetchRegistryBase(
  deps: FetchBaseDeps,
  base: RegistryBase,
  platform: string | undefined,
  progress: Progress,
): Promise<void> {
  const { cache, registry } = deps;
  const repo = base.image.repository;
  const shown = formatReference(base.image);
  if (base.image.tag !== null) await checkTag(registry, base, shown);

  const tx = await cache.begin();
  try {
    const top = await manifestBytes(deps, tx, repo, base.digest, null);
    let manifest = parseDocument(top.bytes, base.digest);
    if ('manifests' in manifest) {
      const want = platform ?? DEFAULT_PLATFORM;
      const choice = choosePlatform(manifest, want);
      if ('offered' in choice)
        throw new BaseImageError(
          'E_BASE_PLATFORM',
          `base ${shown}@${base.digest} is an index with no image for ${want} (it has: ${choice.offered || 'nothing'}); set platform: in ingot.yaml to choose another`,
        );
      const chosen = await manifestBytes(deps, tx, repo, choice.chosen.digest, choice.chosen.size);
      manifest = parseDocument(chosen.bytes, choice.chosen.digest);
      // One level: an index of indexes is not what any registry serves for an image.
      if ('manifests' in manifest)
        throw new BaseImageError(
          'E_BASE_INVALID',
          `base ${shown}@${base.digest}: the index entry for ${want} is itself an index`,
        );
    }
    checkBlobs(manifest, shown);
    // Once each: a manifest may list one (empty) layer twice, and a staged file is written once.
    const blobs = new Map([manifest.config, ...manifest.layers].map((b) => [b.digest, b]));
    const missing: Descriptor[] = [];
    for (const blob of blobs.values()) if (!(await cache.hasBlob(blob.digest))) missing.push(blob);
    let done = 0;
    for (const blob of missing) {
      done++;
      progress({
        phase: 'plan',
        message: `fetching base ${shown}: blob ${done}/${missing.length} (${blob.digest.slice(0, 19)}…, ${blob.size} bytes)`,
      });
      const path = join(tx.stagingDir, digestHex(blob.digest));
      await registry.fetchBlob(repo, blob, path);
      tx.adoptFile(path, blob.digest, blob.size);
    }
    await tx.commit({
      manifests: [{ descriptor: top.descriptor, tags: [] }],
      time: deps.now().toISOString(),
    });
    if (missing.length > 0) remember(deps, repo, manifest);
  } catch (err) {
    await tx.abort();
    throw err;
  }
}

/** A later push to this registry mounts these layers instead of sending them again; a hint only. */
function remember(deps: FetchBaseDeps, repo: string, manifest: ImageManifest): void {
  try {
    deps.locations.record(
      deps.registry.authority,
      repo,
      manifest.layers.map((l) => l.digest),
    );
  } catch {
    // A lost hint costs one upload at the next push, never correctness.
  }
}

/**
 * The registry's answer for the tag, against the pin. The tag still names the pin when it
 * points at it, or at an index that lists it (a pin on one platform's manifest of a
 * multi-platform tag, as `docker pull` shows them). The registry could lie here; that would
 * only let a moved tag pass unnoticed, never change what is built: the content is fetched
 * by the pinned digest below.
 */
async function checkTag(registry: Registry, base: RegistryBase, shown: string): Promise<void> {
  const repo = base.image.repository;
  const now = await registry.resolveTag(repo, base.image.tag ?? '');
  if (now === null)
    throw new BaseImageError(
      'E_BASE_TAG_NOT_FOUND',
      `base ${shown}: the registry has no such tag (the baseline pins ${base.digest})`,
    );
  if (now === base.digest) return;
  // By digest: getManifest refuses bytes that do not hash to `now`.
  const doc = json((await registry.getManifest(repo, now)).bytes) as
    { manifests?: unknown } | undefined;
  const listed =
    Array.isArray(doc?.manifests) &&
    doc.manifests.some((m) => (m as { digest?: unknown } | null)?.digest === base.digest);
  if (!listed)
    throw new BaseImageError(
      'E_BASE_DIGEST_MISMATCH',
      `base tag ${shown} now points to ${now}, but the baseline pins ${base.digest}: the base changed; update the pin after reviewing it`,
    );
}

/** A manifest or index: from the cache (verified on read) or the registry (verified by digest). */
async function manifestBytes(
  deps: FetchBaseDeps,
  tx: StoreTransaction,
  repo: string,
  digest: Digest,
  declaredSize: number | null,
): Promise<{ descriptor: Descriptor; bytes: Buffer }> {
  if (declaredSize !== null && declaredSize > MAX_MANIFEST_BYTES)
    throw new BaseImageError(
      'E_BASE_INVALID',
      `base manifest ${digest} declares ${declaredSize} bytes (more than ${MAX_MANIFEST_BYTES})`,
    );
  let bytes: Buffer;
  if (await deps.cache.hasBlob(digest))
    bytes = await deps.cache.readBlob(digest, MAX_MANIFEST_BYTES, declaredSize ?? undefined);
  else {
    // getManifest hashes what it read and refuses it unless it is `digest`.
    bytes = (await deps.registry.getManifest(repo, digest)).bytes;
    await tx.putBlob(bytes, MediaType.imageManifest);
  }
  return { descriptor: { mediaType: mediaTypeOf(bytes), digest, size: bytes.length }, bytes };
}

const INDEX_TYPES: ReadonlySet<string> = new Set([
  MediaType.imageIndex,
  MediaType.dockerManifestList,
]);

/** An image manifest or an index (a multi-platform image), by its shape as the layout reader tells them. */
function parseDocument(bytes: Buffer, digest: Digest): ImageManifest | ImageIndex {
  const doc = json(bytes) as { mediaType?: unknown; manifests?: unknown } | undefined;
  const isIndex =
    doc?.manifests !== undefined ||
    (typeof doc?.mediaType === 'string' && INDEX_TYPES.has(doc.mediaType));
  const what = isIndex ? 'index' : 'manifest';
  const parsed = (isIndex ? indexSchema : manifestSchema).safeParse(doc);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new BaseImageError(
      'E_BASE_INVALID',
      `base ${what} ${digest} is not a valid OCI image ${what}${issue ? ` (${issue.path.join('.') || 'document'}: ${issue.message})` : ''}`,
    );
  }
  return parsed.data;
}

/** What can be refused from the manifest alone, before any layer byte is fetched. */
function checkBlobs(manifest: ImageManifest, shown: string): void {
  if (manifest.config.size > MAX_CONFIG_BYTES)
    throw new BaseImageError(
      'E_BASE_INVALID',
      `base ${shown}: config ${manifest.config.digest} declares ${manifest.config.size} bytes (more than ${MAX_CONFIG_BYTES})`,
    );
  for (const layer of manifest.layers) {
    if (!readableLayerTypes.has(layer.mediaType))
      throw new LayerError(
        'E_LAYER_MEDIA_TYPE',
        layer.digest,
        '',
        `media type ${layer.mediaType} is not supported (tar, tar+gzip or tar+zstd)`,
      );
    if (layer.size > MAX_BASE_LAYER_BYTES)
      throw new LayerError(
        'E_LAYER_BOMB',
        layer.digest,
        '',
        `declares ${layer.size} bytes, more than any layer may hold (${MAX_BASE_LAYER_BYTES})`,
      );
  }
}

/** As index.json of the cache lists it; an index that does not say what it is, is one still. */
function mediaTypeOf(bytes: Buffer): string {
  const doc = json(bytes) as { mediaType?: unknown; manifests?: unknown } | undefined;
  if (typeof doc?.mediaType === 'string') return doc.mediaType;
  return doc?.manifests !== undefined ? MediaType.imageIndex : MediaType.imageManifest;
}

function json(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}
