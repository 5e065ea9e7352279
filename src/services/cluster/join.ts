import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import * as z from 'zod';
import { checkNodeName, hostUser } from '../../core/cluster/index.js';
import { entrySchema, type LedgerEntryDraft } from '../../core/ledger/index.js';
import { IngotError } from '../../domain/errors.js';
import type { CoordinationAdmin } from '../../ports/coordination.js';

/** What a host sends to join: its name. */
export const joinRequest = z.strictObject({ host: z.string().max(63) });

/** What it gets: how to reach etcd as its own user, and its credential for the servers. */
export const joinAnswer = z.strictObject({
  host: z.string(),
  etcd: z.strictObject({
    endpoints: z.array(z.string().max(256)).min(1).max(16),
    ca: z
      .string()
      .max(64 * 1024)
      .optional(),
    username: z.string().max(128),
    password: z.string().max(128),
  }),
  /** Sent as `Authorization: Host <name>:<credential>` with the host's events. */
  credential: z.string().max(128),
});
export type JoinAnswer = z.infer<typeof joinAnswer>;

export interface JoinDeps {
  readonly joinToken: string;
  readonly admin: Pick<CoordinationAdmin, 'grantHost'>;
  readonly etcd: { readonly endpoints: readonly string[]; readonly ca?: string };
  readonly record: (event: LedgerEntryDraft) => void;
  readonly now: () => number;
  readonly actor: string;
}

/**
 * A host's credential for the servers: an HMAC of its name under the join token, so that every
 * server checks it without shared state, and one host's credential names only that host.
 */
export function hostCredential(joinToken: string, host: string): string {
  return createHmac('sha256', joinToken).update(`ingot-host:${host}`).digest('hex');
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Join a host: the join token proves the caller may add hosts; the host then gets an etcd
 * user of its own (a fresh password each join), whose role reads only its assignments and
 * writes only its status and registration (core/cluster/rbac.ts). Whoever holds the join token
 * can join under any name, as with any bootstrap token: keep it as secret as the admin token.
 */
export async function joinHost(
  deps: JoinDeps,
  authorization: string | undefined,
  body: unknown,
): Promise<JoinAnswer> {
  if (authorization === undefined || !same(authorization, `Bearer ${deps.joinToken}`))
    throw new IngotError('E_CLUSTER_JOIN', 'a valid join token is required');
  const parsed = joinRequest.safeParse(body);
  if (!parsed.success) throw new IngotError('E_CLUSTER_NAME', 'the body must be {"host": NAME}');
  const host = checkNodeName(parsed.data.host);
  const password = randomBytes(24).toString('base64url');
  await deps.admin.grantHost(host, password);
  deps.record({
    time: deps.now(),
    actor: deps.actor,
    kind: 'host',
    subjects: [],
    detail: { host, state: 'joined' },
  });
  return {
    host,
    etcd: {
      endpoints: [...deps.etcd.endpoints],
      ...(deps.etcd.ca !== undefined && { ca: deps.etcd.ca }),
      username: hostUser(host),
      password,
    },
    credential: hostCredential(deps.joinToken, host),
  };
}

/** Which host a `Host <name>:<credential>` header proves, or E_CLUSTER_JOIN. */
export function authenticatedHost(joinToken: string, authorization: string | undefined): string {
  const m = /^Host ([a-z0-9-]{1,63}):([0-9a-f]{64})$/.exec(authorization ?? '');
  if (!m || !same(m[2]!, hostCredential(joinToken, m[1]!)))
    throw new IngotError('E_CLUSTER_JOIN', 'a valid host credential is required');
  return m[1]!;
}

/** A batch of a host's events: bounded, as every body is. */
export const MAX_HOST_EVENTS = 500;

const eventsBody = z.strictObject({ events: z.array(z.unknown()).max(MAX_HOST_EVENTS) });

/**
 * Record a host's ledger events (instances started, stopped, drift, admissions on the host),
 * under the host's own name (`agent@HOST`), whatever they claim; a batch with one malformed
 * event is refused whole.
 */
export function recordHostEvents(
  deps: Pick<JoinDeps, 'joinToken' | 'record'>,
  authorization: string | undefined,
  body: unknown,
): { recorded: number } {
  const host = authenticatedHost(deps.joinToken, authorization);
  const parsed = eventsBody.safeParse(body);
  if (!parsed.success)
    throw new IngotError('E_CLUSTER_VALUE', `events: at most ${MAX_HOST_EVENTS} ledger events`);
  const drafts: LedgerEntryDraft[] = [];
  for (const raw of parsed.data.events) {
    const event = entrySchema.safeParse({ ...(raw as object), seq: 0, actor: `agent@${host}` });
    if (!event.success)
      throw new IngotError(
        'E_CLUSTER_VALUE',
        `an event is not a ledger event: ${event.error.issues[0]?.message ?? ''}`,
      );
    const { seq: _seq, ...draft } = event.data;
    drafts.push(draft);
  }
  for (const d of drafts) deps.record(d);
  return { recorded: drafts.length };
}
