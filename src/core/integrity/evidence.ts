import type { Evidence } from '../../domain/instance.js';
import type { Drift } from './diff.js';

/** One difference, as people read it: where, what should be there, what is. */
export interface Finding {
  readonly path: string;
  readonly expected: string;
  readonly actual: string;
}

/**
 * At most this many pieces of evidence per check: a rootfs replaced wholesale would
 * otherwise fill the record with thousands of paths that all say the same thing.
 */
export const MAX_EVIDENCE = 20;

/** Findings of one detector at one time, as the record keeps them. Pure. */
export function toEvidence(
  detector: Evidence['detector'],
  findings: readonly Finding[],
  time: string,
): Evidence[] {
  return findings.slice(0, MAX_EVIDENCE).map((d) => ({
    detector,
    path: bounded(d.path),
    expected: bounded(d.expected),
    actual: bounded(d.actual),
    time,
  }));
}

/**
 * Evidence strings come from what an attacker controls (file names, link targets): kept
 * short, and without control characters, so that the record of them can always be written.
 */
export function bounded(text: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f]/g, '?');
  return clean.length > 512 ? `${clean.slice(0, 509)}...` : clean;
}

/** A file drift as a finding: "sha256 <measured>" expected, "sha256 <seen>" found. Pure. */
export function describeDrift(d: Drift): Finding {
  switch (d.kind) {
    case 'added':
      return { path: d.path, expected: 'nothing', actual: `${d.actual} added` };
    case 'removed':
      return { path: d.path, expected: d.expected, actual: 'removed' };
    case 'changed':
      return {
        path: d.path,
        expected: `${d.field} ${d.expected}`,
        actual: `${d.field} ${d.actual}`,
      };
  }
}
