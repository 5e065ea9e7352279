import * as z from 'zod';
import { isDigest, type Digest } from '../../domain/digest.js';
import {
  DETECTORS,
  INSTANCE_STATES,
  INTEGRITIES,
  type Evidence,
  type ObservedInstance,
  type PreviousInstance,
} from '../../domain/instance.js';
import { wireTime } from './wire-time.js';

/** A digest on the wire (its syntax; a digest is checked against its bytes elsewhere). */
export const digest: z.ZodType<Digest, string> = z
  .string()
  .refine(isDigest, 'a digest (sha256:<64 lowercase hex digits>)');

export const evidence: z.ZodType<Evidence> = z.looseObject({
  detector: z.enum(DETECTORS),
  path: z.string(),
  expected: z.string(),
  actual: z.string(),
  time: wireTime,
});

/**
 * An instance as its host reports it (GET /v1/fleets, /v1/drift, a debug session). Loose:
 * a field a newer server adds passes through to `-o json` instead of being dropped.
 */
export const observedInstance: z.ZodType<ObservedInstance> = z.looseObject({
  id: z.string(),
  fleet: z.string(),
  artifact: digest,
  state: z.enum(INSTANCE_STATES),
  reason: z.string().exactOptional(),
  address: z.string().exactOptional(),
  /** The TCP ports its image exposes, at `address`. */
  ports: z.array(z.number().int().min(1).max(65535)).max(64).exactOptional(),
  host: z.string().exactOptional(),
  pid: z.number().exactOptional(),
  startedAt: wireTime.exactOptional(),
  release: z.string().exactOptional(),
  healthySince: wireTime.exactOptional(),
  integrity: z.enum(INTEGRITIES).exactOptional(),
  evidence: z.array(evidence).exactOptional(),
  heldUntil: wireTime.exactOptional(),
  exit: z
    .looseObject({
      code: z.number().exactOptional(),
      signal: z.string().exactOptional(),
      oomKilled: z.boolean(),
      at: wireTime,
      lastLine: z.string().exactOptional(),
    })
    .exactOptional(),
});

/** One rootfs verified in full (POST /v1/verify-instances), with what differed. */
export const verifiedRootfs = z.looseObject({
  artifact: digest,
  instances: z.array(z.string()),
  drift: z.array(
    z.object({
      kind: z.enum(['added', 'removed', 'changed']),
      path: z.string(),
      field: z.string().exactOptional(),
      expected: z.string().exactOptional(),
      actual: z.string().exactOptional(),
    }),
  ),
});
export type VerifiedRootfs = z.output<typeof verifiedRootfs>;

// The record of a session must always fit in the ledger: every field is bounded, and
// nothing that could garble a log line (control characters) gets in.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
/** A bounded string with no control characters (nothing that could garble a log line). */
export const printable = (max: number) =>
  z
    .string()
    .max(max)
    .refine((s) => !CONTROL.test(s), 'no control characters');

/** Break-glass sessions last 15 minutes unless asked otherwise, and at most a day. */
export const DEFAULT_DEBUG_TTL_S = 900;
const MAX_DEBUG_TTL_S = 86_400;

/** POST /v1/instances/:id/debug: who opens a session, why, for what, how long. */
export const debugRequest = z.strictObject({
  reason: printable(1000).trim().min(1, 'a reason is required'),
  who: printable(200).min(1),
  command: z
    .array(printable(1024))
    .min(1)
    .max(32)
    .refine((args) => args.join(' ').length <= 4096, 'at most 4096 characters in all'),
  ttlSeconds: z.number().int().min(1).max(MAX_DEBUG_TTL_S).default(DEFAULT_DEBUG_TTL_S),
});

export const debugClosed = z.object({ id: z.string(), closed: z.literal(true) });

/** How much of an instance's log one answer carries at most (GET /v1/instances/:id/logs). */
export const MAX_LOG_ANSWER_BYTES = 4 * 1024 * 1024;

/**
 * `from`: a byte offset into the instance's log, as the previous answer's `size` gave it.
 * `since` (without `from`): from the first byte the host's agent saw at or after that time
 * (core/runtime/log-marks.ts). `tail`: only the last that many lines of it, cut by the host on
 * the log's bytes (so that `start` is right whatever the text decodes to). `marks=1`: with the
 * time marks that cover the answer's text.
 */
export const logsQuery = z.object({
  from: z
    .string()
    .regex(/^\d{1,15}$/, 'a byte offset')
    .exactOptional(),
  since: wireTime.exactOptional(),
  tail: z
    .string()
    .regex(/^\d{1,9}$/, 'a number of lines')
    .meta({
      description:
        "Only the last that many lines, cut on the log's bytes (so `start` is right whatever the text decodes to).",
    })
    .exactOptional(),
  marks: z.literal('1').exactOptional(),
});
export type LogsQuery = z.output<typeof logsQuery>;

/**
 * The instance's log from `start` (at most the last MAX_LOG_ANSWER_BYTES of it), and its size
 * now: ask again `from` that size for what it writes next. `start` is below the asked offset
 * when the log was rotated meanwhile (its text starts over).
 */
export const instanceLogs = z.object({
  id: z.string(),
  text: z.string().meta({
    description:
      'The log from `start` to `size`, decoded as UTF-8: a byte that is not UTF-8 is U+FFFD (so `start` and offsets count the log, not this text encoded again).',
  }),
  start: z.number().int().min(0),
  size: z.number().int().min(0),
  /**
   * Asked with `marks=1`: when the host's agent saw the log reach each offset, oldest first,
   * through the first mark past the text (bytes past the last were seen by `at`). `lines`:
   * how many of the text's lines began before `offset`, counted on the log's bytes: what
   * stamps the lines, since `text` is decoded (each byte that is not UTF-8 becomes U+FFFD,
   * three bytes when encoded again) and its byte offsets no longer match the log's. Absent
   * from an older host: then counted on the text encoded again (right only for UTF-8).
   */
  marks: z
    .array(
      z.strictObject({
        at: wireTime,
        offset: z
          .number()
          .int()
          .min(0)
          .meta({ description: "The log's length in bytes when the agent saw it." }),
        lines: z
          .number()
          .int()
          .min(0)
          .meta({
            description:
              "How many of the text's lines began before `offset` (counted on the log's bytes): a line is stamped with the `at` of the first mark that counts it, or the answer's `at`. Absent from an older host.",
          })
          .exactOptional(),
      }),
    )
    .max(100_000)
    .exactOptional(),
  /** When the host read the log for this answer. */
  at: wireTime.exactOptional(),
});
export type InstanceLogs = z.output<typeof instanceLogs>;

/** What is kept of an instance whose process exited (GET /v1/instances/:id/previous). */
export const previousInstance: z.ZodType<PreviousInstance> = z.looseObject({
  id: z.string(),
  fleet: z.string(),
  artifact: digest,
  release: z.string().exactOptional(),
  startedAt: wireTime.exactOptional(),
  reason: z.string().exactOptional(),
  exit: z.looseObject({
    code: z.number().exactOptional(),
    signal: z.string().exactOptional(),
    oomKilled: z.boolean(),
    at: wireTime,
    lastLine: z.string().exactOptional(),
  }),
  output: z.string(),
});
