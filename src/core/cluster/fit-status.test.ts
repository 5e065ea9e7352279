import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseDigest } from '../../domain/digest.js';
import {
  DETECTORS,
  INSTANCE_STATES,
  INTEGRITIES,
  type ObservedInstance,
} from '../../domain/instance.js';
import { fitStatus } from './fit-status.js';
import { MAX_BYTES, decodeValue, encodeValue } from './values.js';

const artifact = parseDigest(`sha256:${'a'.repeat(64)}`);
const utf8 = new TextEncoder();
const size = (i: ObservedInstance) => utf8.encode(JSON.stringify(i)).length;

/** Text as a compromised instance could make it: any code points, up to 512 of them (bounded()). */
const text = (max: number) => fc.string({ unit: 'grapheme', maxLength: max });

const observed: fc.Arbitrary<ObservedInstance> = fc.record(
  {
    id: fc.constant('web-6b1c0a2e-12'),
    fleet: fc.constant('web'),
    artifact: fc.constant(artifact),
    state: fc.constantFrom(...INSTANCE_STATES),
    host: fc.constant('h1'),
    release: fc.constant(`sha256:${'b'.repeat(64)}`),
    integrity: fc.constantFrom(...INTEGRITIES),
    reason: text(4000),
    evidence: fc.array(
      fc.record({
        detector: fc.constantFrom(...DETECTORS),
        path: text(512),
        expected: text(512),
        actual: text(512),
        time: fc.constant('2026-12-04T10:00:00.000Z'),
      }),
      { maxLength: 40 },
    ),
    exit: fc.record({ oomKilled: fc.boolean(), at: fc.constant('2026-12-04T10:00:00.000Z') }),
  },
  { requiredKeys: ['id', 'fleet', 'artifact', 'state'] },
);

describe('fitStatus', () => {
  it('fits every status under its bound, keeping what the controller acts on', () => {
    fc.assert(
      fc.property(observed, fc.integer({ min: 2_000, max: MAX_BYTES.status }), (i, bound) => {
        const fitted = fitStatus(i, bound);
        expect(size(fitted)).toBeLessThanOrEqual(bound);
        for (const k of ['id', 'fleet', 'artifact', 'state', 'host', 'release', 'integrity'])
          expect(fitted[k as keyof ObservedInstance]).toEqual(i[k as keyof ObservedInstance]);
        if (size(i) <= bound) expect(fitted).toBe(i);
        // Findings are dropped from the end, never reordered.
        const kept = fitted.evidence ?? [];
        for (const [n, e] of kept.entries()) {
          expect(e.detector).toBe(i.evidence![n]!.detector);
          expect(i.evidence![n]!.path.startsWith(e.path.replace(/\.\.\.$/, ''))).toBe(true);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('keeps the first finding of a status of 20 findings in a three-byte script (94 KB)', () => {
    const finding = {
      detector: 'files' as const,
      path: `/${'€'.repeat(511)}`,
      expected: '€'.repeat(512),
      actual: '€'.repeat(512),
      time: '2026-12-04T10:00:00.000Z',
    };
    const tainted: ObservedInstance = {
      id: 'web-1',
      fleet: 'web',
      artifact,
      state: 'healthy',
      integrity: 'tainted',
      evidence: Array.from({ length: 20 }, () => finding),
    };
    expect(size(tainted)).toBeGreaterThan(90_000);
    expect(() => encodeValue('status', tainted)).toThrow(/over the 65536-byte bound/);
    const fitted = fitStatus(tainted);
    expect(fitted.evidence!.length).toBeGreaterThanOrEqual(1);
    expect(fitted.evidence![0]).toEqual(finding);
    expect(decodeValue('status', utf8.encode(encodeValue('status', fitted)))).toMatchObject({
      ok: true,
    });
  });
});
