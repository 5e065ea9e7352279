import { canonicalJsonBytes } from '../../core/canonical-json.js';
import { buildArtifactManifest, EMPTY_CONFIG_BYTES } from '../../core/image.js';
import { documentParts } from '../../core/document-parts.js';
import { encodeMeasurement } from '../../core/measurement.js';
import type { TreeEntry } from '../../core/rootfs-tree.js';
import { detectPackages } from '../../core/sbom/detect.js';
import type { DetectedPackage } from '../../core/sbom/packages.js';
import { encodeSpdx } from '../../core/sbom/spdx.js';
import { digestOf, type Digest } from '../../domain/digest.js';
import type { DroppedEntry, FileExtra, MeasuredEntry } from '../../domain/measurement.js';
import { Annotation, MediaType } from '../../domain/media-types.js';
import type { Descriptor } from '../../domain/oci.js';
import type { StoreTransaction } from '../../ports/store.js';
import { partMediaType } from '../attached-document.js';

/** A manifest in the index that describes another (annotated with its `subject`). */
export type Attachment = Descriptor & { readonly artifactType: string };

/** Stage an artifact manifest about `image` (OCI referrers) with these layers. */
export type Attach = (
  artifactType: string,
  layers: readonly Descriptor[],
  annotations?: Readonly<Record<string, string>>,
) => Promise<Attachment>;

export function attacher(tx: StoreTransaction, image: Descriptor, created: string): Attach {
  return async (artifactType, layers, annotations = {}) => {
    const bytes = canonicalJsonBytes(
      buildArtifactManifest(artifactType, layers, image, {
        ...annotations,
        [Annotation.created]: created,
      }),
    );
    const desc = await tx.putBlob(bytes, MediaType.imageManifest);
    return { ...desc, artifactType, annotations: { [Annotation.subject]: image.digest } };
  };
}

/**
 * A document (the measurement, the SBOM) staged in gzip parts cut by content, and attached:
 * a one-file change gives one or two new parts, the rest are blobs every store and registry
 * already has (core/document-parts.ts). Named by the digest of its own bytes.
 */
async function attachDocument(
  tx: StoreTransaction,
  attach: Attach,
  artifactType: string,
  bytes: Buffer,
): Promise<{ readonly digest: Digest; readonly manifest: Attachment }> {
  const layers: Descriptor[] = [];
  for (const part of await documentParts(bytes))
    layers.push(await tx.putBlob(part, partMediaType(artifactType)));
  const digest = digestOf(bytes);
  const manifest = await attach(artifactType, layers, {
    [Annotation.documentDigest]: digest,
    [Annotation.documentSize]: String(bytes.length),
  });
  return { digest, manifest };
}

export interface SbomFile {
  readonly path: string;
  readonly sha256: string;
  readonly sha1: string;
}

/** What the SBOM lists of a flattened rootfs: every file with its digests, and packages. */
export function sbomContents(tree: readonly TreeEntry<FileExtra>[]): {
  files: SbomFile[];
  packages: DetectedPackage[];
} {
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
  return { files, packages };
}

export interface WrittenAttachments {
  /** `digest`: the document's own (what provenance signs); `manifest`: its attachment. */
  readonly measurement: { readonly digest: Digest; readonly manifest: Attachment };
  readonly sbom: {
    readonly digest: Digest;
    readonly manifest: Attachment;
    readonly files: number;
    readonly packages: number;
  };
}

/** The measurement of the flattened rootfs and its SPDX SBOM, each attached to the image. */
export async function writeAttachments(
  tx: StoreTransaction,
  attach: Attach,
  entries: readonly MeasuredEntry[],
  tree: readonly TreeEntry<FileExtra>[],
  sbom: { name: string; version: string; image: Digest; created: string; tool: string },
  dropped: readonly DroppedEntry[] = [],
): Promise<WrittenAttachments> {
  await tx.putBlob(EMPTY_CONFIG_BYTES, MediaType.empty);
  const measurement = await attachDocument(
    tx,
    attach,
    MediaType.measurement,
    encodeMeasurement(entries, dropped),
  );
  const { files, packages } = sbomContents(tree);
  const sbomBytes = encodeSpdx({
    name: sbom.name,
    version: sbom.version,
    imageDigest: sbom.image,
    created: sbom.created,
    tool: sbom.tool,
    files,
    packages,
  });
  const spdx = await attachDocument(tx, attach, MediaType.spdx, sbomBytes);
  return {
    measurement,
    sbom: { ...spdx, files: files.length, packages: packages.length },
  };
}
