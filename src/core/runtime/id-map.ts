import type { MeasuredEntry } from '../../domain/measurement.js';

/**
 * Where an instance's ids sit on the host: ids 0..size-1 inside are hostId..hostId+size-1
 * outside (one range for uids and gids alike, as Podman's `--userns=auto`). The threat: a
 * process that escapes its namespaces, or writes to a volume, as root inside must not be
 * root (or any real user) on the host.
 */
export interface IdMap {
  readonly hostId: number;
  readonly size: number;
}

/** Ids per instance range: the 16-bit id space images are built for (nobody is 65534). */
export const ID_RANGE_SIZE = 65_536;

/** The id a file or process owned by `id` inside has on the host, or null if unmapped. */
export function toHost(map: IdMap | null, id: number): number | null {
  if (map === null) return id;
  return Number.isInteger(id) && id >= 0 && id < map.size ? map.hostId + id : null;
}

/**
 * The measurement as the host sees a rootfs materialised for `map`: every owner shifted.
 * The signed measurement is not changed; only what it is compared with is. Returns the
 * first owner the range cannot hold (it would show as `nobody` inside and belong to
 * whoever has that host id outside), or the shifted entries.
 */
export function shiftOwners(
  entries: readonly MeasuredEntry[],
  map: IdMap | null,
): { readonly entries: readonly MeasuredEntry[] } | { readonly unmapped: MeasuredEntry } {
  if (map === null) return { entries };
  const out: MeasuredEntry[] = [];
  for (const e of entries) {
    const uid = toHost(map, e.uid);
    const gid = toHost(map, e.gid);
    if (uid === null || gid === null) return { unmapped: e };
    out.push({ ...e, uid, gid });
  }
  return { entries: out };
}

/**
 * The mapping a runtime config gives its instance (what an agent that restarted adopts it
 * with), or null for none. Only the one-range form this agent writes is read back.
 */
export function idMapOfSpec(spec: unknown): IdMap | null {
  const linux = (spec as { linux?: { uidMappings?: unknown } } | null)?.linux;
  const m = Array.isArray(linux?.uidMappings) ? (linux.uidMappings[0] as unknown) : undefined;
  if (typeof m !== 'object' || m === null) return null;
  const { containerID, hostID, size } = m as Record<string, unknown>;
  if (containerID !== 0 || typeof hostID !== 'number' || typeof size !== 'number') return null;
  return { hostId: hostID, size };
}
