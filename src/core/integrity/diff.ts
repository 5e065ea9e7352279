import type { EntryKind, MeasuredEntry } from '../../domain/measurement.js';

/** What a host sees at a path of a rootfs: what a measurement records, plus "other". */
export type ObservedEntry = Omit<MeasuredEntry, 'path' | 'type' | 'hardlink'> & {
  readonly type: EntryKind | 'other';
};

/** The fields compared, in order. */
type Field = Exclude<keyof MeasuredEntry, 'path' | 'hardlink'>;

export type Drift =
  | { readonly kind: 'added'; readonly path: string; readonly actual: string }
  | { readonly kind: 'removed'; readonly path: string; readonly expected: string }
  | {
      readonly kind: 'changed';
      readonly path: string;
      readonly field: Field;
      readonly expected: string;
      readonly actual: string;
    };

const FIELDS: readonly Field[] = ['type', 'mode', 'uid', 'gid', 'size', 'target', 'sha256'];

function show(field: Field, value: string | number | undefined): string {
  if (value === undefined) return '(none)';
  if (typeof value === 'string') return value;
  return field === 'mode' ? `0${value.toString(8).padStart(3, '0')}` : value.toString(10);
}

/**
 * Compare one path against its measurement. Symlink modes are not compared (Linux has
 * none); content is compared only if the observation carries a hash.
 */
export function diffEntry(expected: MeasuredEntry, observed: ObservedEntry): Drift[] {
  const drifts: Drift[] = [];
  for (const field of FIELDS) {
    if (field === 'mode' && expected.type === 'symlink') continue;
    if (field === 'sha256' && (expected.type !== 'file' || observed.sha256 === undefined)) continue;
    if (field === 'size' && expected.type !== 'file') continue;
    if (field === 'target' && expected.type !== 'symlink') continue;
    const want = expected[field];
    const got = observed[field];
    if (want !== got)
      drifts.push({
        kind: 'changed',
        path: expected.path,
        field,
        expected: show(field, want),
        actual: show(field, got),
      });
    if (field === 'type' && want !== got) break; // nothing else is comparable
  }
  return drifts;
}

/**
 * Every difference between a measurement and what is on disk: paths added, removed or
 * changed. `allowed` names paths the host itself adds (mount points), which are expected
 * to exist as directories and are not drift.
 */
export function diffTree(
  expected: readonly MeasuredEntry[],
  observed: ReadonlyMap<string, ObservedEntry>,
  allowed: ReadonlySet<string> = new Set(),
): Drift[] {
  const drifts: Drift[] = [];
  const measured = new Set<string>();
  for (const e of expected) {
    measured.add(e.path);
    const o = observed.get(e.path);
    if (!o) drifts.push({ kind: 'removed', path: e.path, expected: e.type });
    else drifts.push(...diffEntry(e, o));
  }
  for (const [path, o] of observed)
    if (!measured.has(path) && !(allowed.has(path) && o.type === 'dir'))
      drifts.push({ kind: 'added', path, actual: o.type });
  return drifts;
}
