import { joinParts } from '../core/document-parts.js';
import { digestOf, isDigest, type Digest } from '../domain/digest.js';
import { IngotError } from '../domain/errors.js';
import { Annotation } from '../domain/media-types.js';
import type { Descriptor, ImageManifest } from '../domain/oci.js';
import type { StoreReader } from '../ports/store.js';

/**
 * A document attached to an image (the measurement, the SBOM) comes in one of two forms:
 *
 * - parts (what Ingot writes): the manifest's layers are gzip members of the document, in
 *   order, each of type `<artifactType>+gzip`; its annotations give the document's digest and
 *   size (Annotation.documentDigest, Annotation.documentSize). See core/document-parts.ts.
 * - whole (what it wrote before): one layer of the document's own type, whose digest is the
 *   document's.
 *
 * Either way the document is named by the digest of its own bytes, which is what provenance
 * signs, so the form a document is stored in never changes what it is.
 */

/** A measurement is at most a few hundred bytes per path; an SBOM a few hundred more. */
export const MAX_DOCUMENT_BYTES = 512 * 1024 * 1024;

/** The media type of a document's parts: its own, gzip-compressed (as OCI names tar+gzip). */
export function partMediaType(artifactType: string): string {
  return `${artifactType}+gzip`;
}

/** The digest of the document an attachment carries, without reading it; null if malformed. */
export function documentDigest(manifest: ImageManifest): Digest | null {
  return documentForm(manifest)?.digest ?? null;
}

/** Whether an attachment's document is stored in gzip parts (else: whole, or malformed). */
export function inParts(manifest: ImageManifest): boolean {
  return documentForm(manifest)?.kind === 'parts';
}

/**
 * The document an attachment carries, read, reassembled and checked against its digest.
 * `maxBytes` bounds what a store or registry can make us read and inflate.
 */
export async function readDocument(
  store: Pick<StoreReader, 'readBlob'>,
  manifest: ImageManifest,
  maxBytes: number,
): Promise<{ readonly digest: Digest; readonly bytes: Buffer }> {
  const form = documentForm(manifest);
  if (form === null)
    throw new IngotError(
      'E_ATTACHMENT_INVALID',
      `the ${manifest.artifactType ?? 'attached'} document is neither one blob nor gzip parts with its digest and size`,
    );
  if (form.kind === 'whole') {
    const [blob] = manifest.layers as [Descriptor];
    return { digest: form.digest, bytes: await store.readBlob(blob.digest, maxBytes, blob.size) };
  }
  const budget = partsBudget(manifest, form, maxBytes);
  const parts: Buffer[] = [];
  for (const layer of manifest.layers)
    parts.push(await store.readBlob(layer.digest, budget, layer.size));
  const bytes = await joinParts(parts, form.size);
  if (digestOf(bytes) !== form.digest)
    throw new IngotError(
      'E_DOCUMENT_INVALID',
      `the parts of the ${manifest.artifactType ?? 'attached'} document do not make ${form.digest}`,
    );
  return { digest: form.digest, bytes };
}

/**
 * Refuse, before any of them is read or fetched, the parts of a document that come to more
 * than `maxBytes` or weigh more than such a document compresses to (partsBudget). A document
 * in one blob, or not a document, passes: the caller bounds that one blob.
 */
export function checkPartsWeight(manifest: ImageManifest, maxBytes: number): void {
  const form = documentForm(manifest);
  if (form?.kind === 'parts') partsBudget(manifest, form, maxBytes);
}

/**
 * What the parts of a document in parts may weigh together, which is also the most any one
 * of them may: deflate makes nothing much larger than it was (a stored block costs 5 bytes in
 * 64 KiB), plus each member's header and trailer. Threat: a store or a registry that names a
 * small document and serves parts that would fill memory or the disk.
 */
function partsBudget(
  manifest: ImageManifest,
  form: { readonly size: number },
  maxBytes: number,
): number {
  const what = manifest.artifactType ?? 'attached';
  if (form.size > maxBytes)
    throw new IngotError(
      'E_DOCUMENT_INVALID',
      `the ${what} document declares ${form.size} bytes (more than ${maxBytes})`,
    );
  const budget = form.size + (form.size >> 10) + 64 * manifest.layers.length + 1024;
  if (manifest.layers.reduce((n, l) => n + l.size, 0) > budget)
    throw new IngotError(
      'E_DOCUMENT_INVALID',
      `the parts of the ${what} document are larger than ${form.size} bytes compress to`,
    );
  return budget;
}

type Form =
  | { readonly kind: 'whole'; readonly digest: Digest }
  | { readonly kind: 'parts'; readonly digest: Digest; readonly size: number };

function documentForm(manifest: ImageManifest): Form | null {
  const type = manifest.artifactType;
  const layers = manifest.layers;
  if (type === undefined || layers.length === 0) return null;
  if (layers.length === 1 && layers[0]!.mediaType === type)
    return { kind: 'whole', digest: layers[0]!.digest };
  if (!layers.every((l) => l.mediaType === partMediaType(type))) return null;
  const digest = manifest.annotations?.[Annotation.documentDigest];
  const size = manifest.annotations?.[Annotation.documentSize];
  if (digest === undefined || !isDigest(digest) || size === undefined || !/^\d{1,15}$/.test(size))
    return null;
  return { kind: 'parts', digest, size: Number(size) };
}
