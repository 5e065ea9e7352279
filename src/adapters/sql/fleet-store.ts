import { parseMemory, type ControllerMemory } from '../../core/controller/memory.js';
import type {
  FleetNote,
  FleetRecord,
  FleetState,
  HistoryEntry,
  NumberedRelease,
  ReleaseRecord,
  RolloutState,
} from '../../core/fleet/record.js';
import type { ReleasePageQuery } from '../../core/fleet/release-page.js';
import { historySubjects, type HistoryPageQuery } from '../../core/fleet/history-page.js';
import { noteEntry } from '../../core/fleet/note-entry.js';
import type { FleetSpec } from '../../core/fleet/spec.js';
import type { Digest } from '../../domain/digest.js';
import type { FleetStore } from '../../ports/fleet-store.js';
import { appendEntries } from './ledger.js';
import type { FleetTables, StateDb } from './schema.js';
import { writing, type WriteGuard } from './writing.js';

type FleetRow = FleetTables['fleets'];

/** One line of a fleet's history and its ledger entry, in the caller's transaction. */
async function record(tx: StateDb, note: FleetNote): Promise<void> {
  const { seq } = await tx
    .insertInto('history')
    .values({
      seq: undefined,
      time: note.time,
      fleet: note.fleet,
      kind: note.kind,
      detail: note.summary,
      actor: note.actor,
      reason: typeof note.detail?.['reason'] === 'string' ? note.detail['reason'] : null,
    })
    .returning('seq')
    .executeTakeFirstOrThrow();
  const subjects = historySubjects(note);
  if (subjects.length > 0)
    await tx
      .insertInto('history_subjects')
      .values(subjects.map((subject) => ({ fleet: note.fleet, subject, seq: Number(seq) })))
      .execute();
  await appendEntries(tx, [noteEntry(note)]);
}

function toFleet(row: FleetRow): FleetRecord {
  return {
    name: row.name,
    // Written by this store from a validated spec: trusted as the type it was written as.
    spec: JSON.parse(row.spec) as FleetSpec,
    release: row.release as Digest,
    artifact: row.artifact as Digest,
    previous: row.previous as Digest | null,
    rollout: row.rollout as RolloutState,
    rolloutStartedAt: row.rollout_started_at,
    reason: row.reason,
    stable: row.stable as Digest | null,
    step: row.step,
    stepStartedAt: row.step_started_at,
    stepReadyAt: row.step_ready_at,
    pausedAt: row.paused_at ?? null,
    version: row.version,
  };
}

function toRow(f: FleetState, version: number): FleetRow {
  return {
    name: f.name,
    spec: JSON.stringify(f.spec),
    release: f.release,
    artifact: f.artifact,
    previous: f.previous,
    rollout: f.rollout,
    rollout_started_at: f.rolloutStartedAt,
    reason: f.reason,
    stable: f.stable,
    step: f.step,
    step_started_at: f.stepStartedAt,
    step_ready_at: f.stepReadyAt,
    paused_at: f.pausedAt,
    version,
  };
}

/** Thrown inside a write to roll it back: the fleet moved on (or appeared) meanwhile. */
class Stale extends Error {}

function toRelease(row: FleetTables['releases']): NumberedRelease {
  return {
    digest: row.digest as Digest,
    fleet: row.fleet,
    artifact: row.artifact as Digest,
    spec: JSON.parse(row.spec) as FleetSpec,
    createdAt: row.created_at,
    number: row.number,
  };
}

/**
 * Record a release, numbered after the fleet's last; one already recorded stays as it is, with
 * its number (a release is its digest). Inside a write transaction, which holds the writer
 * lock: no other writer numbers between the read of the last number and the insert (and the
 * unique index on (fleet, number) would refuse one that did).
 */
async function saveRelease(tx: StateDb, release: ReleaseRecord): Promise<void> {
  const known = await tx
    .selectFrom('releases')
    .select('digest')
    .where('digest', '=', release.digest)
    .executeTakeFirst();
  if (known !== undefined) return;
  const { last } = await tx
    .selectFrom('releases')
    .select((eb) => eb.fn.max('number').as('last'))
    .where('fleet', '=', release.fleet)
    .executeTakeFirstOrThrow();
  await tx
    .insertInto('releases')
    .values({
      digest: release.digest,
      fleet: release.fleet,
      artifact: release.artifact,
      spec: JSON.stringify(release.spec),
      created_at: release.createdAt,
      number: Number(last ?? 0) + 1,
    })
    .execute();
}

/**
 * Write the fleet's row if it is still at `expected` (absent when null); false if not. The
 * version is compared in the statement itself (compare-and-swap): the writer lock already
 * keeps it from moving during the transaction, and a writer that skipped the lock would
 * still change no row rather than overwrite a newer version.
 */
async function putFleet(tx: StateDb, row: FleetRow, expected: number | null): Promise<boolean> {
  if (expected === null) {
    const r = await tx
      .insertInto('fleets')
      .values(row)
      .onConflict((oc) => oc.column('name').doNothing())
      .executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0) === 1;
  }
  const r = await tx
    .updateTable('fleets')
    .set(row)
    .where('name', '=', row.name)
    .where('version', '=', expected)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/**
 * The control plane's state in SQLite or PostgreSQL (the ledger's database), through Kysely.
 * Every write is one write transaction (writing.ts) with its history line and ledger entry.
 */
export class SqlFleetStore implements FleetStore {
  constructor(
    private readonly db: StateDb,
    private readonly guard?: WriteGuard,
  ) {}

  async fleets(): Promise<FleetRecord[]> {
    return (await this.db.selectFrom('fleets').selectAll().orderBy('name').execute()).map(toFleet);
  }

  async fleet(name: string): Promise<FleetRecord | null> {
    const row = await this.db
      .selectFrom('fleets')
      .selectAll()
      .where('name', '=', name)
      .executeTakeFirst();
    return row ? toFleet(row) : null;
  }

  async release(digest: Digest): Promise<NumberedRelease | null> {
    const row = await this.db
      .selectFrom('releases')
      .selectAll()
      .where('digest', '=', digest)
      .executeTakeFirst();
    return row ? toRelease(row) : null;
  }

  async releases(fleet: string, page: ReleasePageQuery): Promise<NumberedRelease[]> {
    let q = this.db.selectFrom('releases').selectAll().where('fleet', '=', fleet);
    if (page.before !== null) q = q.where('number', '<', page.before);
    // Newest first by (fleet, number): the index's range, `limit` rows of it and no more.
    const rows = await q.orderBy('number', 'desc').limit(page.limit).execute();
    return rows.map(toRelease);
  }

  async history(page: HistoryPageQuery): Promise<HistoryEntry[]> {
    const { fleet, subject, before, limit } = page;
    // Its index is the fleet's (and the API refuses it alone): never quietly ignored.
    if (subject !== undefined && fleet === undefined)
      throw new Error('a history subject needs its fleet');
    // Newest first, `limit` rows of an index range and no more: (fleet, subject, seq) of
    // history_subjects for a subject, (fleet, seq) for a fleet, the primary key for all.
    let q =
      subject !== undefined && fleet !== undefined
        ? this.db
            .selectFrom('history_subjects as s')
            .innerJoin('history', 'history.seq', 's.seq')
            .selectAll('history')
            .where('s.fleet', '=', fleet)
            .where('s.subject', '=', subject)
            .$if(before !== null, (q) => q.where('s.seq', '<', before!))
            .orderBy('s.seq', 'desc')
        : this.db
            .selectFrom('history')
            .selectAll()
            .$if(fleet !== undefined, (q) => q.where('fleet', '=', fleet!))
            .$if(before !== null, (q) => q.where('seq', '<', before!))
            .orderBy('seq', 'desc');
    q = q.limit(limit);
    return (await q.execute()).map(({ reason, ...r }) => ({
      ...r,
      seq: Number(r.seq ?? 0),
      ...(reason !== null && { reason }),
    }));
  }

  async writeFleet(
    next: FleetState,
    expected: number | null,
    note: FleetNote,
    release?: ReleaseRecord,
  ): Promise<FleetRecord | null> {
    try {
      return await writing(
        this.db,
        async (tx) => {
          if (release) await saveRelease(tx, release);
          const version = (expected ?? 0) + 1;
          if (!(await putFleet(tx, toRow(next, version), expected))) throw new Stale();
          await record(tx, note);
          return { ...next, version };
        },
        this.guard,
      );
    } catch (err) {
      if (err instanceof Stale) return null;
      throw err;
    }
  }

  async note(note: FleetNote): Promise<void> {
    await writing(this.db, (tx) => record(tx, note), this.guard);
  }

  async memories(): Promise<Map<string, ControllerMemory>> {
    const rows = await this.db.selectFrom('controller_memory').selectAll().execute();
    return new Map(rows.map((r) => [r.fleet, parseMemory(r.memory)]));
  }

  async remember(
    fleet: string,
    memory: ControllerMemory,
    notes: readonly FleetNote[],
  ): Promise<void> {
    await writing(
      this.db,
      async (tx) => {
        const json = JSON.stringify(memory);
        await tx
          .insertInto('controller_memory')
          .values({ fleet, memory: json })
          .onConflict((oc) => oc.column('fleet').doUpdateSet({ memory: json }))
          .execute();
        for (const note of notes) await record(tx, note);
      },
      this.guard,
    );
  }
}
