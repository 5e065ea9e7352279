import { isAbsolute, resolve as resolvePath } from 'node:path';
import { BaseImageError } from '../../domain/build-errors.js';
import type { Digest } from '../../domain/digest.js';
import { Annotation, MediaType, readableLayerTypes } from '../../domain/media-types.js';
import {
  imageConfigSchema,
  indexSchema,
  manifestSchema,
  type Descriptor,
  type ImageConfig,
  type ImageManifest,
  type Platform,
  MAX_CONFIG_BYTES,
  MAX_MANIFEST_BYTES,
} from '../../domain/oci.js';
import { LayerError } from '../../domain/build-errors.js';
import { OciLayout } from '../shared/layout-reader.js';
import { safeJson } from '../shared/safe-json.js';
import { formatPlatform } from '../../core/image.js';
import { choosePlatform, DEFAULT_PLATFORM, samePlatform } from '../../core/platform.js';

export interface BaseImage {
  readonly layout: OciLayout;
  readonly descriptor: Descriptor;
  readonly manifest: ImageManifest;
  readonly manifestBytes: Buffer;
  readonly config: ImageConfig;
  readonly configBytes: Buffer;
  readonly platform: Platform;
  /** The tag the baseline named, if any. */
  readonly tag?: string;
}

export interface BaseRequest {
  readonly layoutDir: string;
  readonly tag?: string;
  readonly digest?: Digest;
  /** "os/arch[/variant]" wanted; picks from an image index and checks a plain manifest. */
  readonly platform?: string;
}

/**
 * Find the base image a baseline names, in an OCI layout somebody else made. A tag is
 * resolved to a digest (that digest is what the build records); a tag and a digest
 * together must agree, which is how a baseline pins its base.
 */
export async function openBase(request: BaseRequest, contextDir: string): Promise<BaseImage> {
  const dir = isAbsolute(request.layoutDir)
    ? request.layoutDir
    : resolvePath(contextDir, request.layoutDir);
  const layout = new OciLayout(dir);
  try {
    await layout.checkLayout();
  } catch (err) {
    throw new BaseImageError(
      'E_BASE_NOT_FOUND',
      `base layout ${dir}: not an OCI image layout (no valid oci-layout file)`,
      err,
    );
  }
  const index = await layout.index();

  let top: Descriptor | undefined;
  if (request.tag !== undefined) {
    const tagged = index.manifests.filter(
      (d) => d.annotations?.[Annotation.refName] === request.tag,
    );
    const digests = new Set(tagged.map((d) => d.digest));
    if (digests.size === 0) {
      const tags = index.manifests.map((d) => d.annotations?.[Annotation.refName]).filter(Boolean);
      throw new BaseImageError(
        'E_BASE_TAG_NOT_FOUND',
        `base layout ${dir} has no tag ${JSON.stringify(request.tag)} (it has: ${tags.join(', ') || 'no tags'})`,
      );
    }
    if (digests.size > 1)
      throw new BaseImageError(
        'E_BASE_INVALID',
        `base layout ${dir} lists tag ${JSON.stringify(request.tag)} for ${digests.size} different manifests`,
      );
    top = tagged[0];
    if (request.digest !== undefined && top?.digest !== request.digest) {
      throw new BaseImageError(
        'E_BASE_DIGEST_MISMATCH',
        `base tag ${JSON.stringify(request.tag)} in ${dir} now points to ${top?.digest}, but the baseline pins ${request.digest}: the base changed; update the pin after reviewing it`,
      );
    }
  } else if (request.digest !== undefined) {
    top = index.manifests.find((d) => d.digest === request.digest);
    if (!top) {
      if (!(await layout.hasBlob(request.digest)))
        throw new BaseImageError(
          'E_BASE_NOT_FOUND',
          `base layout ${dir} has no manifest ${request.digest}`,
        );
      const bytes = await layout.readBlob(request.digest, MAX_MANIFEST_BYTES);
      const mediaType =
        (safeJson(bytes.toString('utf8')) as { mediaType?: string } | undefined)?.mediaType ??
        MediaType.imageManifest;
      top = { mediaType, digest: request.digest, size: bytes.length };
    }
  }
  if (!top) throw new BaseImageError('E_BASE_INVALID', 'a base needs a tag or a digest');

  const { descriptor, manifest, manifestBytes } = await selectManifest(
    layout,
    top,
    request.platform,
  );
  const configBytes = await layout.readBlob(
    manifest.config.digest,
    MAX_CONFIG_BYTES,
    manifest.config.size,
  );
  const parsed = imageConfigSchema.safeParse(safeJson(configBytes.toString('utf8')));
  if (!parsed.success)
    throw new BaseImageError(
      'E_BASE_INVALID',
      `base config ${manifest.config.digest} is not a valid OCI image config: ${firstIssue(parsed.error)}`,
    );
  const config = parsed.data;
  if (config.rootfs.diff_ids.length !== manifest.layers.length) {
    throw new BaseImageError(
      'E_BASE_INVALID',
      `base ${descriptor.digest} lists ${manifest.layers.length} layers but ${config.rootfs.diff_ids.length} diff_ids`,
    );
  }
  for (const layer of manifest.layers) {
    if (!readableLayerTypes.has(layer.mediaType)) {
      throw new LayerError(
        'E_LAYER_MEDIA_TYPE',
        layer.digest,
        '',
        `media type ${layer.mediaType} is not supported (tar, tar+gzip or tar+zstd)`,
      );
    }
  }
  const platform: Platform = {
    os: config.os,
    architecture: config.architecture,
    ...(config.variant !== undefined && { variant: config.variant }),
  };
  if (request.platform !== undefined && !samePlatform(formatPlatform(platform), request.platform)) {
    throw new BaseImageError(
      'E_BASE_PLATFORM',
      `base ${descriptor.digest} is for ${formatPlatform(platform)}, but the baseline asks for ${request.platform}`,
    );
  }
  return {
    layout,
    descriptor,
    manifest,
    manifestBytes,
    config,
    configBytes,
    platform,
    ...(request.tag !== undefined && { tag: request.tag }),
  };
}

async function selectManifest(
  layout: OciLayout,
  top: Descriptor,
  platform: string | undefined,
): Promise<{ descriptor: Descriptor; manifest: ImageManifest; manifestBytes: Buffer }> {
  const bytes = await layout.readBlob(top.digest, MAX_MANIFEST_BYTES, top.size);
  const doc = safeJson(bytes.toString('utf8')) as
    { mediaType?: string; manifests?: unknown } | undefined;
  const isIndex =
    top.mediaType === MediaType.imageIndex ||
    top.mediaType === MediaType.dockerManifestList ||
    doc?.manifests !== undefined;
  if (isIndex) {
    const index = indexSchema.safeParse(doc);
    if (!index.success)
      throw new BaseImageError(
        'E_BASE_INVALID',
        `base index ${top.digest} is not a valid OCI image index: ${firstIssue(index.error)}`,
      );
    const want = platform ?? DEFAULT_PLATFORM;
    const choice = choosePlatform(index.data, want);
    if ('offered' in choice)
      throw new BaseImageError(
        'E_BASE_PLATFORM',
        `base index ${top.digest} has no image for ${want} (it has: ${choice.offered || 'nothing'})`,
      );
    return selectManifest(layout, choice.chosen, platform);
  }
  const manifest = manifestSchema.safeParse(doc);
  if (!manifest.success)
    throw new BaseImageError(
      'E_BASE_INVALID',
      `base manifest ${top.digest} is not a valid OCI image manifest: ${firstIssue(manifest.error)}`,
    );
  return {
    descriptor: { mediaType: top.mediaType, digest: top.digest, size: bytes.length },
    manifest: manifest.data,
    manifestBytes: bytes,
  };
}

function firstIssue(err: {
  issues: readonly { path: readonly PropertyKey[]; message: string }[];
}): string {
  const i = err.issues[0];
  return i ? `${i.path.map(String).join('.') || '(document)'}: ${i.message}` : 'invalid';
}
