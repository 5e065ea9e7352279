import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { digestOf, type Digest } from '../../domain/digest.js';
import { isIngotError } from '../../domain/errors.js';
import { MediaType } from '../../domain/media-types.js';
import type { Descriptor, ImageManifest } from '../../domain/oci.js';
import {
  checkReferrerSubject,
  mergeReferrers,
  parseReferrersIndex,
  referrerDescriptor,
  referrersTag,
} from './referrers.js';

const subject = digestOf('image');
const EMPTY = digestOf('{}');

function attachment(artifactType: string, about: Digest = subject): ImageManifest {
  return {
    schemaVersion: 2,
    mediaType: MediaType.imageManifest,
    artifactType,
    config: { mediaType: MediaType.empty, digest: EMPTY, size: 2 },
    layers: [],
    subject: { mediaType: MediaType.imageManifest, digest: about, size: 10 },
    annotations: { 'org.opencontainers.image.created': '1970-01-01T00:00:00Z' },
  };
}

describe('referrers tag schema', () => {
  it('names the fallback tag after the subject digest', () => {
    expect(referrersTag(subject)).toBe(`sha256-${subject.slice(7)}`);
    expect(referrersTag(subject)).toMatch(/^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/);
  });

  it('describes a referrer with its artifactType and annotations', () => {
    const m = attachment(MediaType.spdx);
    expect(referrerDescriptor(m, digestOf('m'), 99)).toEqual({
      mediaType: MediaType.imageManifest,
      digest: digestOf('m'),
      size: 99,
      artifactType: MediaType.spdx,
      annotations: m.annotations,
    });
    const { artifactType: _gone, ...withoutType } = m;
    expect(referrerDescriptor(withoutType, digestOf('m'), 99).artifactType).toBe(MediaType.empty);
  });

  const descriptor: fc.Arbitrary<Descriptor> = fc.record({
    mediaType: fc.constant(MediaType.imageManifest),
    digest: fc.integer({ min: 0, max: 8 }).map((n) => digestOf(String(n))),
    size: fc.nat(1000),
    artifactType: fc.constantFrom(MediaType.spdx, MediaType.measurement, MediaType.sigstoreBundle),
  });

  it('merge: every digest once, the latest descriptor wins, and merging again changes nothing', () => {
    fc.assert(
      fc.property(
        fc.array(descriptor, { maxLength: 10 }),
        fc.array(descriptor, { maxLength: 10 }),
        (first, second) => {
          const a = mergeReferrers(null, first);
          const b = mergeReferrers(a.index, second);
          const digests = b.index.manifests.map((m) => m.digest);
          expect(new Set(digests).size).toBe(digests.length);
          expect(new Set(digests)).toEqual(new Set([...first, ...second].map((d) => d.digest)));
          for (const d of second) {
            const last = second.filter((x) => x.digest === d.digest).at(-1);
            expect(b.index.manifests.find((m) => m.digest === d.digest)).toEqual(last);
          }
          expect(mergeReferrers(b.index, second.length > 0 ? [second.at(-1)!] : []).changed).toBe(
            false,
          );
          expect(b.index.mediaType).toBe(MediaType.imageIndex);
        },
      ),
    );
  });

  it('reads only image indexes as referrers lists', () => {
    const index = mergeReferrers(null, [
      referrerDescriptor(attachment(MediaType.spdx), digestOf('m'), 5),
    ]).index;
    expect(parseReferrersIndex(Buffer.from(JSON.stringify(index)))).toEqual(index);
    expect(parseReferrersIndex(Buffer.from('404 page not found'))).toBeNull();
    // Read back from a registry (keys reordered by the schema), merging the same again is no change.
    const again = parseReferrersIndex(Buffer.from(JSON.stringify(index)))!;
    expect(mergeReferrers(again, index.manifests).changed).toBe(false);
    expect(
      parseReferrersIndex(Buffer.from(JSON.stringify({ errors: [{ code: 'NAME_UNKNOWN' }] }))),
    ).toBeNull();
    expect(
      parseReferrersIndex(
        Buffer.from(JSON.stringify({ ...index, mediaType: MediaType.imageManifest })),
      ),
    ).toBeNull();
  });

  it('refuses a referrer that names another subject', () => {
    expect(() =>
      checkReferrerSubject(attachment(MediaType.spdx), digestOf('m'), subject),
    ).not.toThrow();
    for (const m of [
      attachment(MediaType.spdx, digestOf('other image')),
      { ...attachment(MediaType.spdx), subject: undefined },
    ]) {
      let code = 'none';
      try {
        checkReferrerSubject(m, digestOf('m'), subject);
      } catch (err) {
        if (isIngotError(err)) code = err.code;
      }
      expect(code).toBe('E_REGISTRY_REFERRER_SUBJECT');
    }
  });
});
