import { IngotError } from '../../domain/errors.js';

/** What backs one of an artifact's named volumes on a host. */
export type VolumeSource =
  /** The fleet's own volume: `volumes/<fleet>/<name>`. */
  | { readonly kind: 'fleet'; readonly fleet: string; readonly name: string }
  /** A named host volume the fleet spec chose, shared by every fleet naming it. */
  | { readonly kind: 'shared'; readonly source: string };

/**
 * The source of each volume the artifact declares: the fleet's own, unless the fleet names
 * a shared one. A fleet naming a volume the artifact does not declare is refused. Pure.
 */
export function volumeSources(
  declared: readonly { readonly name: string }[],
  fleet: string,
  shared: readonly (readonly [string, string])[] | undefined,
): { readonly name: string; readonly source: VolumeSource }[] {
  const chosen = new Map(shared ?? []);
  for (const name of chosen.keys())
    if (!declared.some((v) => v.name === name))
      throw new IngotError(
        'E_VOLUME_UNKNOWN',
        `the artifact declares no volume ${JSON.stringify(name)}`,
      );
  return declared.map((v) => {
    const source = chosen.get(v.name);
    return {
      name: v.name,
      source:
        source === undefined ? { kind: 'fleet', fleet, name: v.name } : { kind: 'shared', source },
    };
  });
}
