import { digestOf, shortDigest, type Digest } from '../domain/digest.js';
import { IngotError } from '../domain/errors.js';
import { summarize, type MeasuredEntry, type MeasurementSummary } from '../domain/measurement.js';
import { Annotation, MediaType } from '../domain/media-types.js';
import {
  imageConfigSchema,
  manifestSchema,
  type Descriptor,
  type ImageConfig,
  type ImageManifest,
  MAX_CONFIG_BYTES,
  MAX_MANIFEST_BYTES,
} from '../domain/oci.js';
import type { RuntimeContract } from '../domain/baseline.js';
import type { Store, StoreReader } from '../ports/store.js';
import { MAX_DOCUMENT_BYTES, readDocument } from './attached-document.js';

export interface ImageSummary {
  readonly digest: Digest;
  readonly tags: readonly string[];
  readonly name?: string;
  readonly version?: string;
  readonly platform: string;
  readonly layers: number;
  /** Compressed bytes of all layers. */
  readonly size: number;
}

export interface SbomPackage {
  readonly name: string;
  readonly version: string;
  readonly purl?: string;
}

export interface ImageDetails extends ImageSummary {
  readonly descriptor: Descriptor;
  readonly manifest: ImageManifest;
  readonly config: ImageConfig;
  readonly runtime: RuntimeContract | null;
  readonly base: { readonly digest?: string; readonly name?: string };
  /**
   * `digest` names the document itself, as the signed provenance and `ingot verify` do;
   * `attachment` is the manifest that attaches it to the image (what a registry lists).
   */
  readonly measurement: {
    readonly digest: Digest;
    readonly attachment: Digest;
    readonly summary: MeasurementSummary;
  } | null;
  readonly sbom: {
    readonly digest: Digest;
    readonly attachment: Digest;
    readonly files: number;
    readonly packages: readonly SbomPackage[];
  } | null;
}

/** A manifest from the store, verified and parsed. */
export async function readManifest(
  store: Pick<StoreReader, 'readBlob'>,
  descriptor: Descriptor,
): Promise<ImageManifest> {
  const bytes = await store.readBlob(descriptor.digest, MAX_MANIFEST_BYTES, descriptor.size);
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch {
    doc = undefined; // not JSON: reported below like any other non-manifest
  }
  const parsed = manifestSchema.safeParse(doc);
  if (!parsed.success)
    throw new IngotError('E_NOT_AN_IMAGE', `${descriptor.digest} is not an OCI image manifest`);
  return parsed.data;
}

export async function readConfig(
  store: Pick<StoreReader, 'readBlob'>,
  manifest: ImageManifest,
): Promise<ImageConfig> {
  const bytes = await store.readBlob(
    manifest.config.digest,
    MAX_CONFIG_BYTES,
    manifest.config.size,
  );
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch {
    doc = undefined;
  }
  const parsed = imageConfigSchema.safeParse(doc);
  if (!parsed.success)
    throw new IngotError('E_NOT_AN_IMAGE', `${manifest.config.digest} is not an OCI image config`);
  return parsed.data;
}

/** Every image in the store, tagged or not (attachments excluded). */
export async function listImages(store: Store): Promise<ImageSummary[]> {
  const index = await store.index();
  const byDigest = new Map<Digest, { descriptor: Descriptor; tags: string[] }>();
  for (const d of index.manifests) {
    if (
      d.annotations?.[Annotation.subject] !== undefined ||
      d.mediaType !== MediaType.imageManifest
    )
      continue;
    const item = byDigest.get(d.digest) ?? { descriptor: d, tags: [] };
    const tag = d.annotations?.[Annotation.refName];
    if (tag !== undefined) item.tags.push(tag);
    byDigest.set(d.digest, item);
  }
  const out: ImageSummary[] = [];
  for (const { descriptor, tags } of byDigest.values()) {
    const manifest = await readManifest(store, descriptor);
    if (manifest.artifactType !== undefined) continue;
    const config = await readConfig(store, manifest);
    out.push(summaryOf(descriptor.digest, tags, manifest, config));
  }
  return out;
}

export async function inspectImage(store: Store, ref: string): Promise<ImageDetails> {
  const { descriptor, manifest } = await resolveImage(store, ref);
  const config = await readConfig(store, manifest);
  const index = await store.index();
  const tags = index.manifests
    .filter((d) => d.digest === descriptor.digest)
    .map((d) => d.annotations?.[Annotation.refName])
    .filter((t): t is string => t !== undefined);
  const referrers = await store.referrers(descriptor.digest);

  const attachment = async (
    artifactType: string,
  ): Promise<{ digest: Digest; attachment: Digest; body: unknown } | null> => {
    const found = await attachedDocument(store, descriptor.digest, referrers, artifactType);
    return (
      found && {
        digest: digestOf(found.bytes),
        attachment: found.digest,
        body: JSON.parse(found.bytes.toString('utf8')) as unknown,
      }
    );
  };

  const m = await attachment(MediaType.measurement);
  const s = await attachment(MediaType.spdx);
  const labels = config.config?.Labels ?? {};
  const runtimeLabel = labels[Annotation.runtime];

  return {
    ...summaryOf(descriptor.digest, tags, manifest, config),
    descriptor,
    manifest,
    config,
    runtime: runtimeLabel ? (JSON.parse(runtimeLabel) as RuntimeContract) : null,
    base: {
      ...(manifest.annotations?.[Annotation.baseDigest] !== undefined && {
        digest: manifest.annotations[Annotation.baseDigest],
      }),
      ...(manifest.annotations?.[Annotation.baseName] !== undefined && {
        name: manifest.annotations[Annotation.baseName],
      }),
    },
    measurement: m && {
      digest: m.digest,
      attachment: m.attachment,
      summary: summarize((m.body as { entries: MeasuredEntry[] }).entries),
    },
    sbom: s && { ...sbomSummary(s.digest, s.body), attachment: s.attachment },
  };
}

/**
 * The image's SBOM, the whole SPDX JSON document byte for byte as it was built and signed
 * (`ingot inspect REF --sbom`): it is stored in gzip parts, which SBOM tools do not read as
 * one document; reassembled here and checked against its digest. The first attached, as
 * `ingot inspect` summarises it.
 */
export async function readSbom(store: Store, ref: string): Promise<Buffer> {
  const { descriptor } = await resolveImage(store, ref);
  const referrers = await store.referrers(descriptor.digest);
  const found = await attachedDocument(store, descriptor.digest, referrers, MediaType.spdx);
  if (found === null)
    throw new IngotError(
      'E_SBOM_MISSING',
      `image ${shortDigest(descriptor.digest)} has no SBOM attached (images built by Ingot have one: was it pulled or copied without its attachments?)`,
    );
  return found.bytes;
}

/** An image of the store by tag, digest or prefix; an attachment is refused. */
async function resolveImage(
  store: Store,
  ref: string,
): Promise<{ descriptor: Descriptor; manifest: ImageManifest }> {
  const descriptor = await store.resolve(ref);
  const manifest = await readManifest(store, descriptor);
  if (manifest.artifactType !== undefined || manifest.config.mediaType !== MediaType.imageConfig) {
    throw new IngotError(
      'E_NOT_AN_IMAGE',
      `${ref} is an attachment (${manifest.artifactType ?? manifest.config.mediaType}), not an image`,
    );
  }
  return { descriptor, manifest };
}

/**
 * The document of the first of `referrers` of this type, whole (reassembled from its parts
 * if it is in parts) and checked against its digest; null when none is attached. `digest`
 * is the attachment manifest's, as `ingot inspect` shows it.
 */
async function attachedDocument(
  store: Store,
  image: Digest,
  referrers: readonly Descriptor[],
  artifactType: string,
): Promise<{ digest: Digest; bytes: Buffer } | null> {
  const d = referrers.find((r) => r.artifactType === artifactType);
  if (!d) return null;
  const m = await readManifest(store, d);
  if (m.subject?.digest !== image)
    throw new IngotError(
      'E_ATTACHMENT_INVALID',
      `attachment ${d.digest} does not describe ${image}`,
    );
  const { bytes } = await readDocument(store, m, MAX_DOCUMENT_BYTES);
  return { digest: d.digest, bytes };
}

/** The measurement attached to an image, verified. */
export async function readMeasurement(
  store: Store,
  image: Digest,
): Promise<readonly MeasuredEntry[]> {
  const referrers = await store.referrers(image);
  const d = referrers.find((r) => r.artifactType === MediaType.measurement);
  if (!d)
    throw new IngotError(
      'E_MEASUREMENT_MISSING',
      `image ${shortDigest(image)} has no measurement attached`,
    );
  const m = await readManifest(store, d);
  if (m.subject?.digest !== image)
    throw new IngotError(
      'E_ATTACHMENT_INVALID',
      `attachment ${d.digest} does not describe ${image}`,
    );
  const doc = JSON.parse(
    (await readDocument(store, m, MAX_DOCUMENT_BYTES)).bytes.toString('utf8'),
  ) as { entries: MeasuredEntry[] };
  return doc.entries;
}

function summaryOf(
  digest: Digest,
  tags: readonly string[],
  manifest: ImageManifest,
  config: ImageConfig,
): ImageSummary {
  const labels = config.config?.Labels ?? {};
  const name = labels[Annotation.title];
  const version = labels[Annotation.version];
  return {
    digest,
    tags: [...tags].sort(),
    ...(name !== undefined && { name }),
    ...(version !== undefined && { version }),
    platform: [config.os, config.architecture, config.variant].filter(Boolean).join('/'),
    layers: manifest.layers.length,
    size: manifest.layers.reduce((n, l) => n + l.size, 0),
  };
}

function sbomSummary(
  digest: Digest,
  body: unknown,
): { digest: Digest; files: number; packages: SbomPackage[] } {
  const doc = body as {
    files?: unknown[];
    packages?: {
      SPDXID: string;
      name: string;
      versionInfo?: string;
      externalRefs?: { referenceType: string; referenceLocator: string }[];
    }[];
  };
  const packages = (doc.packages ?? [])
    .filter((p) => p.SPDXID !== 'SPDXRef-Image')
    .map((p) => {
      const purl = p.externalRefs?.find((r) => r.referenceType === 'purl')?.referenceLocator;
      return { name: p.name, version: p.versionInfo ?? '', ...(purl !== undefined && { purl }) };
    });
  return { digest, files: doc.files?.length ?? 0, packages };
}
