import { describe, expect, it } from 'vitest';
import type { Digest } from '../../../domain/digest.js';
import type { ObservedInstance } from '../../../domain/instance.js';
import { parseFleet } from '../../../core/fleet/spec.js';
import { addressText, healthyText, reasonText, statusFrame } from './status.js';
import type { FleetView } from './fleet-view.js';

const NEW = `sha256:${'1'.repeat(64)}` as Digest;
const OLD = `sha256:${'2'.repeat(64)}` as Digest;

const instance = (n: number, release: Digest, state: ObservedInstance['state'] = 'healthy') =>
  ({ id: `web-${n}`, fleet: 'web', artifact: NEW, state, release }) as ObservedInstance;

function view(over: Partial<FleetView>): FleetView {
  return {
    name: 'web',
    spec: parseFleet('name: web\nartifact: hello:1.0.0\nreplicas: 3\n', 'fleet.yaml'),
    release: NEW,
    artifact: NEW,
    previous: OLD,
    rollout: 'progressing',
    rolloutStartedAt: '1970-01-01T00:00:00.000Z',
    reason: null,
    stable: OLD,
    step: 0,
    stepStartedAt: '1970-01-01T00:00:00.000Z',
    stepReadyAt: null,
    pausedAt: null,
    version: 1,
    phase: '',
    awaitingPromotion: false,
    reasons: [],
    instances: [],
    ...over,
  };
}

describe('ingot status', () => {
  it('never shows more healthy than replicas: the new release against them, the old apart', () => {
    const mid = view({
      instances: [instance(1, NEW), instance(2, NEW), instance(3, OLD), instance(4, OLD)],
    });
    expect(healthyText(mid)).toBe('2/3 +2 old');
    expect(healthyText(view({ instances: [1, 2, 3].map((n) => instance(n, NEW)) }))).toBe('3/3');
    expect(healthyText(view({ instances: [instance(1, NEW, 'starting'), instance(2, OLD)] }))).toBe(
      '0/3 +1 old',
    );
  });

  it('drops a rollback’s reason once the rolled-back release runs whole and healthy', () => {
    const reason = 'health check failed';
    const rolling = view({ rollout: 'rolled-back', reason, instances: [instance(1, NEW)] });
    expect(reasonText(rolling)).toBe(reason);
    const settled = view({
      rollout: 'rolled-back',
      reason,
      instances: [1, 2, 3].map((n) => instance(n, NEW)),
    });
    expect(reasonText(settled)).toBe('');
    // A refusal stays until something changes; the pass's own reasons always show.
    expect(reasonText(view({ rollout: 'refused', reason: 'admission refuses it' }))).toBe(
      'admission refuses it',
    );
    expect(reasonText({ ...settled, reasons: ['placement: no room'] })).toBe('placement: no room');
  });

  it('shows each address with its exposed ports', () => {
    expect(addressText({ address: '10.88.0.2', ports: [8080] })).toBe('10.88.0.2:8080');
    expect(addressText({ address: '10.88.0.2', ports: [80, 443] })).toBe(
      '10.88.0.2:80,10.88.0.2:443',
    );
    expect(addressText({ address: '10.88.0.2' })).toBe('10.88.0.2');
    expect(addressText({})).toBe('-');
  });

  it('-o wide adds columns to both tables and keeps the default ones in their order', () => {
    const now = Date.parse('1970-01-01T00:05:00.000Z');
    const f = view({
      instances: [
        {
          ...instance(1, NEW),
          pid: 4242,
          reason: 'replacing a tainted one',
          startedAt: '1970-01-01T00:03:00.000Z',
          healthySince: '1970-01-01T00:04:00.000Z',
        },
      ],
    });
    const [narrow, wide] = (['text', 'wide'] as const).map((o) =>
      statusFrame([f], o, now).text.split('\n\n'),
    );
    const headers = (t: string | undefined) => (t ?? '').split('\n')[0]!.split(/\s+/);
    expect(headers(narrow![0])).toEqual([
      'FLEET',
      'RELEASE',
      'ROLLOUT',
      'HEALTHY',
      'PHASE',
      'REASON',
    ]);
    expect(headers(wide![0])).toEqual([
      'FLEET',
      'RELEASE',
      'ARTIFACT',
      'STABLE',
      'ROLLOUT',
      'STARTED',
      'HEALTHY',
      'PHASE',
      'REASON',
    ]);
    expect(headers(narrow![1])).not.toContain('PID');
    expect(headers(wide![1])).toEqual([
      'INSTANCE',
      'RELEASE',
      'ARTIFACT',
      'AGE',
      'HEALTH',
      'HEALTHY-FOR',
      'INTEGRITY',
      'HOST',
      'ADDRESS',
      'PID',
      'REASON',
    ]);
    const row = wide![1]!.split('\n')[1]!;
    expect(row).toMatch(/^web-1 .* 2m +healthy +60s +unchecked .* 4242 +replacing a tainted one$/);
    expect(wide![0]!.split('\n')[1]).toMatch(/^web .*progressing +5m /);
    // JSON is the API's answer, whatever the width.
    expect(
      (JSON.parse(statusFrame([f], 'json', now).text) as FleetView[])[0]!.rolloutStartedAt,
    ).toBe('1970-01-01T00:00:00.000Z');
  });
});
