import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { INGOT_BUILD_TYPE, InToto } from '../../domain/attestation.js';
import type { Digest } from '../../domain/digest.js';
import { canonicalJson } from '../canonical-json.js';
import { buildProvenance, parseStatement, type ProvenanceInput } from './provenance.js';

const digest = fc
  .uint8Array({ minLength: 32, maxLength: 32 })
  .map((b) => `sha256:${Buffer.from(b).toString('hex')}` as Digest);
const hex40 = fc
  .uint8Array({ minLength: 20, maxLength: 20 })
  .map((b) => Buffer.from(b).toString('hex'));
const word = fc.string({ minLength: 1, maxLength: 40 });

const input: fc.Arbitrary<ProvenanceInput> = fc.record({
  subject: fc.record({ name: word, digest }),
  baseline: fc.record({ path: word, digest }),
  tag: word,
  compression: fc.constantFrom('gzip', 'zstd', 'none'),
  level: fc.integer({ min: 1, max: 19 }),
  sourceDateEpoch: fc.integer({ min: 0, max: 2 ** 40 }),
  base: fc.option(fc.record({ digest, name: word }), { nil: null }),
  sourceTree: digest,
  git: fc.option(
    fc.record({
      commit: hex40,
      remote: fc.option(fc.webUrl(), { nil: null }),
      dirty: fc.boolean(),
      ignoredInputs: fc.nat(),
    }),
    { nil: null },
  ),
  builderId: fc.webUrl(),
  builderVersion: word,
  invocationId: fc.uuid(),
  startedOn: fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  finishedOn: fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  measurement: digest,
  sbom: digest,
  buildCache: fc.boolean(),
});

describe('SLSA provenance', () => {
  it('reads whatever internalParameters hold without refusing the statement', () => {
    const i = fc.sample(input, { numRuns: 1, seed: 7 })[0]!;
    for (const internal of [null, [], 'x', { buildCache: 'maybe' }, undefined]) {
      const doc = JSON.parse(canonicalJson(buildProvenance(i))) as {
        predicate: { buildDefinition: Record<string, unknown> };
      };
      doc.predicate.buildDefinition['internalParameters'] = internal;
      const parsed = parseStatement(doc);
      if ('problem' in parsed) throw new Error(parsed.problem);
      expect(parsed.provenance?.buildCache).toBeNull();
    }
  });

  it('reads back everything it records, through canonical JSON', () => {
    fc.assert(
      fc.property(input, (i) => {
        const parsed = parseStatement(JSON.parse(canonicalJson(buildProvenance(i))));
        if ('problem' in parsed) throw new Error(parsed.problem);
        expect(parsed.subjects).toEqual([i.subject.digest]);
        expect(parsed.predicateType).toBe(InToto.slsaProvenance);
        expect(parsed.provenance).toEqual({
          builderId: i.builderId,
          buildType: INGOT_BUILD_TYPE,
          invocationId: i.invocationId,
          startedOn: i.startedOn,
          finishedOn: i.finishedOn,
          baseline: { path: i.baseline.path, digest: i.baseline.digest },
          tag: i.tag,
          compression: i.compression,
          level: i.level,
          sourceDateEpoch: i.sourceDateEpoch,
          base: i.base?.digest ?? null,
          baseName: i.base?.name ?? null,
          sourceTree: i.sourceTree,
          git: i.git,
          measurement: i.measurement,
          sbom: i.sbom,
          buildCache: i.buildCache,
        });
      }),
    );
  });

  it('refuses statements that are not in-toto v1 or whose provenance is malformed', () => {
    const good = buildProvenance(fc.sample(input, { numRuns: 1, seed: 7 })[0]!) as Record<
      string,
      unknown
    >;
    expect(parseStatement({ ...good, _type: 'https://in-toto.io/Statement/v0.1' })).toHaveProperty(
      'problem',
    );
    expect(parseStatement({ ...good, subject: [] })).toHaveProperty('problem');
    expect(parseStatement({ ...good, predicate: { runDetails: {} } })).toHaveProperty('problem');
    expect(parseStatement('text')).toHaveProperty('problem');
    // Another predicate type is a valid statement, with no provenance to read.
    const other = parseStatement({ ...good, predicateType: 'https://example.com/test/v1' });
    expect(other).toMatchObject({ provenance: null, predicateType: 'https://example.com/test/v1' });
  });

  it('names a registry base by its reference, and a layout base by its tag', () => {
    const i = fc.sample(input, { numRuns: 1, seed: 5 })[0]!;
    const baseOf = (base: ProvenanceInput['base']) => {
      const parsed = parseStatement(JSON.parse(canonicalJson(buildProvenance({ ...i, base }))));
      if ('problem' in parsed) throw new Error(parsed.problem);
      return parsed.provenance;
    };
    const uri = 'oci://127.0.0.1:5000/team/base';
    expect(baseOf({ digest: i.sbom, name: '1', uri, index: i.measurement })).toMatchObject({
      base: i.sbom,
      baseName: '127.0.0.1:5000/team/base:1',
    });
    expect(baseOf({ digest: i.sbom, uri })?.baseName).toBe('127.0.0.1:5000/team/base');
    expect(baseOf({ digest: i.sbom, name: 'stable' })?.baseName).toBe('stable');
  });

  it('refuses a base dependency without a sha256 digest', () => {
    const i = fc.sample(input, { numRuns: 1, seed: 3 })[0]!;
    const doc = JSON.parse(canonicalJson(buildProvenance({ ...i, base: { digest: i.sbom } }))) as {
      predicate: { buildDefinition: { resolvedDependencies: { name: string; digest: unknown }[] } };
    };
    for (const d of doc.predicate.buildDefinition.resolvedDependencies)
      if (d.name === 'base') d.digest = { sha512: 'ab' };
    expect(parseStatement(doc)).toHaveProperty('problem');
  });
});
