/** Media types of the OCI image spec 1.1 and of Ingot's own attachments. */
export const MediaType = {
  imageIndex: 'application/vnd.oci.image.index.v1+json',
  imageManifest: 'application/vnd.oci.image.manifest.v1+json',
  imageConfig: 'application/vnd.oci.image.config.v1+json',
  layerTar: 'application/vnd.oci.image.layer.v1.tar',
  layerTarGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  layerTarZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  empty: 'application/vnd.oci.empty.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  /** Ingot's file-level measurement of the flattened rootfs (see domain/measurement.ts). */
  measurement: 'application/vnd.ingot.measurement.v1+json',
  spdx: 'application/spdx+json',
  /** A Sigstore bundle (DSSE-signed in-toto statement), as cosign attaches them. */
  sigstoreBundle: 'application/vnd.dev.sigstore.bundle.v0.3+json',
} as const;

export type LayerCompression = 'gzip' | 'zstd' | 'none';

export const layerMediaType: Record<LayerCompression, string> = {
  gzip: MediaType.layerTarGzip,
  zstd: MediaType.layerTarZstd,
  none: MediaType.layerTar,
};

/** Layer media types Ingot can read in a base image, with the compression each implies. */
export const readableLayerTypes: ReadonlyMap<string, LayerCompression> = new Map([
  [MediaType.layerTar, 'none'],
  [MediaType.layerTarGzip, 'gzip'],
  [MediaType.layerTarZstd, 'zstd'],
  [MediaType.dockerLayerGzip, 'gzip'],
]);

/** Annotation keys: the OCI pre-defined ones and Ingot's own (reverse-DNS, `dev.ingot.`). */
export const Annotation = {
  refName: 'org.opencontainers.image.ref.name',
  created: 'org.opencontainers.image.created',
  title: 'org.opencontainers.image.title',
  version: 'org.opencontainers.image.version',
  baseDigest: 'org.opencontainers.image.base.digest',
  baseName: 'org.opencontainers.image.base.name',
  /** On index.json descriptors of attachments, so referrers are found without reading them. */
  subject: 'dev.ingot.subject',
  /** The runtime contract, canonical JSON, as an image config label. */
  runtime: 'dev.ingot.runtime.v1',
  /**
   * On an attachment whose document (measurement, SBOM) is stored in gzip parts: the digest
   * and size in bytes of the whole document (services/attached-document.ts).
   */
  documentDigest: 'dev.ingot.document.digest',
  documentSize: 'dev.ingot.document.size',
} as const;
