import type { MeasuredEntry } from '../../domain/measurement.js';
import { diffEntry, type Drift, type ObservedEntry } from './diff.js';
import { describeDrift, type Finding } from './evidence.js';

/**
 * The drift of paths a file event named, against the measurement. `observe` reads one path
 * (null: nothing there). A path it cannot read fails closed, as drift: what cannot be read
 * cannot be shown to be as measured. Pure, given `observe`.
 */
export function changedPathDrifts(
  paths: readonly string[],
  measured: ReadonlyMap<string, MeasuredEntry>,
  allowed: ReadonlySet<string>,
  observe: (path: string) => ObservedEntry | null,
): Drift[] {
  const drifts: Drift[] = [];
  for (const path of paths) {
    let observed: ObservedEntry | null;
    try {
      observed = observe(path);
    } catch (err) {
      drifts.push({
        kind: 'changed',
        path,
        field: 'type',
        expected: 'readable',
        actual: err instanceof Error ? err.message : 'unreadable',
      });
      continue;
    }
    const expected = measured.get(path);
    if (!expected) {
      if (observed && !(observed.type === 'dir' && allowed.has(path)))
        drifts.push({ kind: 'added', path, actual: observed.type });
    } else if (!observed) drifts.push({ kind: 'removed', path, expected: expected.type });
    else drifts.push(...diffEntry(expected, observed));
  }
  return drifts;
}

/**
 * What a file event proves: never nothing. Nothing may write to a rootfs: a change that
 * reads as measured again (written, run, restored; or renamed over with an identical copy)
 * is a change all the same. Pure.
 */
export function changedPathFindings(paths: readonly string[], drifts: readonly Drift[]): Finding[] {
  const findings = drifts.map(describeDrift);
  if (findings.length === 0)
    findings.push({
      path: paths[0] ?? '/',
      expected: 'no change on disk',
      actual: `changed on disk (${paths.length} path(s)), though it reads as measured now`,
    });
  return findings;
}
