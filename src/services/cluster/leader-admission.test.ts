import { describe, expect, it } from 'vitest';
import type { FleetRecord } from '../../core/fleet/record.js';
import type { Digest } from '../../domain/digest.js';
import { leaderAdmission } from './leader-admission.js';

const DIGEST = `sha256:${'a'.repeat(64)}` as Digest;

function fleetOf(artifact: string): FleetRecord {
  return { name: 'web', artifact: DIGEST, spec: { artifact } } as unknown as FleetRecord;
}

describe('leaderAdmission', () => {
  it('pulls by digest what a fleet names by registry reference, then asks again', async () => {
    const pulled: string[] = [];
    let have = false;
    const admit = leaderAdmission({
      admitted: () => Promise.resolve(have ? true : null),
      fleets: { fleets: () => Promise.resolve([fleetOf('registry.test:5000/team/web:1')]) },
      pull: (ref) => {
        pulled.push(ref);
        have = true;
        return Promise.resolve();
      },
      onPullError: () => undefined,
    });
    expect(await admit(DIGEST)).toBe(true);
    expect(pulled).toEqual([`registry.test:5000/team/web@${DIGEST}`]);
  });

  it('keeps a verdict as it is, and pulls nothing for an artifact no fleet names by registry', async () => {
    let pulls = 0;
    const pull = () => {
      pulls++;
      return Promise.resolve();
    };
    const refused = leaderAdmission({
      admitted: () => Promise.resolve(false),
      fleets: { fleets: () => Promise.resolve([fleetOf('registry.test/web:1')]) },
      pull,
      onPullError: () => undefined,
    });
    expect(await refused(DIGEST)).toBe(false);
    const local = leaderAdmission({
      admitted: () => Promise.resolve(null),
      fleets: { fleets: () => Promise.resolve([fleetOf('web:1')]) },
      pull,
      onPullError: () => undefined,
    });
    expect(await local(DIGEST)).toBeNull();
    expect(pulls).toBe(0);
  });

  it('reports a failed pull and gives no verdict', async () => {
    const errors: string[] = [];
    const admit = leaderAdmission({
      admitted: () => Promise.resolve(null),
      fleets: { fleets: () => Promise.resolve([fleetOf('registry.test/web:1')]) },
      pull: () => Promise.reject(new Error('unreachable')),
      onPullError: (ref) => errors.push(ref),
    });
    expect(await admit(DIGEST)).toBeNull();
    expect(errors).toEqual([`registry.test/web@${DIGEST}`]);
  });
});
