import { describe, expect, it } from 'vitest';
import type { FleetPlanAnswer } from '../../../core/api/fleets.js';
import type { Digest } from '../../../domain/digest.js';
import { planText } from './plan.js';

const d = (c: string) => `sha256:${c.repeat(64)}` as Digest;

const plan = (over: Partial<FleetPlanAnswer['diff']> = {}): FleetPlanAnswer => ({
  diff: {
    fleet: 'web',
    created: false,
    newRelease: true,
    release: { from: d('1'), to: d('2') },
    artifact: { from: d('a'), to: d('a'), fromName: 'web:1', toName: 'web:1' },
    env: { added: ['NEW'], removed: ['OLD'], changed: ['TOKEN'] },
    settings: [
      { field: 'resources.memory', from: 64 * 1024 ** 2, to: 128 * 1024 ** 2, release: true },
      { field: 'progressDeadline', from: 600_000, to: 90_000, release: false },
      { field: 'volumes', from: {}, to: {}, release: true },
    ],
    ...over,
  },
  rollout: 'progressing',
  instances: {
    next: {
      start: [{ id: 'web-22222222-0', release: d('2') }],
      stop: [],
      keep: ['web-11111111-0'],
      reasons: [],
    },
    phase: 'all instances',
    steps: ['all instances'],
    start: [{ id: 'web-22222222-0', release: d('2') }],
    stop: [{ id: 'web-11111111-0', release: d('1'), reason: 'old-release' }],
    stay: [],
  },
});

describe('planText', () => {
  it('says what changes in fleet.yaml units, env by name, instances marked + - =', () => {
    const text = planText(plan());
    expect(text).toContain('fleet web: new release 222222222222 (now 111111111111)');
    expect(text).toContain('artifact  web:1 aaaaaaaaaaaa (unchanged)');
    expect(text).toContain('env       NEW added, TOKEN changed, OLD removed');
    expect(text).toContain('resources.memory  64 MiB → 128 MiB (release)');
    expect(text).toContain('progressDeadline  10m → 1m30s');
    expect(text).toMatch(/^ {2}\+ web-22222222-0 {2}start$/m);
    expect(text).toMatch(/^ {2}- web-11111111-0 {2}stop: old-release$/m);
    expect(text).toContain('next pass: 1 to start, 0 to stop, 1 kept (all instances)');
  });

  it('a new fleet: what it sets, not its empty defaults', () => {
    const text = planText(plan({ created: true, release: { from: null, to: d('2') } }));
    expect(text).toContain('fleet web: new, release 222222222222');
    expect(text).toContain('resources.memory  128 MiB (release)');
    expect(text).not.toContain('volumes');
  });
});
