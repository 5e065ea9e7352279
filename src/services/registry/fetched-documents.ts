import { digestOf, type Digest } from '../../domain/digest.js';
import { IngotError } from '../../domain/errors.js';
import { Annotation, MediaType } from '../../domain/media-types.js';
import type { Descriptor, ImageIndex } from '../../domain/oci.js';
import { RegistryError } from '../../domain/registry.js';
import type { StoreReader } from '../../ports/store.js';

/**
 * All that admission reads of one image, together. The fetches in flight (a few manifests and
 * bundles at a time, and the config) may pass it by their own bounds before one is refused.
 */
export const MAX_FETCHED_BYTES = 64 * 1024 * 1024;

/**
 * What a pull's admission reads, held in memory: the image's manifest and config, its
 * attachments' manifests and their signature bundles, each fetched and checked against its
 * digest. Admission runs `ingot verify`'s checks over this as over a store, so that nothing
 * of an image reaches the disk before it is admitted. A blob that was not fetched (a layer,
 * the measurement, the SBOM) reads as missing: a check that needed it fails closed.
 *
 * Threat: a registry that lists a thousand referrers, each with a large manifest and bundle,
 * to make a pull (in the server or an agent too) hold gigabytes before admission decides:
 * what is kept is bounded as a whole, beside each document's own bound.
 */
export class FetchedDocuments implements StoreReader {
  private readonly blobs = new Map<Digest, Buffer>();
  private readonly attachments: Descriptor[] = [];
  private bytes = 0;

  constructor(
    private readonly image: Descriptor,
    /** What all documents together may hold; an image of Ingot's needs well under 1 MiB. */
    private readonly maxBytes = MAX_FETCHED_BYTES,
  ) {}

  /**
   * Keep a document; its digest is computed here, so that no name can lie about its bytes.
   * E_REGISTRY_TOO_LARGE once all of them come to more than the budget.
   */
  add(bytes: Buffer): Digest {
    const digest = digestOf(bytes);
    if (this.blobs.has(digest)) return digest;
    this.bytes += bytes.length;
    if (this.bytes > this.maxBytes)
      throw new RegistryError(
        'E_REGISTRY_TOO_LARGE',
        `the image's manifest, config, referrers and signature bundles come to more than ${this.maxBytes} bytes`,
        { max: this.maxBytes },
      );
    this.blobs.set(digest, bytes);
    return digest;
  }

  /** List an attachment of the image (its manifest must have been added). */
  attach(descriptor: Descriptor): void {
    this.attachments.push({
      ...descriptor,
      annotations: { [Annotation.subject]: this.image.digest },
    });
  }

  readBlob(digest: Digest, maxBytes: number, expectedSize?: number): Promise<Buffer> {
    return new Promise((resolve) => resolve(this.blob(digest, maxBytes, expectedSize)));
  }

  has(digest: Digest): boolean {
    return this.blobs.has(digest);
  }

  hasBlob(digest: Digest): Promise<boolean> {
    return Promise.resolve(this.has(digest));
  }

  /** Checked against its digest as it was added. */
  checkBlob(digest: Digest, expectedSize: number): Promise<void> {
    return this.readBlob(digest, expectedSize, expectedSize).then(() => undefined);
  }

  index(): Promise<ImageIndex> {
    return Promise.resolve({
      schemaVersion: 2,
      mediaType: MediaType.imageIndex,
      manifests: [this.image, ...this.attachments],
    });
  }

  resolve(ref: string): Promise<Descriptor> {
    const found = [this.image, ...this.attachments].find((d) => d.digest === ref);
    if (found) return Promise.resolve(found);
    return Promise.reject(
      new IngotError('E_REF_NOT_FOUND', `${ref} is not among the documents fetched for admission`),
    );
  }

  referrers(subject: Digest): Promise<Descriptor[]> {
    return Promise.resolve(subject === this.image.digest ? [...this.attachments] : []);
  }

  private blob(digest: Digest, maxBytes: number, expectedSize?: number): Buffer {
    const bytes = this.blobs.get(digest);
    if (bytes === undefined)
      throw new IngotError(
        'E_BLOB_NOT_FOUND',
        `blob ${digest} was not fetched before admission (only manifests, the config and signature bundles are)`,
      );
    if (expectedSize !== undefined && bytes.length !== expectedSize)
      throw new IngotError(
        'E_BLOB_SIZE_MISMATCH',
        `blob ${digest} has ${bytes.length} bytes but its descriptor declares ${expectedSize}`,
      );
    if (bytes.length > maxBytes)
      throw new IngotError('E_BLOB_TOO_LARGE', `blob ${digest} is larger than ${maxBytes} bytes`);
    return bytes;
  }
}
