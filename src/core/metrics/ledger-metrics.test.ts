import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Digest } from '../../domain/digest.js';
import { ERROR_CODES } from '../../domain/error-codes.js';
import { POLICY_REASON_CODES } from '../../domain/policy.js';
import { noteEntry } from '../fleet/note-entry.js';
import type { FleetRecord, ReleaseRecord } from '../fleet/record.js';
import { fleetSchema } from '../fleet/spec.js';
import { deployed, judged, rolledBack } from '../fleet/transitions.js';
import type { LedgerEntryDraft } from '../ledger/entry.js';
import { COUNTERS, countersOf, fleetLabel, OTHER, refusalCode } from './ledger-metrics.js';

fc.configureGlobal({ numRuns: Number(process.env['FC_RUNS'] ?? 100) });

const d = (c: string) => `sha256:${c.repeat(64)}` as Digest;
const release = (c: string, strategy?: unknown): ReleaseRecord => ({
  digest: d(c),
  fleet: 'web',
  artifact: d('a'),
  spec: fleetSchema.parse({
    name: 'web',
    artifact: 'x',
    replicas: 2,
    ...(strategy ? { strategy } : {}),
  }),
  createdAt: 1,
});
const fleet = (over: Partial<FleetRecord> = {}): FleetRecord => ({
  ...deployed(null, release('1'), 10, 'admin').next,
  version: 3,
  ...over,
});
const event = (
  kind: string,
  detail: Record<string, unknown> = {},
  over: Partial<LedgerEntryDraft> = {},
): LedgerEntryDraft => ({
  time: 1,
  actor: 'agent@h',
  kind,
  subjects: [],
  fleet: 'web',
  detail,
  ...over,
});

describe('ledger events → counters', () => {
  it('a deploy that starts a rollout counts it with its strategy; a resize counts nothing', () => {
    const first = noteEntry(
      deployed(null, release('1', { canary: { steps: [{ instances: 1 }] } }), 5, 'admin').note,
    );
    expect(countersOf(first)).toEqual([
      { name: 'ingot_rollouts_started_total', labels: { fleet: 'web', strategy: 'canary' } },
    ]);
    const resize = noteEntry(
      deployed(fleet({ rollout: 'complete' }), release('1'), 5, 'admin').note,
    );
    expect(countersOf(resize)).toEqual([]);
  });

  it("the controller's verdicts: complete, refused, failed", () => {
    const verdict = (v: 'complete' | 'refused' | 'failed') =>
      countersOf(noteEntry(judged(fleet(), v, v === 'complete' ? null : 'why', 9)!.note));
    expect(verdict('complete')).toEqual([
      { name: 'ingot_rollouts_completed_total', labels: { fleet: 'web' } },
    ]);
    expect(verdict('refused')).toEqual([
      { name: 'ingot_rollouts_failed_total', labels: { fleet: 'web', verdict: 'refused' } },
    ]);
    expect(verdict('failed')[0]?.labels).toEqual({ fleet: 'web', verdict: 'failed' });
  });

  it('a rollback is automatic when the controller made it, manual otherwise; its free-text reason is no label', () => {
    const by = (actor: string) =>
      countersOf(
        noteEntry(rolledBack(fleet(), release('0'), `health ${'x'.repeat(500)}`, 9, actor).note),
      );
    expect(by('controller')).toEqual([
      { name: 'ingot_rollouts_rolled_back_total', labels: { fleet: 'web', reason: 'automatic' } },
    ]);
    expect(by('admin')[0]?.labels['reason']).toBe('manual');
  });

  it('admission decisions by where, verdict and the code of the first refusal', () => {
    expect(countersOf(event('admission', { where: 'deploy', allowed: true, reasons: [] }))).toEqual(
      [
        {
          name: 'ingot_admission_decisions_total',
          labels: { where: 'deploy', allowed: 'true', code: 'ok' },
        },
      ],
    );
    const refused = event('admission', {
      where: 'host',
      allowed: false,
      reasons: ['signed by unknown key abc (E_KEY_UNKNOWN)', 'base not allowed (E_POLICY_BASE)'],
    });
    expect(countersOf(refused)[0]?.labels).toEqual({
      where: 'host',
      allowed: 'false',
      code: 'E_KEY_UNKNOWN',
    });
    // A code Ingot does not have, or none at all, is "other".
    expect(refusalCode({ allowed: false, reasons: ['x (E_MADE_UP_BY_A_HOST)'] })).toBe(OTHER);
    expect(refusalCode({ allowed: false, reasons: 'E_KEY_UNKNOWN' })).toBe(OTHER);
    expect(
      countersOf(event('admission', { where: 'elsewhere', allowed: 'yes' }))[0]?.labels,
    ).toEqual({
      where: OTHER,
      allowed: 'false',
      code: OTHER,
    });
  });

  it('drift, replacements by cause, starts and stops', () => {
    expect(countersOf(event('drift', { evidence: [] }))).toEqual([
      { name: 'ingot_drift_detections_total', labels: { fleet: 'web' } },
    ]);
    expect(countersOf(event('instance-replaced', { cause: 'tainted' }))[0]?.labels).toEqual({
      fleet: 'web',
      reason: 'tainted',
    });
    expect(
      countersOf(event('instance-replaced', { cause: 'host-lost' }))[0]?.labels['reason'],
    ).toBe('host-lost');
    expect(
      countersOf(event('instance-replaced', { cause: 'because I said so' }))[0]?.labels['reason'],
    ).toBe(OTHER);
    expect(countersOf(event('instance-started'))[0]?.name).toBe('ingot_instance_starts_total');
    expect(countersOf(event('instance-stopped'))[0]?.name).toBe('ingot_instance_stops_total');
    for (const kind of ['build', 'key', 'policy', 'token', 'instance-healthy', 'taint', 'host'])
      expect(countersOf(event(kind))).toEqual([]);
  });

  it('a fleet label is a fleet name as fleet.yaml allows it, or "other"', () => {
    expect(fleetLabel('web-2')).toBe('web-2');
    for (const bad of [undefined, '', 'Web', 'a'.repeat(31), 'web\n', 'x{y="1"}', '-web'])
      expect(fleetLabel(bad)).toBe(OTHER);
  });

  it('whatever an event holds, every label is from a closed set or a valid fleet name', () => {
    const codes = new Set<string>([...Object.values(ERROR_CODES).flat(), ...POLICY_REASON_CODES]);
    const closed = new Set([
      OTHER,
      'ok',
      'true',
      'false',
      'deploy',
      'host',
      'rolling',
      'canary',
      'blueGreen',
      'automatic',
      'manual',
      'refused',
      'failed',
      'tainted',
      'unhealthy',
      'old-release',
      'aged',
      'surplus',
      'host-lost',
    ]);
    const kinds = [
      'deploy',
      'rollout-complete',
      'rollout-refused',
      'rollout-failed',
      'rollback',
      'admission',
      'drift',
      'instance-replaced',
      'instance-started',
      'instance-stopped',
      'build',
    ];
    const value = fc.oneof(
      fc.string(),
      fc.boolean(),
      fc.array(fc.string()),
      fc.constantFrom('started', 'canary', 'host'),
    );
    fc.assert(
      fc.property(
        fc.constantFrom(...kinds),
        fc.option(fc.string({ maxLength: 40 }), { nil: undefined }),
        fc.dictionary(
          fc.constantFrom('rollout', 'strategy', 'where', 'allowed', 'reasons', 'cause'),
          value,
        ),
        fc.string(),
        (kind, name, detail, actor) => {
          for (const sample of countersOf(event(kind, detail, { fleet: name, actor }))) {
            expect(Object.keys(sample.labels).sort()).toEqual(
              [...COUNTERS[sample.name].labels].sort(),
            );
            for (const [label, v] of Object.entries(sample.labels))
              expect(
                label === 'fleet' ? v === name || v === OTHER : closed.has(v) || codes.has(v),
              ).toBe(true);
          }
        },
      ),
    );
  });
});
