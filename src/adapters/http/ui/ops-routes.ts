import type { FastifyInstance, FastifyRequest } from 'fastify';
import { changeReason } from '../../../core/api/fleets.js';
import type { InstanceLogs } from '../../../core/api/instances.js';
import type { Caller } from '../../../core/api/routes.js';
import type { HistoryEntry, NumberedRelease } from '../../../core/fleet/record.js';
import type { EntryQuery } from '../../../core/ledger/entry-query.js';
import type { LedgerEntry } from '../../../core/ledger/entry.js';
import { DRIFT_KINDS, driftCases } from '../../../core/ui/drift-view.js';
import { FLEET_ACTIONS, type FleetAction } from '../../../core/ui/fleet-actions.js';
import { logTail } from '../../../core/ui/log-tail.js';
import { MAX_HISTORY, releasesView, wantedReleases } from '../../../core/ui/release-view.js';
import type { UiRole, UiSession } from '../../../core/ui/sessions.js';
import type { Digest } from '../../../domain/digest.js';
import { IngotError } from '../../../domain/errors.js';
import type { ObservedInstance } from '../../../domain/instance.js';

/** The use cases behind the fleet-operations views, the same the API's routes call. */
export interface OpsDeps {
  /** pause, resume, abort, rollback: the API's handlers, as the CLI's routes call them. */
  readonly act: (
    action: FleetAction,
    name: string,
    caller: Caller,
    reason: string | undefined,
  ) => Promise<unknown>;
  /**
   * The fleet's newest `limit` history lines (one page, newest first), and whether older
   * ones exist: the view never reads the whole history.
   */
  readonly history: (
    fleet: string,
    limit: number,
  ) => Promise<{ readonly lines: HistoryEntry[]; readonly older: boolean }>;
  /** A release's record, as deployed; null: unknown (or none of this store). */
  readonly release: (digest: Digest) => Promise<NumberedRelease | null>;
  /** The ledger's entries (services read them in seq order), filtered by the store. */
  readonly ledger: (query: EntryQuery) => Promise<LedgerEntry[]>;
  /** The fleet's instances as the hosts report them now. */
  readonly instances: (fleet: string) => Promise<ObservedInstance[]>;
  readonly logs: (id: string) => Promise<InstanceLogs>;
}

/** What routes.ts hands over: its session checks, done the same way for every route. */
export interface OpsAuth {
  readonly signed: (req: FastifyRequest) => { readonly session: UiSession };
  /** Signed in and carrying the session's CSRF header. */
  readonly acting: (req: FastifyRequest) => { readonly session: UiSession };
  readonly caller: (req: FastifyRequest, role: UiRole) => Caller;
}

/**
 * The reason typed into an action's dialog (`{"reason": …}`), checked as the CLI's
 * `--reason` is (core/api/fleets.ts): it ends in the history and in every operator's terminal.
 */
export function reasonOf(body: unknown): string | undefined {
  const given = (body as { reason?: unknown } | null | undefined)?.reason;
  if (given === undefined || given === '') return undefined;
  const parsed = changeReason.safeParse(given);
  if (!parsed.success)
    throw new IngotError(
      'E_REQUEST',
      `reason: ${parsed.error.issues.map((i) => i.message).join('; ')}`,
    );
  return parsed.data;
}

const DOING: Record<FleetAction, string> = {
  pause: 'pausing',
  resume: 'resuming',
  abort: 'aborting',
  rollback: 'rolling back',
};

/** Newest entries the drift view reads, per kind: a bounded read, whatever the log's size. */
const DRIFT_READ = 500;
/** How far back the drift view searches the ledger, in entries. */
const DRIFT_WINDOW = 20_000;

/**
 * The fleet-operations part of the dashboard (issue 21): pause, resume, abort and rollback;
 * a fleet's releases with their diffs; its drift with evidence and replacements; an
 * instance's log tail. Registered inside serveUi's /ui scope, so every answer carries its
 * security headers. Reads need the cookie; actions the cookie, the CSRF header and the admin
 * role. Everything sent back is data for the page to show as text.
 */
export function serveOps(ui: FastifyInstance, auth: OpsAuth, deps: OpsDeps): void {
  const admin = (session: UiSession, what: string) => {
    if (session.role !== 'admin')
      throw new IngotError('E_UI_READ_ONLY', `signed in read-only: ${what} needs the admin token`);
  };
  const nameOf = (req: FastifyRequest) => (req.params as { name: string }).name;

  for (const action of FLEET_ACTIONS)
    ui.post(`/api/fleets/:name/${action}`, async (req) => {
      const { session } = auth.acting(req);
      admin(session, DOING[action]);
      return deps.act(action, nameOf(req), auth.caller(req, session.role), reasonOf(req.body));
    });

  ui.get('/api/fleets/:name/releases', async (req) => {
    auth.signed(req);
    const name = nameOf(req);
    const { lines, older } = await deps.history(name, MAX_HISTORY);
    const releases = new Map<string, NumberedRelease>();
    for (const digest of wantedReleases(lines, older)) {
      const r = await deps.release(digest);
      // Only the fleet's own: a digest in its history names nothing of another fleet.
      if (r !== null && r.fleet === name) releases.set(digest, r);
    }
    // Env values never leave: the diff names env keys only, for every role.
    return releasesView(name, lines, releases, older);
  });

  ui.get('/api/fleets/:name/drift', async (req) => {
    auth.signed(req);
    const fleet = nameOf(req);
    // Fleet and kind are matched inside each entry's JSON, with no index: the newest
    // DRIFT_WINDOW entries are searched, not the whole log, however often the page asks.
    const [newest] = await deps.ledger({ order: 'desc', limit: 1 });
    const from = Math.max(0, (newest?.seq ?? 0) + 1 - DRIFT_WINDOW);
    const entries = (
      await Promise.all(
        DRIFT_KINDS.map((kind) =>
          deps.ledger({ fleet, kind, from, order: 'desc', limit: DRIFT_READ }),
        ),
      )
    ).flat();
    return { fleet, cases: driftCases(entries, await deps.instances(fleet)) };
  });

  // Log tails are the admin's only. A program's output can hold what its env holds (a
  // connection string printed at start, a token in a request line), and the read-only role is
  // shown env names, never values: giving it the logs would hand it the values by another door.
  // Not hidden from it: the one line a crashed program said last (at most 1,000 characters).
  // It is part of the crash's record — the rollout's reason in `ingot status`, the history and
  // the ledger entry, whose proof the page checks over the entry's exact bytes — and what
  // diagnoses a failed rollout; a program that prints a secret as it dies shows it there.
  ui.get('/api/fleets/:name/instances/:id/logs', async (req) => {
    const { session } = auth.signed(req);
    admin(session, 'reading logs');
    const { name, id } = req.params as { name: string; id: string };
    if (!(await deps.instances(name)).some((i) => i.id === id))
      throw new IngotError(
        'E_INSTANCE_NOT_FOUND',
        `fleet ${JSON.stringify(name)} has no instance ${JSON.stringify(id)} now`,
      );
    const logs = await deps.logs(id);
    return logTail(id, logs.text);
  });
}
