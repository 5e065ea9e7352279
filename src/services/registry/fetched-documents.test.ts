import { describe, expect, it } from 'vitest';
import { digestOf } from '../../domain/digest.js';
import { MediaType } from '../../domain/media-types.js';
import { FetchedDocuments } from './fetched-documents.js';

describe('FetchedDocuments', () => {
  it('holds no more than its budget, counting a document fetched twice once', () => {
    const image = { mediaType: MediaType.imageManifest, digest: digestOf('{}'), size: 2 };
    const documents = new FetchedDocuments(image, 100);
    const sixty = Buffer.alloc(60, 1);
    documents.add(sixty);
    documents.add(sixty);
    documents.add(Buffer.alloc(40, 2));
    expect(() => documents.add(Buffer.from('one byte more than a hundred'))).toThrow(
      expect.objectContaining({ code: 'E_REGISTRY_TOO_LARGE' }) as Error,
    );
    expect(documents.has(digestOf(sixty))).toBe(true);
  });
});
