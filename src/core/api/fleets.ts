import * as z from 'zod';
import {
  ROLLOUT_STATES,
  type FleetRecord,
  type HistoryEntry,
  type NumberedRelease,
} from '../fleet/record.js';
import { MAX_HISTORY_PAGE } from '../fleet/history-page.js';
import { MAX_RELEASE_PAGE } from '../fleet/release-page.js';
import { isDigest, type Digest } from '../../domain/digest.js';
import type { FleetSpec } from '../fleet/spec.js';
import { digest, observedInstance } from './instances.js';
import { maybeTimeOnWire, timeOnWire, wireTime } from './wire-time.js';

/**
 * A deployed spec, as the store keeps it (durations already in milliseconds): it is not
 * fleet.yaml and must not be parsed as one again.
 */
const deployedSpec = z.custom<FleetSpec>(
  (v) => typeof v === 'object' && v !== null && !Array.isArray(v),
  'a deployed fleet spec',
);

/** The times of a fleet's record, which the wire carries as RFC 3339 (wire-time.ts). */
type RecordTimes = 'rolloutStartedAt' | 'stepStartedAt' | 'stepReadyAt' | 'pausedAt';

/** A fleet's record as the API answers it: as stored, with its times as RFC 3339 strings. */
export type FleetRecordAnswer = Omit<FleetRecord, RecordTimes> & {
  readonly rolloutStartedAt: string;
  readonly stepStartedAt: string;
  readonly stepReadyAt: string | null;
  readonly pausedAt: string | null;
};

/** A stored record as the API answers it. Pure. */
export function fleetOnWire(f: FleetRecord): FleetRecordAnswer {
  return {
    ...f,
    rolloutStartedAt: timeOnWire(f.rolloutStartedAt),
    stepStartedAt: timeOnWire(f.stepStartedAt),
    stepReadyAt: maybeTimeOnWire(f.stepReadyAt),
    pausedAt: maybeTimeOnWire(f.pausedAt),
  };
}

/** A fleet's record. Loose: a field a newer server adds passes through to `-o json`. */
export const fleetRecord: z.ZodType<FleetRecordAnswer> = z.looseObject({
  name: z.string(),
  spec: deployedSpec,
  release: digest,
  artifact: digest,
  previous: digest.nullable(),
  rollout: z.enum(ROLLOUT_STATES),
  rolloutStartedAt: wireTime,
  reason: z.string().nullable(),
  stable: digest.nullable(),
  step: z.number(),
  stepStartedAt: wireTime,
  stepReadyAt: wireTime.nullable(),
  /** Absent from a server older than `ingot pause`: never paused. */
  pausedAt: wireTime.nullable().default(null),
  version: z.number(),
});

/** A fleet as `GET /v1/fleets` shows it: its record, where its rollout stands, its instances. */
export const fleetView = z.intersection(
  fleetRecord,
  z.looseObject({
    /** Where the rollout stands, for people. */
    phase: z.string(),
    /** A preview or canary step is ready and waits for `ingot promote`. */
    awaitingPromotion: z.boolean(),
    /**
     * What the rollout waits for when it waits for time or a person (core/controller/waiting.ts):
     * `ingot deploy --wait` returns on it. Absent: it does not wait (or an older server).
     */
    waiting: z
      .discriminatedUnion('for', [
        z.strictObject({ for: z.literal('promotion') }),
        z.strictObject({ for: z.literal('pause'), remainingMs: z.number() }),
        z.strictObject({ for: z.literal('resume'), since: wireTime }),
      ])
      .exactOptional(),
    /** Why the last reconcile pass could not do everything (budgets, admission). */
    reasons: z.array(z.string()),
    instances: z.array(observedInstance),
    /** Through the edge (a fleet with a service): what its listen answered since its step began. */
    traffic: z
      .strictObject({
        requests: z.number().int().min(0),
        newShare: z.number().min(0).max(100).nullable(),
        newErrors: z.number().int().min(0),
        newRequests: z.number().int().min(0),
      })
      .exactOptional(),
  }),
);
export type FleetView = z.output<typeof fleetView>;

/** POST /v1/fleets/:name/rollback. */
export const rollbackRequest = z.object({ to: digest.exactOptional() });

/**
 * Why a person made a change (`--reason`), for the history's WHY and the ledger. Printed in
 * terminals and pages: nothing invisible that changes what is read (an escape sequence would
 * rewrite an operator's terminal, a bidi override reorder the words), and bounded.
 */
export const changeReason = z
  .string()
  .min(1, 'say why in at least one character')
  .max(300, 'at most 300 characters')
  // Control characters (escapes, newlines), format characters (bidi overrides, zero-width),
  // line and paragraph separators and lone surrogates: each can make the text read otherwise
  // than it is.
  .regex(
    /^[^\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]*$/u,
    'no control characters (newlines, escapes, bidi overrides, zero-width)',
  );

/** The query of every change by hand (deploy, rollback, promote, pause, resume, abort). */
export const changeQuery = z.object({ reason: changeReason.exactOptional() });

/** POST /v1/fleets/:name/promote. */
export const promoteRequest = z.object({ full: z.boolean().exactOptional() });

/** A line of a fleet's history as the API answers it: its time as RFC 3339. */
export type HistoryAnswer = Omit<HistoryEntry, 'time'> & { readonly time: string };

/** A stored history line as the API answers it. Pure. */
export const historyOnWire = (e: HistoryEntry): HistoryAnswer => ({
  ...e,
  time: timeOnWire(e.time),
});

export const historyEntry: z.ZodType<HistoryAnswer> = z.looseObject({
  seq: z.number(),
  time: wireTime,
  fleet: z.string(),
  kind: z.string(),
  detail: z.string(),
  actor: z.string(),
  reason: z.string().exactOptional(),
});

/** A history line's seq as a query names it: 1, 2, … (no sign, no leading zero, a safe integer). */
const SEQ = /^[1-9]\d{0,14}$/;

/**
 * A subject as `?subject=` names it: a digest, or an instance id (lowercase letters, digits,
 * "-", as instance ids are made). Bounded, so a request cannot make the store compare a
 * megabyte against every key of the index.
 */
const SUBJECT = /^(?:sha256:[0-9a-f]{64}|[a-z0-9][a-z0-9-]{0,127})$/;

/**
 * A page's `limit=N` of `what` ("lines", "releases"): one value, the digits of a number from 1
 * to `max` (a repeated parameter arrives as a list and is refused).
 */
const pageLimit = (digits: RegExp, max: number, what: string) =>
  z
    .string({ error: `one number, 1 to ${max}` })
    .regex(digits, `a number of ${what}, 1 to ${max}`)
    .transform(Number)
    .pipe(z.number().max(max, `at most ${max} ${what} a page`))
    .exactOptional();

/** A page's `before=N`: one value, the digits of the number the last answer gave as `next`. */
const pageCursor = (digits: RegExp, one: string, hint: string) =>
  z.string({ error: one }).regex(digits, hint).transform(Number).exactOptional();

/**
 * GET /v1/history?fleet=NAME&subject=S&limit=N&before=SEQ. Each is one value: a repeated
 * parameter arrives as a list and is refused, as is a number that is not the digits of one in
 * range. `subject` needs `fleet`: its index is the fleet's (a digest or an instance id names
 * something of one fleet).
 */
export const historyQuery = z
  .object({
    fleet: z.string({ error: 'one name' }).exactOptional(),
    subject: z
      .string({ error: 'one digest or instance id' })
      .regex(SUBJECT, 'a digest (sha256:…) or an instance id')
      .exactOptional(),
    limit: pageLimit(SEQ, MAX_HISTORY_PAGE, 'lines'),
    before: pageCursor(SEQ, 'one seq', "a line's seq (1, 2, …): the answer's `next`"),
  })
  .refine((q) => q.subject === undefined || q.fleet !== undefined, {
    message: "name the fleet too (`fleet=NAME`): a subject is looked up in its fleet's lines",
    path: ['subject'],
  });

/** One page of history, newest first; `next`: ask `before` it for the page after (null: none). */
export const historyPageAnswer = z.looseObject({
  history: z.array(historyEntry),
  next: z.number().int().min(1).nullable(),
});
export type HistoryPageAnswer = z.output<typeof historyPageAnswer>;

/**
 * One release of a fleet: numbered from 1 in the order the fleet's releases were made, as
 * `ingot describe release FLEET@N` names them (the store gives the number; it never changes).
 */
export type ReleaseAnswer = Omit<NumberedRelease, 'createdAt'> & { readonly createdAt: string };

/** A stored release as the API answers it. Pure. */
export const releaseOnWire = (r: NumberedRelease): ReleaseAnswer => ({
  ...r,
  createdAt: timeOnWire(r.createdAt),
});

export const releaseAnswer: z.ZodType<ReleaseAnswer> = z.looseObject({
  number: z.number().int().min(1),
  digest,
  fleet: z.string(),
  artifact: digest,
  spec: deployedSpec,
  createdAt: wireTime,
});

/** A release number as a query or path names it: 1, 2, … (no sign, no leading zero). */
const RELEASE_NUMBER = /^[1-9]\d{0,8}$/;

/**
 * GET /v1/fleets/:name/releases?limit=N&before=M. Each is one value: a repeated parameter
 * arrives as a list and is refused, as is anything but the digits of a number in range.
 */
export const releasesQuery = z.object({
  limit: pageLimit(RELEASE_NUMBER, MAX_RELEASE_PAGE, 'releases'),
  before: pageCursor(
    RELEASE_NUMBER,
    'one release number',
    "a release number (1, 2, …): the answer's `next`",
  ),
});

/** One page of a fleet's releases, newest first; `next`: ask `before` it for the page after. */
export const releasePageAnswer = z.looseObject({
  releases: z.array(releaseAnswer),
  next: z.number().int().min(1).nullable(),
});
export type ReleasePageAnswer = z.output<typeof releasePageAnswer>;

/**
 * GET /v1/fleets/:name/releases/:release: one release, and the one made before it (the diff's
 * other side; null for the fleet's first).
 */
export const releaseAtAnswer = z.looseObject({
  release: releaseAnswer,
  previous: releaseAnswer.nullable(),
});
export type ReleaseAtAnswer = z.output<typeof releaseAtAnswer>;

/**
 * A release as a path names it: its number, or its digest (what `ingot status` shows). Null:
 * neither. Pure.
 */
export function parseReleaseParam(ref: string): { number: number } | { digest: Digest } | null {
  if (RELEASE_NUMBER.test(ref)) return { number: Number(ref) };
  return isDigest(ref) ? { digest: ref } : null;
}

const stopReason = z.enum(['gone', 'tainted', 'unhealthy', 'old-release', 'aged', 'surplus']);
const started = z.object({ id: z.string(), release: z.string() });

/** POST /v1/fleets/plan: what a deploy of the body would change and do (services/fleets/plan.ts). */
export const fleetPlan = z.object({
  diff: z.object({
    fleet: z.string(),
    created: z.boolean(),
    newRelease: z.boolean(),
    release: z.object({ from: digest.nullable(), to: digest }),
    artifact: z.object({
      from: digest.nullable(),
      to: digest,
      fromName: z.string().nullable(),
      toName: z.string(),
    }),
    env: z.object({
      added: z.array(z.string()).readonly(),
      removed: z.array(z.string()).readonly(),
      changed: z.array(z.string()).readonly(),
    }),
    settings: z
      .array(
        z.object({ field: z.string(), from: z.unknown(), to: z.unknown(), release: z.boolean() }),
      )
      .readonly(),
  }),
  rollout: z.enum(ROLLOUT_STATES),
  instances: z.object({
    next: z.object({
      start: z.array(started).readonly(),
      stop: z.array(z.object({ id: z.string(), reason: stopReason })).readonly(),
      keep: z.array(z.string()).readonly(),
      reasons: z.array(z.string()).readonly(),
    }),
    phase: z.string(),
    steps: z.array(z.string()).readonly(),
    start: z.array(started).readonly(),
    stop: z
      .array(z.object({ id: z.string(), release: z.string().nullable(), reason: stopReason }))
      .readonly(),
    stay: z.array(z.string()).readonly(),
  }),
});
export type FleetPlanAnswer = z.output<typeof fleetPlan>;
