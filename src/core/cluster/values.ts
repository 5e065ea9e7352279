import * as z from 'zod';
import {
  isNodeName,
  type Assignment,
  type HostRegistration,
  type LeaderRecord,
  type MemberRecord,
} from '../../domain/cluster.js';
import { IngotError } from '../../domain/errors.js';
import type { DesiredInstance, ObservedInstance } from '../../domain/instance.js';
import { digest, observedInstance } from '../api/instances.js';
import { checkDesired } from '../runtime/desired.js';

/**
 * The values kept in etcd, as JSON. Every value is read as hostile: another process wrote it
 * (a host writes its own registration and status, and a host can be compromised), so each is
 * bounded before it is parsed and checked field by field after. A value that fails is
 * reported with every bad field, never half-used.
 */

const KIB = 1024;
/** Bounds per kind, far under etcd's 1.5 MiB request limit and small enough to list thousands. */
export const MAX_BYTES = {
  registration: 8 * KIB,
  assignment: 64 * KIB,
  status: 64 * KIB,
  leader: 4 * KIB,
  member: 1 * KIB,
} as const;
export type ValueKind = keyof typeof MAX_BYTES;

/**
 * One transaction's keys and values add up to at most this; a single value over it goes alone
 * (it is at most its kind's bound). Larger writes (a host's full report, a leader's pass over a
 * host) are cut into several transactions.
 */
export const MAX_TXN_BYTES = 64 * KIB;

/**
 * What etcd's members are started with as `--max-request-bytes` (etcd's default is 1.5 MiB): a
 * host's credentials write its own status and registration, and a compromised host must not put
 * more than this in one request. Ingot's own largest request is one value at its bound
 * (64 KiB) or one transaction of MAX_TXN_BYTES, plus keys (at most ~130 bytes each), the
 * leader's fence and etcd's framing (~16 bytes an operation, 128 at most: ~2 KiB), so under
 * 67 KiB; 96 KiB leaves a margin of about 30 KiB. (Measured: a healthy instance's status is
 * ~380 bytes, an assignment ~450.)
 */
export const ETCD_MAX_REQUEST_BYTES = 96 * KIB;

const nodeName = z.string().refine(isNodeName, 'a DNS label (a-z, 0-9, inner hyphens, ≤ 63)');
const isoTime = z.iso.datetime({ offset: true });
const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const printable = (max: number) =>
  z
    .string()
    .max(max)
    .regex(/^[\x20-\x7e]*$/, 'printable ASCII');

const LABEL_KEY = /^[a-z0-9](?:[a-z0-9._/-]{0,61}[a-z0-9])?$/;
const LABEL_VALUE = /^(?:[A-Za-z0-9](?:[A-Za-z0-9._-]{0,61}[A-Za-z0-9])?)?$/;

const registration: z.ZodType<HostRegistration> = z.strictObject({
  name: nodeName,
  labels: z
    .record(
      z.string().regex(LABEL_KEY, 'a label name'),
      z.string().regex(LABEL_VALUE, 'a label value'),
    )
    .refine((l) => Object.keys(l).length <= 32, 'at most 32 labels'),
  capacity: z.strictObject({
    memoryBytes: count,
    cpus: z.number().min(0).max(65_536),
    pids: count,
  }),
  agent: printable(64),
  api: printable(256)
    .regex(/^https?:\/\/[^/?#@\s]+$/, 'http(s)://ADDR:PORT')
    .exactOptional(),
  startedAt: isoTime,
});

const pair = z.tuple([z.string().max(4 * KIB), z.string().max(32 * KIB)]);

/**
 * What a host is told to run. Strict: a field this agent does not know could be one that
 * matters (a limit, a mount), and an instance is never run with part of its spec ignored.
 */
const desiredInstance: z.ZodType<DesiredInstance> = z.strictObject({
  id: z.string().max(48),
  fleet: z.string().max(48),
  artifact: digest,
  source: z
    .string()
    .max(2 * KIB)
    .exactOptional(),
  release: z.string().max(256).exactOptional(),
  env: z.array(pair).max(1024).exactOptional(),
  volumes: z.array(pair).max(256).exactOptional(),
  resources: z
    .strictObject({
      memoryBytes: count.exactOptional(),
      cpus: z.number().min(0).max(65_536).exactOptional(),
      pids: count.exactOptional(),
    })
    .exactOptional(),
  stopGraceMs: z.number().exactOptional(),
});

const assignment: z.ZodType<Assignment> = z.strictObject({
  instance: desiredInstance,
  epoch: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
});

const leader: z.ZodType<LeaderRecord> = z.strictObject({
  name: nodeName,
  api: printable(512).exactOptional(),
  since: isoTime,
});

const member: z.ZodType<MemberRecord> = z.strictObject({
  name: nodeName,
  admittedAt: isoTime,
});

interface Kinds {
  registration: HostRegistration;
  assignment: Assignment;
  status: ObservedInstance;
  leader: LeaderRecord;
  member: MemberRecord;
}

const SCHEMAS: { [K in ValueKind]: z.ZodType<Kinds[K]> } = {
  registration,
  assignment,
  status: observedInstance,
  leader,
  member,
};

export type Decoded<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

/** Checks beyond the schema: the grammar the agent relies on for paths and container names. */
function semantic(kind: ValueKind, value: unknown): string | null {
  if (kind !== 'assignment') return null;
  try {
    checkDesired([(value as Assignment).instance]);
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/**
 * A field's path as a reason names it. Record keys come from the hostile value itself: any
 * that is not a plain word is quoted (control characters escaped) and cut short.
 */
function pathText(path: readonly PropertyKey[]): string {
  return path
    .map((p) =>
      typeof p === 'number'
        ? `[${p}]`
        : typeof p === 'string' && /^[A-Za-z0-9_]{1,64}$/.test(p)
          ? p
          : JSON.stringify(String(p).slice(0, 64)),
    )
    .join('.');
}

/** A value as etcd gave it, bounded, parsed and checked; every problem said at once. */
export function decodeValue<K extends ValueKind>(kind: K, bytes: Uint8Array): Decoded<Kinds[K]> {
  if (bytes.byteLength > MAX_BYTES[kind])
    return {
      ok: false,
      reason: `${bytes.byteLength} bytes, over the ${MAX_BYTES[kind]}-byte bound`,
    };
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return { ok: false, reason: 'not UTF-8 JSON' };
  }
  const parsed = SCHEMAS[kind].safeParse(json);
  if (!parsed.success)
    return {
      ok: false,
      reason: parsed.error.issues
        .slice(0, 20)
        .map((i) => `${i.path.length > 0 ? pathText(i.path) : '(value)'}: ${i.message}`)
        .join('; '),
    };
  const problem = semantic(kind, parsed.data);
  return problem === null ? { ok: true, value: parsed.data } : { ok: false, reason: problem };
}

/**
 * A value as it is written: checked by the same rules it will be read with, so that this
 * process never writes what another would refuse.
 */
export function encodeValue<K extends ValueKind>(kind: K, value: Kinds[K]): string {
  const text = JSON.stringify(value);
  const decoded = decodeValue(kind, new TextEncoder().encode(text));
  if (!decoded.ok)
    throw new IngotError(
      'E_CLUSTER_VALUE',
      `refusing to write a ${kind} that would not be read back: ${decoded.reason}`,
    );
  return text;
}
