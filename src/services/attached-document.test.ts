import { describe, expect, it } from 'vitest';
import { documentParts } from '../core/document-parts.js';
import { digestOf, type Digest } from '../domain/digest.js';
import { Annotation, MediaType } from '../domain/media-types.js';
import type { Descriptor, ImageManifest } from '../domain/oci.js';
import { documentDigest, inParts, partMediaType, readDocument } from './attached-document.js';

/** Blobs by digest, and which were read. */
function blobs() {
  const map = new Map<Digest, Buffer>();
  const read: Digest[] = [];
  return {
    read,
    put(bytes: Buffer, mediaType: string): Descriptor {
      map.set(digestOf(bytes), bytes);
      return { mediaType, digest: digestOf(bytes), size: bytes.length };
    },
    readBlob(digest: Digest): Promise<Buffer> {
      read.push(digest);
      const b = map.get(digest);
      return b ? Promise.resolve(b) : Promise.reject(new Error(`no ${digest}`));
    },
  };
}

function attachment(layers: Descriptor[], annotations: Record<string, string> = {}): ImageManifest {
  return {
    schemaVersion: 2,
    mediaType: MediaType.imageManifest,
    artifactType: MediaType.measurement,
    config: { mediaType: MediaType.empty, digest: digestOf('{}'), size: 2 },
    layers,
    annotations,
  };
}

const doc = Buffer.from(`{"entries":[${'{"path":"/a"},'.repeat(30000)}{}]}`);

async function inGzipParts(store: ReturnType<typeof blobs>, bytes: Buffer) {
  const parts = await documentParts(bytes, { min: 64 * 1024, bits: 15, max: 256 * 1024 });
  return parts.map((p) => store.put(p, partMediaType(MediaType.measurement)));
}

describe('attached documents', () => {
  it('read whole, as images built before parts have them: the blob is the document', async () => {
    const store = blobs();
    const m = attachment([store.put(doc, MediaType.measurement)]);
    expect(documentDigest(m)).toBe(digestOf(doc));
    expect(inParts(m)).toBe(false);
    expect(await readDocument(store, m, 1 << 24)).toEqual({ digest: digestOf(doc), bytes: doc });
  });

  it('read in gzip parts, named by the digest and size the manifest gives', async () => {
    const store = blobs();
    const layers = await inGzipParts(store, doc);
    expect(layers.length).toBeGreaterThan(1);
    const m = attachment(layers, {
      [Annotation.documentDigest]: digestOf(doc),
      [Annotation.documentSize]: String(doc.length),
    });
    expect(documentDigest(m)).toBe(digestOf(doc));
    expect(inParts(m)).toBe(true);
    const read = await readDocument(store, m, 1 << 24);
    expect(read.digest).toBe(digestOf(doc));
    expect(read.bytes.equals(doc)).toBe(true);
  });

  it('refuse parts that do not make the named document, or that weigh more than it can', async () => {
    const store = blobs();
    const layers = await inGzipParts(store, doc);
    const other = digestOf('another document');
    const lying = attachment(layers, {
      [Annotation.documentDigest]: other,
      [Annotation.documentSize]: String(doc.length),
    });
    // Admission compares the name with what provenance signed; reading checks the parts.
    expect(documentDigest(lying)).toBe(other);
    await expect(readDocument(store, lying, 1 << 24)).rejects.toMatchObject({
      code: 'E_DOCUMENT_INVALID',
    });
    // Parts heavier than the size they claim to make: refused before any is read.
    store.read.length = 0;
    const small = attachment(layers, {
      [Annotation.documentDigest]: digestOf(doc),
      [Annotation.documentSize]: '100',
    });
    await expect(readDocument(store, small, 1 << 24)).rejects.toMatchObject({
      code: 'E_DOCUMENT_INVALID',
    });
    const huge = attachment(layers, {
      [Annotation.documentDigest]: digestOf(doc),
      [Annotation.documentSize]: String(2 ** 40),
    });
    await expect(readDocument(store, huge, 1 << 24)).rejects.toMatchObject({
      code: 'E_DOCUMENT_INVALID',
    });
    expect(store.read).toEqual([]);
  });

  it('have no digest when they are neither form', async () => {
    const store = blobs();
    const layers = await inGzipParts(store, doc);
    const unnamed = attachment(layers);
    const mixed = attachment([...layers, store.put(doc, MediaType.measurement)], {
      [Annotation.documentDigest]: digestOf(doc),
      [Annotation.documentSize]: String(doc.length),
    });
    for (const m of [unnamed, mixed, attachment([])]) {
      expect(documentDigest(m)).toBeNull();
      await expect(readDocument(store, m, 1 << 24)).rejects.toMatchObject({
        code: 'E_ATTACHMENT_INVALID',
      });
    }
  });
});
