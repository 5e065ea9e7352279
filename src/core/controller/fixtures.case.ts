import type { Digest } from '../../domain/digest.js';
import type { ObservedInstance } from '../../domain/instance.js';
import type { FleetRecord, ReleaseRecord } from '../fleet/record.js';
import { fleetSchema, type FleetSpec } from '../fleet/spec.js';
import { instanceName } from '../planner/plan.js';

/** Shared by the controller's unit tests: fleets, releases and instances as plain data. */

export const d = (c: string) => `sha256:${c.repeat(64)}` as Digest;
export const OLD = d('1');
export const NEW = d('2');
export const ART_OLD = d('a');
export const ART_NEW = d('b');
export const T0 = 1_700_000_000_000;

export const spec = (over: Record<string, unknown> = {}): FleetSpec =>
  fleetSchema.parse({ name: 'web', artifact: 'x', replicas: 2, ...over });

/** Fleet "web" rolling OLD → NEW, which started at T0. */
export const fleet = (over: Partial<FleetRecord> = {}): FleetRecord => ({
  name: 'web',
  spec: spec(),
  release: NEW,
  artifact: ART_NEW,
  previous: OLD,
  rollout: 'progressing',
  rolloutStartedAt: T0,
  reason: null,
  stable: OLD,
  step: 0,
  stepStartedAt: T0,
  stepReadyAt: null,
  pausedAt: null,
  version: 3,
  ...over,
});

export const releaseRecord = (digest: Digest, s: FleetSpec = spec()): ReleaseRecord => ({
  digest,
  fleet: 'web',
  artifact: digest === NEW ? ART_NEW : ART_OLD,
  spec: s,
  createdAt: T0,
});

/** Instance n of a release, healthy since `healthyFor` ms before `now` unless told otherwise. */
export const instance = (
  release: Digest,
  n: number,
  now: number,
  over: Partial<ObservedInstance> & { healthyFor?: number } = {},
): ObservedInstance => {
  const { healthyFor = 60_000, ...rest } = over;
  return {
    id: instanceName('web', release, n),
    fleet: 'web',
    artifact: release === NEW ? ART_NEW : ART_OLD,
    release,
    state: 'healthy',
    startedAt: new Date(now - healthyFor - 1000).toISOString(),
    healthySince: new Date(now - healthyFor).toISOString(),
    integrity: 'verified',
    ...rest,
  };
};
