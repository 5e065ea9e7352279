import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InToto, type ProvenanceSummary } from '../../domain/attestation.js';
import type { Digest } from '../../domain/digest.js';
import type { Policy } from '../../domain/policy.js';
import type { BundleVerdict } from '../attest/verify-bundle.js';
import { evaluate, type Evidence } from './evaluate.js';
import { DEFAULT_RUNTIME_RULES } from './runtime.js';

const subject = `sha256:${'11'.repeat(32)}` as Digest;
const baseA = `sha256:${'aa'.repeat(32)}` as Digest;
const baseB = `sha256:${'bb'.repeat(32)}` as Digest;
const id = (n: number) => n.toString(16).padStart(64, '0');

function provenance(over: Partial<ProvenanceSummary> = {}): ProvenanceSummary {
  return {
    builderId: 'https://ci.example/builder',
    buildType: 'https://ingot.dev/build-types/baseline/v1',
    invocationId: null,
    startedOn: null,
    finishedOn: null,
    baseline: null,
    tag: null,
    compression: null,
    level: null,
    sourceDateEpoch: null,
    base: baseA,
    baseName: null,
    sourceTree: null,
    git: {
      commit: 'c'.repeat(40),
      remote: 'https://git.example/acme/app.git',
      dirty: false,
      ignoredInputs: 0,
    },
    measurement: null,
    sbom: null,
    buildCache: null,
    ...over,
  };
}

const verified = (keyId: string, p: ProvenanceSummary | null = provenance()): BundleVerdict => ({
  status: 'verified',
  keyId,
  statement: {
    subjects: [subject],
    predicateType: p ? InToto.slsaProvenance : 'https://example.com/other/v1',
    provenance: p,
  },
});

function policy(over: Partial<Policy> = {}): Policy {
  return {
    mode: 'enforce',
    threshold: 1,
    keys: [
      { name: 'ci', id: id(1) },
      { name: 'release', id: id(2) },
      { name: 'audit', id: id(3) },
    ],
    builders: ['https://ci.example/builder'],
    sources: ['https://git.example/acme/**'],
    allowDirty: false,
    allowUntracked: false,
    bases: { digests: [baseA], scratch: false },
    predicateTypes: [InToto.slsaProvenance],
    runtime: DEFAULT_RUNTIME_RULES,
    ...over,
  };
}

const codes = (p: Policy, e: Evidence) => evaluate(p, e).reasons.map((r) => r.code);
const ev = (...signatures: BundleVerdict[]): Evidence => ({ subject, signatures, runtime: null });

describe('evaluate(policy, evidence)', () => {
  it('allows provenance that satisfies every rule, and names the signer', () => {
    const d = evaluate(policy(), ev(verified(id(1))));
    expect(d).toEqual({
      allowed: true,
      mode: 'enforce',
      reasons: [],
      signers: [{ id: id(1), name: 'ci' }],
    });
  });

  it('gives a specific reason for each rule that fails', () => {
    expect(codes(policy(), ev())).toEqual(['E_NO_ATTESTATION', 'E_POLICY_PREDICATE']);
    expect(codes(policy(), ev({ status: 'unknown-key', keyHint: id(9) }))).toEqual([
      'E_KEY_UNKNOWN',
      'E_POLICY_PREDICATE',
    ]);
    expect(
      evaluate(policy(), ev({ status: 'unknown-key', keyHint: id(0x3fa2) })).reasons[0]!.message,
    ).toBe(`signed by unknown key ${id(0x3fa2).slice(0, 12)}…`);
    expect(codes(policy(), ev(verified(id(1), provenance({ builderId: 'https://evil' }))))).toEqual(
      ['E_POLICY_BUILDER'],
    );
    const fromElsewhere = provenance({
      git: {
        commit: 'c'.repeat(40),
        remote: 'https://git.example/other/app.git',
        dirty: false,
        ignoredInputs: 0,
      },
    });
    expect(evaluate(policy(), ev(verified(id(1), fromElsewhere))).reasons).toEqual([
      {
        code: 'E_POLICY_SOURCE',
        message: 'built from https://git.example/other/app.git, which is not allowed',
      },
    ]);
    expect(codes(policy(), ev(verified(id(1), provenance({ git: null }))))).toEqual([
      'E_POLICY_SOURCE',
      'E_POLICY_UNTRACKED',
    ]);
    // Without pinned sources, and even with dirty trees allowed: untracked is its own rule.
    const untracked = ev(verified(id(1), provenance({ git: null })));
    expect(codes(policy({ sources: null, allowDirty: true }), untracked)).toEqual([
      'E_POLICY_UNTRACKED',
    ]);
    expect(codes(policy({ sources: null, allowUntracked: true }), untracked)).toEqual([]);
    const dirty = provenance({
      git: {
        commit: 'c'.repeat(40),
        remote: 'https://git.example/acme/app.git',
        dirty: true,
        ignoredInputs: 0,
      },
    });
    expect(codes(policy(), ev(verified(id(1), dirty)))).toEqual(['E_POLICY_DIRTY']);
    expect(codes(policy({ allowDirty: true }), ev(verified(id(1), dirty)))).toEqual([]);
    // Without pinned sources, too: a policy that does not name repositories still wants
    // what runs to be what a commit holds.
    expect(codes(policy({ sources: null }), ev(verified(id(1), dirty)))).toEqual([
      'E_POLICY_DIRTY',
    ]);
    expect(evaluate(policy(), ev(verified(id(1), provenance({ base: baseB })))).reasons).toEqual([
      { code: 'E_POLICY_BASE', message: `base ${baseB} is not in the allowed bases` },
    ]);
    expect(codes(policy(), ev(verified(id(1), provenance({ base: null }))))).toEqual([
      'E_POLICY_BASE',
    ]);
    expect(
      codes(
        policy({ bases: { digests: [], scratch: true } }),
        ev(verified(id(1), provenance({ base: null }))),
      ),
    ).toEqual([]);
    expect(codes(policy(), ev(verified(id(1), null)))).toEqual(['E_POLICY_PREDICATE']);
  });

  it('counts distinct trusted keys toward the threshold', () => {
    const p = policy({ threshold: 2 });
    expect(codes(p, ev(verified(id(1)), verified(id(1))))).toEqual(['E_POLICY_THRESHOLD']);
    expect(codes(p, ev(verified(id(1)), verified(id(2))))).toEqual([]);
    // A second key that signed some other statement does not make up the provenance's k.
    expect(codes(p, ev(verified(id(1)), verified(id(2), null)))).toEqual(['E_POLICY_THRESHOLD']);
    expect(codes({ ...p, predicateTypes: [] }, ev(verified(id(1)), verified(id(2), null)))).toEqual(
      [],
    );
    expect(codes(p, ev(verified(id(1)), { status: 'unknown-key', keyHint: id(7) }))).toEqual([
      'E_KEY_UNKNOWN',
      'E_POLICY_THRESHOLD',
    ]);
  });

  it('warn mode allows, and keeps the reasons as warnings', () => {
    const d = evaluate(policy({ mode: 'warn' }), ev());
    expect(d.allowed).toBe(true);
    expect(d.reasons.length).toBeGreaterThan(0);
  });

  // ---- properties over arbitrary evidence

  const keyIndex = fc.integer({ min: 1, max: 5 }); // 4 and 5 are not in the policy
  const prov = fc.record({
    builder: fc.constantFrom('https://ci.example/builder', 'https://other'),
    remote: fc.constantFrom('https://git.example/acme/app.git', 'https://elsewhere/x.git', null),
    dirty: fc.boolean(),
    base: fc.constantFrom(baseA, baseB, null),
  });
  const verdict: fc.Arbitrary<BundleVerdict> = fc.oneof(
    fc.tuple(keyIndex, prov).map(([k, p]) =>
      verified(
        id(k),
        provenance({
          builderId: p.builder,
          base: p.base,
          git: p.remote
            ? { commit: 'c'.repeat(40), remote: p.remote, dirty: p.dirty, ignoredInputs: 0 }
            : null,
        }),
      ),
    ),
    keyIndex.map((k): BundleVerdict => ({ status: 'unknown-key', keyHint: id(k + 10) })),
  );
  const anyPolicy = fc.record({
    threshold: fc.integer({ min: 1, max: 3 }),
    mode: fc.constantFrom<'enforce' | 'warn'>('enforce', 'warn'),
    allowDirty: fc.boolean(),
    allowUntracked: fc.boolean(),
  });

  it('is allowed in enforce mode exactly when there are no reasons', () => {
    fc.assert(
      fc.property(anyPolicy, fc.array(verdict, { maxLength: 6 }), (o, sigs) => {
        const d = evaluate(policy(o), ev(...sigs));
        expect(d.allowed).toBe(o.mode === 'warn' || d.reasons.length === 0);
        expect(new Set(d.signers.map((s) => s.id)).size).toBe(d.signers.length);
        for (const s of d.signers) expect(policy().keys.map((k) => k.id)).toContain(s.id);
      }),
    );
  });

  it('untrusted signatures never change the decision once the threshold is met', () => {
    fc.assert(
      fc.property(
        anyPolicy,
        fc.array(verdict, { maxLength: 5 }),
        fc.array(keyIndex, { maxLength: 3 }),
        (o, sigs, strangers) => {
          const p = policy({ ...o, mode: 'enforce' });
          const before = evaluate(p, ev(...sigs));
          if (!before.allowed) return;
          const more = strangers.map((k): BundleVerdict => ({
            status: 'unknown-key',
            keyHint: id(k + 20),
          }));
          expect(evaluate(p, ev(...sigs, ...more)).allowed).toBe(true);
        },
      ),
    );
  });

  it('a larger threshold or a stricter rule never turns a denial into an admission', () => {
    fc.assert(
      fc.property(anyPolicy, fc.array(verdict, { maxLength: 6 }), (o, sigs) => {
        const p = policy({ ...o, mode: 'enforce' });
        if (evaluate(p, ev(...sigs)).allowed) return;
        expect(
          evaluate({ ...p, threshold: Math.min(3, p.threshold + 1) }, ev(...sigs)).allowed,
        ).toBe(false);
        expect(evaluate({ ...p, allowDirty: false }, ev(...sigs)).allowed).toBe(false);
        expect(evaluate({ ...p, allowUntracked: false }, ev(...sigs)).allowed).toBe(false);
        expect(evaluate({ ...p, builders: [] }, ev(...sigs)).allowed).toBe(false);
      }),
    );
  });

  it('removing a compliant signature never turns a denial into an admission', () => {
    // (Removing a signature of a non-compliant statement may: a trusted key that signed a
    // bad statement about the artifact is a reason to refuse it, for as long as it is there.)
    fc.assert(
      fc.property(anyPolicy, fc.array(verdict, { maxLength: 6 }), fc.nat(), (o, sigs, drop) => {
        const p = policy({ ...o, mode: 'enforce' });
        if (sigs.length === 0 || evaluate(p, ev(...sigs)).allowed) return;
        const victim = sigs[drop % sigs.length]!;
        const compliant =
          victim.status === 'verified' &&
          evaluate(p, ev(victim)).reasons.every((r) => r.code === 'E_POLICY_THRESHOLD');
        if (!compliant) return;
        const fewer = sigs.filter((_, i) => i !== drop % sigs.length);
        expect(evaluate(p, ev(...fewer)).allowed).toBe(false);
      }),
    );
  });
});
