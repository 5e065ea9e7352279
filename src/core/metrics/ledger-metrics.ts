import { isErrorCode } from '../../domain/error-codes.js';
import { isInstanceId } from '../../domain/instance.js';
import type { StopReason } from '../../domain/fleet.js';
import { POLICY_REASON_CODES } from '../../domain/policy.js';
import type { LedgerEntryDraft } from '../ledger/entry.js';

/**
 * The server's domain counters, derived from the ledger's events alone: whatever the ledger
 * records is counted, and nothing that it does not. One source, so the numbers a scrape shows
 * and the history an auditor reads cannot disagree, and no service carries a counter.
 *
 * Every label value is one of a closed set or a fleet name (validated, and capped in number
 * by the adapter): a label a caller could choose freely would let whoever writes events (a
 * host of a cluster, a deploy) grow the metrics without bound — one series per value, kept
 * in memory for the life of the process.
 */
export const COUNTERS = {
  ingot_rollouts_started_total: {
    help: 'Rollouts started: a deploy of a new release, or of a refused, failed or rolled-back one again',
    labels: ['fleet', 'strategy'],
  },
  ingot_rollouts_completed_total: {
    help: 'Rollouts that reached their final shape: the release became the stable one',
    labels: ['fleet'],
  },
  ingot_rollouts_rolled_back_total: {
    help: 'Rollbacks: "automatic" (the controller, the release failed) or "manual" (ingot rollback)',
    labels: ['fleet', 'reason'],
  },
  ingot_rollouts_failed_total: {
    help: 'Rollouts that ended with nothing to go back to: "refused" by admission, or "failed" (it could not start)',
    labels: ['fleet', 'verdict'],
  },
  ingot_admission_decisions_total: {
    help: 'Admission decisions: where (deploy or host), allowed, and the first refusal code ("ok" when allowed)',
    labels: ['where', 'allowed', 'code'],
  },
  ingot_drift_detections_total: {
    help: 'Drift findings: new evidence that an instance differs from its artifact (files, executables, mounts)',
    labels: ['fleet'],
  },
  ingot_replacements_total: {
    help: 'Instances the controller replaced, by cause',
    labels: ['fleet', 'reason'],
  },
  ingot_instance_starts_total: {
    help: 'Instances started',
    labels: ['fleet'],
  },
  ingot_instance_stops_total: {
    help: 'Instances stopped',
    labels: ['fleet'],
  },
} as const;

export type CounterName = keyof typeof COUNTERS;

/** One increment: a counter and its labels. */
export interface CounterSample {
  readonly name: CounterName;
  readonly labels: Readonly<Record<string, string>>;
}

/** What stands for a value outside its closed set (or a fleet name past the cap). */
export const OTHER = 'other';

const STRATEGIES = ['rolling', 'canary', 'blueGreen'] as const;
const REPLACE_CAUSES: ReadonlySet<string> = new Set<StopReason | 'host-lost'>([
  'tainted',
  'unhealthy',
  'old-release',
  'aged',
  'surplus',
  'host-lost',
]);
/** What a `rollout-*` entry's kind names, and the counter each goes to. */
const VERDICTS = ['refused', 'failed'] as const;

const POLICY_CODES: ReadonlySet<string | null | undefined> = new Set(POLICY_REASON_CODES);

/** A fleet name as fleet.yaml allows it, else OTHER: a label never holds arbitrary text. */
export function fleetLabel(fleet: string | undefined): string {
  return fleet !== undefined && fleet.length <= 30 && isInstanceId(fleet) ? fleet : OTHER;
}

function oneOf(value: unknown, allowed: Iterable<string>): string {
  return typeof value === 'string' && new Set(allowed).has(value) ? value : OTHER;
}

/**
 * The code of an admission refusal: the first reason's trailing "(E_…)", if it is one of
 * Ingot's error or policy codes. Reasons are text written by the verifier; only the code is a label.
 */
export function refusalCode(detail: Readonly<Record<string, unknown>>): string {
  if (detail['allowed'] === true) return 'ok';
  const reasons = detail['reasons'];
  const first = Array.isArray(reasons) ? (reasons[0] as unknown) : undefined;
  const code = typeof first === 'string' ? /\((E_[A-Z0-9_]{1,60})\)$/.exec(first)?.[1] : null;
  return isErrorCode(code) || POLICY_CODES.has(code) ? code! : OTHER;
}

/** The counters one ledger event moves (none for most kinds). Pure. */
export function countersOf(entry: LedgerEntryDraft): CounterSample[] {
  const fleet = fleetLabel(entry.fleet);
  const d = entry.detail;
  const one = (name: CounterName, labels: Record<string, string> = {}): CounterSample[] => [
    { name, labels: { fleet, ...labels } },
  ];
  switch (entry.kind) {
    case 'deploy':
      // A deploy that only resizes the running release starts no rollout.
      return d['rollout'] === 'started'
        ? one('ingot_rollouts_started_total', { strategy: oneOf(d['strategy'], STRATEGIES) })
        : [];
    case 'rollout-complete':
      return one('ingot_rollouts_completed_total');
    case 'rollout-refused':
    case 'rollout-failed':
      return one('ingot_rollouts_failed_total', {
        verdict: oneOf(entry.kind.slice('rollout-'.length), VERDICTS),
      });
    case 'rollback':
      return one('ingot_rollouts_rolled_back_total', {
        reason: entry.actor === 'controller' ? 'automatic' : 'manual',
      });
    case 'admission':
      return [
        {
          name: 'ingot_admission_decisions_total',
          labels: {
            where: oneOf(d['where'], ['deploy', 'host']),
            allowed: d['allowed'] === true ? 'true' : 'false',
            code: refusalCode(d),
          },
        },
      ];
    case 'drift':
      return one('ingot_drift_detections_total');
    case 'instance-replaced':
      return one('ingot_replacements_total', { reason: oneOf(d['cause'], REPLACE_CAUSES) });
    case 'instance-started':
      return one('ingot_instance_starts_total');
    case 'instance-stopped':
      return one('ingot_instance_stops_total');
    default:
      return [];
  }
}
