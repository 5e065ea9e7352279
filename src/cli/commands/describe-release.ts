import type { HistoryAnswer, ReleaseAnswer, ReleaseAtAnswer } from '../../core/api/fleets.js';
import { releaseDiff, type ReleaseDiff } from '../../core/fleet/release-diff.js';
import { shortDigest } from '../../domain/digest.js';
import { IngotError } from '../../domain/errors.js';
import type { ObservedInstance } from '../../domain/instance.js';
import { formatAge } from '../format.js';
import type { FleetView } from './fleets/fleet-view.js';
import { eventLines } from './describe-events.js';
import { addressText } from './fleets/status.js';

/** "web" or "web@3": a fleet, and one of its releases by number (none: the current one). */
export function parseReleaseRef(ref: string): { fleet: string; number: number | null } {
  const at = ref.lastIndexOf('@');
  if (at < 0) return { fleet: ref, number: null };
  const n = ref.slice(at + 1);
  if (!/^[1-9]\d{0,8}$/.test(n))
    throw new IngotError(
      'E_USAGE',
      `${JSON.stringify(ref)}: after @ comes a release number (1, 2, …), as \`ingot describe fleet ${ref.slice(0, at)}\` lists them`,
    );
  return { fleet: ref.slice(0, at), number: Number(n) };
}

/** What `describe release` shows, as data: `-o json` prints it as it is. */
export interface ReleaseDescription {
  readonly release: ReleaseAnswer;
  /** The fleet runs it now (its record's release). */
  readonly current: boolean;
  /** The release before it, by number; null for the fleet's first. */
  readonly previous: number | null;
  /** What it changed from the release before (env names only, never their values). */
  readonly diff: ReleaseDiff;
  /** The deploy that made it: who, when, why (null: none in the history, e.g. trimmed). */
  readonly deployed: HistoryAnswer | null;
  readonly instances: readonly ObservedInstance[];
  /** The history lines that name it, oldest first (at most a page: describe.ts). */
  readonly events: readonly HistoryAnswer[];
}

/**
 * The release's path parameter: its number, or for FLEET alone the digest the fleet runs now
 * (after a rollback that is not the newest release, so "the newest" would be wrong).
 */
export const releaseParam = (fleet: FleetView, number: number | null): string =>
  number === null ? fleet.release : String(number);

/**
 * Gather one release of a fleet from the API's answers: it and the one before it (one
 * request: GET /v1/fleets/:name/releases/:release), the diff between them (the plan's,
 * core/fleet/release-diff.ts), its instances and its events: the history lines that name it,
 * oldest first, as `GET /v1/history?fleet=&subject=DIGEST` selects them. Pure.
 */
export function releaseDescription(
  fleet: FleetView,
  found: ReleaseAtAnswer,
  events: readonly HistoryAnswer[],
): ReleaseDescription {
  const { release, previous: before } = found;
  const diff = releaseDiff(
    before === null
      ? null
      : { spec: before.spec, release: before.digest, artifact: before.artifact },
    { ...release, createdAt: Date.parse(release.createdAt) },
  );
  return {
    release,
    current: release.digest === fleet.release,
    previous: before?.number ?? null,
    diff,
    deployed: events.find((h) => h.kind === 'deploy') ?? null,
    instances: fleet.instances.filter((i) => i.release === release.digest),
    events,
  };
}

/** `ingot describe release`, for people. Pure (`now` given). */
export function describeRelease(d: ReleaseDescription, now: number): string {
  const r = d.release;
  const ago = (iso: string) => `${iso} (${formatAge(now - Date.parse(iso))} ago)`;
  const by = d.deployed;
  const lines = [
    `release:    ${r.number} of ${r.fleet}${d.current ? ' (current)' : ''}`,
    `digest:     ${r.digest}`,
    `artifact:   ${r.artifact} (${r.spec.artifact})`,
    `created:    ${ago(r.createdAt)}`,
    `deployed:   ${by === null ? '-' : `by ${by.actor || '-'}, ${ago(by.time)}`}`,
    `why:        ${by?.reason ?? '-'}`,
    `env:        ${Object.keys(r.spec.env).sort().join(', ') || '-'}`,
    '',
    ...diffLines(d),
    '',
    ...instanceLines(d.instances),
    '',
    ...eventLines(d.events, now),
  ];
  return lines.join('\n') + '\n';
}

function diffLines(d: ReleaseDescription): string[] {
  if (d.previous === null) return ["changes:    none: the fleet's first release"];
  const { artifact, env, settings } = d.diff;
  const show = (v: unknown) => (v === null || v === undefined ? '-' : JSON.stringify(v));
  const envChanges = [
    ...env.added.map((k) => `+${k}`),
    ...env.removed.map((k) => `-${k}`),
    ...env.changed.map((k) => `~${k}`),
  ];
  const lines = [
    ...(artifact.from !== artifact.to
      ? [
          `  artifact:  ${artifact.from ? shortDigest(artifact.from) : '-'} (${artifact.fromName ?? '-'}) → ${shortDigest(artifact.to)} (${artifact.toName})`,
        ]
      : []),
    ...(envChanges.length > 0 ? [`  env:       ${envChanges.join(' ')} (names only)`] : []),
    ...settings.map((s) => `  ${`${s.field}:`.padEnd(10)} ${show(s.from)} → ${show(s.to)}`),
  ];
  return [`changes:    from release ${d.previous}${lines.length === 0 ? ': none' : ''}`, ...lines];
}

function instanceLines(instances: readonly ObservedInstance[]): string[] {
  if (instances.length === 0) return ['instances:  none'];
  return [
    'instances:',
    ...instances.map(
      (i) =>
        `  ${i.id}  ${i.state}${i.reason ? ` (${i.reason})` : ''}  ${i.host ?? 'this machine'}  ${addressText(i)}`,
    ),
  ];
}
