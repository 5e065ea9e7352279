import { describe, expect, it } from 'vitest';
import { parseDigest } from '../../domain/digest.js';
import { fleetSchema, releaseDigest } from '../fleet/spec.js';
import { assignmentProblem } from './assignment-fit.js';
import { desiredInstance } from '../controller/plan-fleet.js';
import { instanceName } from '../planner/plan.js';
import { MAX_BYTES } from './values.js';

const artifact = parseDigest(`sha256:${'a'.repeat(64)}`);

function problemWith(env: Record<string, string>): string | null {
  const spec = fleetSchema.parse({ name: 'web', artifact, replicas: 3, env });
  return assignmentProblem('web', artifact, releaseDigest(artifact, spec), spec);
}

const KIB = 1024;

describe("an instance's assignment in a cluster", () => {
  it('fits up to the bound, and what is over it is said in bytes', () => {
    expect(problemWith({ GREETING: 'hi' })).toBeNull();
    expect(problemWith({ A: 'x'.repeat(30 * KIB), B: 'y'.repeat(30 * KIB) })).toBeNull();
    const over = problemWith({
      A: 'x'.repeat(30 * KIB),
      B: 'y'.repeat(30 * KIB),
      C: 'z'.repeat(5 * KIB),
    });
    expect(over).toMatch(new RegExp(`over the ${MAX_BYTES.assignment}-byte bound`));
  });

  it('is measured at its longest name and epoch: what fits at the bound fits at every index', () => {
    const env = (fill: number) => ({ A: 'x'.repeat(32 * KIB), B: 'y'.repeat(fill) });
    let fill = 31 * KIB;
    while (problemWith(env(fill + 1)) === null) fill++;
    const spec = fleetSchema.parse({ name: 'web', artifact, replicas: 1, env: env(fill) });
    const release = releaseDigest(artifact, spec);
    const atLongest = JSON.stringify({
      instance: desiredInstance(instanceName('web', release, 9999), 'web', artifact, release, spec),
      epoch: Number.MAX_SAFE_INTEGER,
    });
    expect(Buffer.byteLength(atLongest)).toBe(MAX_BYTES.assignment);
  });

  it('refuses what a host would refuse to read, not only what is too long', () => {
    // fleet.yaml takes values to 64 KiB; an assignment, 32 KiB each.
    expect(problemWith({ ONE: 'x'.repeat(40 * KIB) })).toMatch(/instance\.env/);
  });
});
