import { fleetSchema, releaseDigest } from '../../src/core/fleet/spec.js';
import { deployed } from '../../src/core/fleet/transitions.js';
import { parseDigest } from '../../src/domain/digest.js';
import type { FleetStore } from '../../src/ports/fleet-store.js';

/** The artifact every fleet runs: the simulated agents never open it. */
const ARTIFACT = parseDigest(`sha256:${'b'.repeat(64)}`);

const SIZES = [
  { memory: '128Mi', cpus: 0.1 },
  { memory: '256Mi', cpus: 0.25 },
  { memory: '512Mi', cpus: 0.5 },
  { memory: '1Gi', cpus: 1 },
] as const;

/**
 * `count` fleets of `replicas` each, written straight to the fleet store as `ingot deploy`
 * writes them after admission (the same transition, `deployed`, and the same release record):
 * the artifact is a made-up digest that nothing pulls, so deploy's admission of it is skipped
 * here, and the controller is told every artifact is admitted. Sizes of 128 MiB / 0.1 CPU to
 * 1 GiB / 1 CPU; every other fleet spreads over `zone`, one in five needs `disk=ssd`.
 */
export async function writeFleets(
  fleets: FleetStore,
  count: number,
  replicas: number,
  now: number,
): Promise<string[]> {
  const names: string[] = [];
  for (let f = 0; f < count; f++) {
    const name = `fleet-${String(f).padStart(2, '0')}`;
    const spec = fleetSchema.parse({
      name,
      artifact: ARTIFACT,
      replicas,
      resources: SIZES[f % SIZES.length],
      placement: {
        ...(f % 2 === 0 && { spread: 'zone' }),
        constraints: f % 5 === 0 ? ['disk=ssd'] : [],
      },
    });
    const release = {
      digest: releaseDigest(ARTIFACT, spec),
      fleet: name,
      artifact: ARTIFACT,
      spec,
      createdAt: now,
    };
    const change = deployed(null, release, now, 'bench');
    const written = await fleets.writeFleet(change.next, null, change.note, release);
    if (!written) throw new Error(`fleet ${name} exists already`);
    names.push(name);
  }
  return names;
}
