import type { Digest } from '../../domain/digest.js';
import { canonicalJson } from '../canonical-json.js';
import type { FleetRecord, ReleaseRecord } from './record.js';
import type { FleetSpec } from './spec.js';

/** One setting that changes, with its values as fleet.yaml would show them (ms for durations). */
export interface SettingChange {
  /** The spec's path: "resources.memory", "strategy", "replicas". */
  readonly field: string;
  readonly from: unknown;
  readonly to: unknown;
  /** Part of the release (artifact, env, resources, volumes): changing it means new instances. */
  readonly release: boolean;
}

/**
 * A deploy's change to a fleet, as `nomad job plan` and BOSH's deploy diff show one. Env
 * values never appear (they may be secrets): only the names added, removed and changed.
 */
export interface ReleaseDiff {
  readonly fleet: string;
  /** No such fleet yet: everything is new. */
  readonly created: boolean;
  /** The release digest changes: every instance is replaced by one of the new release. */
  readonly newRelease: boolean;
  readonly release: { readonly from: Digest | null; readonly to: Digest };
  readonly artifact: {
    readonly from: Digest | null;
    readonly to: Digest;
    /** What fleet.yaml names (a tag or a digest), before and now. */
    readonly fromName: string | null;
    readonly toName: string;
  };
  readonly env: {
    readonly added: readonly string[];
    readonly removed: readonly string[];
    readonly changed: readonly string[];
  };
  /** Every other setting that changes, release settings first. */
  readonly settings: readonly SettingChange[];
}

/** Settings of the release beside the artifact and env (releaseDigest hashes these). */
const RELEASE_FIELDS: ReadonlySet<string> = new Set(['resources', 'volumes']);
/** Compared on their own (artifact, env) or naming the fleet (name). */
const SKIPPED: ReadonlySet<string> = new Set(['name', 'artifact', 'env']);

/**
 * What deploying `next` changes in the fleet as it is (`current`, null if none): the release,
 * the artifact, env names, and every other setting. Resources are compared one by one
 * ("resources.memory"); the rest whole. `current` may be an earlier release's record (the
 * dashboard's releases view diffs each release against the one before). Pure.
 */
export function releaseDiff(
  current: Pick<FleetRecord, 'spec' | 'release' | 'artifact'> | null,
  next: ReleaseRecord,
): ReleaseDiff {
  const before: Partial<FleetSpec> = current?.spec ?? {};
  const after = next.spec;
  const oldEnv = before.env ?? {};
  const keys = (o: Record<string, string>) => Object.keys(o).sort();
  const env = {
    added: keys(after.env).filter((k) => !(k in oldEnv)),
    removed: keys(oldEnv).filter((k) => !(k in after.env)),
    changed: keys(after.env).filter((k) => k in oldEnv && oldEnv[k] !== after.env[k]),
  };
  const settings: SettingChange[] = [];
  const fields = [...new Set([...Object.keys(before), ...Object.keys(after)])]
    .filter((f) => !SKIPPED.has(f))
    .sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
  for (const field of fields) {
    const from = (before as Record<string, unknown>)[field];
    const to = (after as Record<string, unknown>)[field];
    if (field === 'resources') settings.push(...resourceChanges(from, to));
    else if (!same(from, to))
      settings.push({
        field,
        from: from ?? null,
        to: to ?? null,
        release: RELEASE_FIELDS.has(field),
      });
  }
  return {
    fleet: after.name,
    created: current === null,
    newRelease: current?.release !== next.digest,
    release: { from: current?.release ?? null, to: next.digest },
    artifact: {
      from: current?.artifact ?? null,
      to: next.artifact,
      fromName: current?.spec.artifact ?? null,
      toName: after.artifact,
    },
    env,
    settings,
  };
}

/** Release settings first, then the rest alphabetically. */
const rank = (field: string): number => (RELEASE_FIELDS.has(field) ? 0 : 1);

function resourceChanges(from: unknown, to: unknown): SettingChange[] {
  const a = (from ?? {}) as Record<string, unknown>;
  const b = (to ?? {}) as Record<string, unknown>;
  return [...new Set([...Object.keys(a), ...Object.keys(b)])]
    .sort()
    .filter((k) => !same(a[k], b[k]))
    .map((k) => ({ field: `resources.${k}`, from: a[k] ?? null, to: b[k] ?? null, release: true }));
}

const same = (a: unknown, b: unknown): boolean =>
  canonicalJson(a ?? null) === canonicalJson(b ?? null);
