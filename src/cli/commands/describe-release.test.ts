import { describe, expect, it } from 'vitest';
import type { HistoryAnswer, ReleaseAnswer } from '../../core/api/fleets.js';
import { parseFleet } from '../../core/fleet/spec.js';
import type { Digest } from '../../domain/digest.js';
import type { ObservedInstance } from '../../domain/instance.js';
import {
  describeRelease,
  parseReleaseRef,
  releaseDescription,
  releaseParam,
} from './describe-release.js';
import type { FleetView } from './fleets/fleet-view.js';

const R1 = `sha256:${'1'.repeat(64)}` as Digest;
const R2 = `sha256:${'2'.repeat(64)}` as Digest;
const A1 = `sha256:${'a'.repeat(64)}` as Digest;
const A2 = `sha256:${'b'.repeat(64)}` as Digest;
const T = Date.UTC(2026, 11, 5, 12);
const iso = (ms: number) => new Date(ms).toISOString();

const spec = (yaml: string) => parseFleet(`name: web\nreplicas: 2\n${yaml}`, 'fleet.yaml');
const releases: ReleaseAnswer[] = [
  {
    number: 1,
    digest: R1,
    fleet: 'web',
    artifact: A1,
    spec: spec('artifact: hello:1.0.0\nenv: { GREETING: hello, OLD: x }\n'),
    createdAt: iso(T - 3_600_000),
  },
  {
    number: 2,
    digest: R2,
    fleet: 'web',
    artifact: A2,
    spec: spec(
      'artifact: hello:1.1.0\nenv: { GREETING: salut, TOKEN: s3cret-value }\nresources: { memory: 128Mi }\n',
    ),
    createdAt: iso(T - 120_000),
  },
];

const instance = (id: string, release: Digest): ObservedInstance => ({
  id,
  fleet: 'web',
  artifact: release === R1 ? A1 : A2,
  release,
  state: 'healthy',
  host: 'h1',
  address: '10.88.0.2',
  ports: [8080],
});

const fleet: FleetView = {
  name: 'web',
  spec: releases[1]!.spec,
  release: R2,
  artifact: A2,
  previous: R1,
  rollout: 'complete',
  rolloutStartedAt: iso(T - 120_000),
  reason: null,
  stable: R2,
  step: 0,
  stepStartedAt: iso(T - 120_000),
  stepReadyAt: null,
  pausedAt: null,
  version: 3,
  phase: 'all instances',
  awaitingPromotion: false,
  reasons: [],
  instances: [instance('web-3', R2), instance('web-4', R2), instance('web-1', R1)],
};

const history: HistoryAnswer[] = [
  { seq: 1, time: iso(T - 3_600_000), fleet: 'web', kind: 'deploy', detail: R1, actor: 'admin' },
  {
    seq: 5,
    time: iso(T - 120_000),
    fleet: 'web',
    kind: 'deploy',
    detail: R2,
    actor: 'ci-token',
    reason: 'ticket 42',
  },
  {
    seq: 6,
    time: iso(T - 60_000),
    fleet: 'web',
    kind: 'complete',
    detail: R2,
    actor: 'controller',
  },
  {
    seq: 7,
    time: iso(T - 30_000),
    fleet: 'web',
    kind: 'taint',
    detail: 'web-9 drifted',
    actor: 'x',
  },
];

describe('ingot describe release', () => {
  it('reads FLEET and FLEET@N, and refuses anything else after the @', () => {
    expect(parseReleaseRef('web')).toEqual({ fleet: 'web', number: null });
    expect(parseReleaseRef('web@12')).toEqual({ fleet: 'web', number: 12 });
    for (const bad of ['web@', 'web@0', 'web@-1', 'web@1.5', 'web@x', 'web@01'])
      expect(() => parseReleaseRef(bad), bad).toThrow(
        expect.objectContaining({ code: 'E_USAGE' }) as Error,
      );
  });

  it('shows the current release: who deployed it, when, why, what changed, where it runs', () => {
    // FLEET alone asks for the release the fleet runs now, by its digest.
    expect(releaseParam(fleet, null)).toBe(R2);
    // The lines that name R2, as the store's subject index selects them.
    const d = releaseDescription(
      fleet,
      { release: releases[1]!, previous: releases[0]! },
      history.filter((h) => h.detail === R2),
    );
    expect(d).toMatchObject({ current: true, previous: 1, release: { number: 2 } });
    const text = describeRelease(d, T);
    expect(text).toContain('release:    2 of web (current)');
    expect(text).toContain(`digest:     ${R2}`);
    expect(text).toContain(`artifact:   ${A2} (hello:1.1.0)`);
    expect(text).toContain(`deployed:   by ci-token, ${iso(T - 120_000)} (2m ago)`);
    expect(text).toContain('why:        ticket 42');
    expect(text).toContain('changes:    from release 1');
    expect(text).toMatch(
      /artifact: +aaaaaaaaaaaa \(hello:1\.0\.0\) → bbbbbbbbbbbb \(hello:1\.1\.0\)/,
    );
    expect(text).toContain('env:       +TOKEN -OLD ~GREETING (names only)');
    expect(text).toMatch(/resources\.memory: +- → 134217728/);
    // Its instances and its events only: not release 1's, not another's.
    expect(text).toMatch(/instances:\n {2}web-3 {2}healthy {2}h1 {2}10\.88\.0\.2:8080\n {2}web-4 /);
    expect(text).not.toContain('web-1');
    expect(text).toMatch(/events:\n.*deploy {2}by ci-token: .*\n.*complete {2}by controller/);
    expect(text).not.toContain('web-9');
    // Env values may be secrets: never shown, in the text or the diff.
    expect(text).not.toMatch(/s3cret|salut/);
    expect(JSON.stringify(d.diff)).not.toMatch(/s3cret|salut/);
  });

  it('shows an earlier release by number, and the first as having no release before it', () => {
    expect(releaseParam(fleet, 1)).toBe('1');
    const d = releaseDescription(
      fleet,
      { release: releases[0]!, previous: null },
      history.filter((h) => h.detail === R1),
    );
    expect(d).toMatchObject({ current: false, previous: null, deployed: { seq: 1 } });
    expect(d.instances.map((i) => i.id)).toEqual(['web-1']);
    const text = describeRelease(d, T);
    expect(text).toContain('release:    1 of web\n');
    expect(text).toContain("changes:    none: the fleet's first release");
    expect(text).toContain('why:        -');
  });
});
