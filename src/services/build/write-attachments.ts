import { canonicalJsonBytes } from '../../core/canonical-json.js';
import { buildArtifactManifest, EMPTY_CONFIG_BYTES } from '../../core/image.js';
import { encodeMeasurement } from '../../core/measurement.js';
import type { TreeEntry } from '../../core/rootfs-tree.js';
import { detectPackages } from '../../core/sbom/detect.js';
import type { DetectedPackage } from '../../core/sbom/packages.js';
import { encodeSpdx } from '../../core/sbom/spdx.js';
import type { Digest } from '../../domain/digest.js';
import type { DroppedEntry, FileExtra, MeasuredEntry } from '../../domain/measurement.js';
import { Annotation, MediaType } from '../../domain/media-types.js';
import type { Descriptor } from '../../domain/oci.js';
import type { StoreTransaction } from '../../ports/store.js';

/** A manifest in the index that describes another (annotated with its `subject`). */
export type Attachment = Descriptor & { readonly artifactType: string };

/** Stage a blob's artifact manifest about `image` (OCI referrers). */
export type Attach = (artifactType: string, blob: Descriptor) => Promise<Attachment>;

export function attacher(tx: StoreTransaction, image: Descriptor, created: string): Attach {
  return async (artifactType, blob) => {
    const bytes = canonicalJsonBytes(
      buildArtifactManifest(artifactType, blob, image, { [Annotation.created]: created }),
    );
    const desc = await tx.putBlob(bytes, MediaType.imageManifest);
    return { ...desc, artifactType, annotations: { [Annotation.subject]: image.digest } };
  };
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
  readonly measurement: { readonly blob: Descriptor; readonly manifest: Attachment };
  readonly sbom: {
    readonly blob: Descriptor;
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
  const measurementBlob = await tx.putBlob(
    encodeMeasurement(entries, dropped),
    MediaType.measurement,
  );
  await tx.putBlob(EMPTY_CONFIG_BYTES, MediaType.empty);
  const measurementManifest = await attach(MediaType.measurement, measurementBlob);

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
  const sbomBlob = await tx.putBlob(sbomBytes, MediaType.spdx);
  const sbomManifest = await attach(MediaType.spdx, sbomBlob);
  return {
    measurement: { blob: measurementBlob, manifest: measurementManifest },
    sbom: {
      blob: sbomBlob,
      manifest: sbomManifest,
      files: files.length,
      packages: packages.length,
    },
  };
}
