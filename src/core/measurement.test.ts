import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DroppedEntry, MeasuredEntry } from '../domain/measurement.js';
import { MediaType } from '../domain/media-types.js';
import { canonicalJson } from './canonical-json.js';
import { encodeMeasurement } from './measurement.js';

const entryArb: fc.Arbitrary<MeasuredEntry> = fc.record(
  {
    path: fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }).map((s) => `/${s}`),
    type: fc.constantFrom('file' as const, 'dir' as const, 'symlink' as const),
    mode: fc.integer({ min: 0, max: 0o7777 }),
    uid: fc.nat(),
    gid: fc.nat(),
    size: fc.nat(),
    sha256: hex(64),
    target: fc.string({ unit: 'binary', maxLength: 20 }),
    hardlink: fc.string({ maxLength: 20 }),
  },
  { requiredKeys: ['path', 'type', 'mode', 'uid', 'gid', 'size'] },
);

const droppedArb: fc.Arbitrary<DroppedEntry> = fc.record({
  path: fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }).map((s) => `/dev/${s}`),
  type: fc.constantFrom('character-device' as const, 'block-device' as const),
  layer: hex(64).map((h) => `sha256:${h}`),
});

describe('encodeMeasurement', () => {
  it('writes the dropped device nodes, when there are any, as canonical JSON too', () => {
    fc.assert(
      fc.property(
        fc.array(entryArb, { maxLength: 4 }),
        fc.array(droppedArb, { minLength: 1, maxLength: 4 }),
        (entries, dropped) => {
          expect(encodeMeasurement(entries, dropped).toString('utf8')).toBe(
            canonicalJson({ mediaType: MediaType.measurement, entries, dropped }),
          );
        },
      ),
    );
    // Nothing dropped: the document is exactly what it was before device nodes were dropped.
    expect(encodeMeasurement([], []).toString('utf8')).toBe(
      canonicalJson({ mediaType: MediaType.measurement, entries: [] }),
    );
  });

  it('writes exactly the canonical JSON of the measurement', () => {
    fc.assert(
      fc.property(fc.array(entryArb, { maxLength: 8 }), (entries) => {
        expect(encodeMeasurement(entries).toString('utf8')).toBe(
          canonicalJson({ mediaType: MediaType.measurement, entries }),
        );
      }),
    );
  });
});

function hex(length: number): fc.Arbitrary<string> {
  return fc.string({
    unit: fc.constantFrom(...'0123456789abcdef'),
    minLength: length,
    maxLength: length,
  });
}
