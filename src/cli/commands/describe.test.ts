import { describe, expect, it } from 'vitest';
import { parseFleet } from '../../core/fleet/spec.js';
import type { Digest } from '../../domain/digest.js';
import type { ObservedInstance } from '../../domain/instance.js';
import { describeFleet, describeInstance } from './describe.js';
import type { FleetView } from './fleets/fleet-view.js';

const NEW = `sha256:${'1'.repeat(64)}` as Digest;
const T = Date.UTC(2026, 11, 5, 12);

const instance: ObservedInstance = {
  id: 'web-1',
  fleet: 'web',
  artifact: NEW,
  release: NEW,
  state: 'healthy',
  integrity: 'tainted',
  address: '10.88.0.2',
  ports: [8080],
  startedAt: new Date(T - 60_000).toISOString(),
  evidence: [
    {
      detector: 'files',
      path: '/srv/www/index.html',
      expected: 'sha256:aa',
      actual: 'sha256:bb',
      time: new Date(T - 1000).toISOString(),
    },
  ],
};

const fleet: FleetView = {
  name: 'web',
  spec: parseFleet(
    'name: web\nartifact: hello:1.0.0\nreplicas: 1\nenv: { GREETING: hello, TOKEN: s3cret-value }\n',
    'fleet.yaml',
  ),
  release: NEW,
  artifact: NEW,
  previous: null,
  rollout: 'complete',
  rolloutStartedAt: new Date(T - 120_000).toISOString(),
  reason: null,
  stable: NEW,
  step: 0,
  stepStartedAt: new Date(T - 120_000).toISOString(),
  stepReadyAt: null,
  pausedAt: null,
  version: 1,
  phase: 'all instances',
  awaitingPromotion: false,
  reasons: ['replacing web-1: drifted'],
  instances: [instance],
};

const events = [
  {
    seq: 1,
    time: new Date(T - 120_000).toISOString(),
    fleet: 'web',
    kind: 'deploy',
    detail: 'release 1',
    actor: 'admin',
  },
  {
    seq: 2,
    time: new Date(T - 1000).toISOString(),
    fleet: 'web',
    kind: 'taint',
    detail: 'web-1 drifted',
    actor: 'controller',
    reason: 'files changed',
  },
];

describe('ingot describe', () => {
  it('a fleet: settings with env names never values, reasons, and events with who and why', () => {
    const text = describeFleet(fleet, events, T);
    expect(text).toContain('env:        GREETING, TOKEN');
    expect(text).not.toContain('s3cret-value');
    expect(text).toContain('reasons:    replacing web-1: drifted');
    expect(text).toMatch(/deploy {2}by admin: release 1/);
    expect(text).toMatch(/taint {2}by controller: web-1 drifted \(files changed\)/);
  });

  it('an instance: where it runs with its ports, the evidence expected against actual', () => {
    const text = describeInstance(instance, fleet, events.slice(1), T);
    expect(text).toContain('address:    10.88.0.2:8080');
    expect(text).toContain('(its current release)');
    expect(text).toMatch(
      /files {2}\/srv\/www\/index\.html\n {4}expected sha256:aa\n {4}actual {3}sha256:bb/,
    );
    expect(text).toContain('started:    2026-12-05T11:59:00.000Z (60s ago)');
    expect(text).toMatch(/events:\n.*taint/);
  });
});
