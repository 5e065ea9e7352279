import SQLite from 'better-sqlite3';
import {
  Kysely,
  Migrator,
  SqliteDialect,
  sql,
  type Migration,
  type MigrationProvider,
} from 'kysely';
import type { LedgerEntryDraft } from '../../core/ledger/index.js';
import type { Digest } from '../../domain/digest.js';
import { IngotError } from '../../domain/errors.js';
import type {
  FleetRecord,
  FleetStore,
  HistoryEntry,
  ReleaseRecord,
  RolloutState,
  StepUpdate,
} from '../../ports/fleet-store.js';
import { appendEntries, ledgerMigrations, type LedgerDb } from './ledger.js';

interface Tables {
  fleets: {
    name: string;
    spec: string;
    release: string;
    artifact: string;
    previous: string | null;
    rollout: string;
    rollout_started_at: number;
    reason: string | null;
    stable: string | null;
    step: number;
    step_started_at: number;
    step_ready_at: number | null;
  };
  releases: { digest: string; fleet: string; artifact: string; spec: string; created_at: number };
  history: { seq: number | undefined; time: number; fleet: string; kind: string; detail: string };
}

const migrations: Record<string, Migration> = {
  '001-fleets': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('releases')
        .addColumn('digest', 'text', (c) => c.primaryKey())
        .addColumn('fleet', 'text', (c) => c.notNull())
        .addColumn('artifact', 'text', (c) => c.notNull())
        .addColumn('spec', 'text', (c) => c.notNull())
        .addColumn('created_at', 'integer', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('fleets')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('spec', 'text', (c) => c.notNull())
        .addColumn('release', 'text', (c) => c.notNull().references('releases.digest'))
        .addColumn('artifact', 'text', (c) => c.notNull())
        .addColumn('previous', 'text', (c) => c.references('releases.digest'))
        .addColumn('rollout', 'text', (c) => c.notNull())
        .addColumn('rollout_started_at', 'integer', (c) => c.notNull())
        .addColumn('reason', 'text')
        .execute();
      await db.schema
        .createTable('history')
        .addColumn('seq', 'integer', (c) => c.primaryKey().autoIncrement())
        .addColumn('time', 'integer', (c) => c.notNull())
        .addColumn('fleet', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('detail', 'text', (c) => c.notNull())
        .execute();
    },
  },
};

migrations['002-stable-release'] = {
  async up(db: Kysely<unknown>) {
    // The last release that completed: what an automatic rollback returns to.
    await db.schema.alterTable('fleets').addColumn('stable', 'text').execute();
  },
};

migrations['003-rollout-steps'] = {
  async up(db: Kysely<unknown>) {
    // Canary steps and blue-green previews: where a rollout stands, so a restart resumes it.
    await db.schema
      .alterTable('fleets')
      .addColumn('step', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
    await db.schema
      .alterTable('fleets')
      .addColumn('step_started_at', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
    await db.schema.alterTable('fleets').addColumn('step_ready_at', 'integer').execute();
    // A rollout under way when this migration runs keeps its deadline.
    await sql`UPDATE fleets SET step_started_at = rollout_started_at`.execute(db);
  },
};

migrations['004-ledger'] = ledgerMigrations['003-ledger']!;

/** What the ledger adds to a line of history: who, and which digests it is about. */
interface Provenance {
  readonly actor: string;
  readonly instance?: string;
  readonly subjects?: readonly string[];
  readonly detail?: Readonly<Record<string, unknown>>;
  /** The ledger's kind, when it says more than the history's ("rollout-complete"). */
  readonly kind?: string;
}

/**
 * One line of a fleet's history and its ledger entry, in the caller's transaction: the
 * action, its history and its entry commit together or not at all.
 */
async function record(
  db: Kysely<Tables>,
  entry: { time: number; fleet: string; kind: string; detail: string },
  by: Provenance,
): Promise<void> {
  await db
    .insertInto('history')
    .values({ seq: undefined, ...entry })
    .execute();
  await appendEntries(db, [
    {
      time: entry.time,
      actor: by.actor,
      kind: by.kind ?? entry.kind,
      subjects: [...new Set(by.subjects ?? [])].sort(),
      fleet: entry.fleet,
      ...(by.instance !== undefined && { instance: by.instance }),
      detail: { summary: entry.detail, ...by.detail },
    },
  ]);
}

/**
 * A write transaction that takes SQLite's write lock first: the CLI may append to the
 * ledger from another process, and a transaction that read first and wrote second would
 * fail at once (SQLITE_BUSY_SNAPSHOT) rather than wait if the other committed in between.
 * Its first statement writes (nothing), so the lock is taken, or waited for, up front.
 */
async function writing<T>(db: Kysely<Tables>, fn: (tx: Kysely<Tables>) => Promise<T>): Promise<T> {
  return db.transaction().execute(async (tx) => {
    await sql`delete from history where 0`.execute(tx);
    return fn(tx);
  });
}

const FIRST_STEP = (at: number) => ({ step: 0, step_started_at: at, step_ready_at: null });

/** A rollout judged afresh from `at`: progressing, at its first step, no reason yet. */
const NEW_ROLLOUT = (at: number) => ({
  rollout: 'progressing',
  rollout_started_at: at,
  reason: null,
  ...FIRST_STEP(at),
});

const provider: MigrationProvider = { getMigrations: () => Promise.resolve(migrations) };

function toFleet(row: Tables['fleets']): FleetRecord {
  return {
    name: row.name,
    spec: JSON.parse(row.spec) as unknown,
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
  };
}

/** The controller's state in SQLite (WAL, synchronous=FULL), through Kysely. */
export class SqliteFleetStore implements FleetStore {
  private constructor(private readonly db: Kysely<Tables>) {}

  static async open(path: string): Promise<SqliteFleetStore> {
    const database = new SQLite(path);
    database.pragma('journal_mode = WAL');
    // An acknowledged deploy survives a crash or a power cut.
    database.pragma('synchronous = FULL');
    database.pragma('foreign_keys = ON');
    // Another process (the CLI recording a build) may hold the write lock for a moment.
    database.pragma('busy_timeout = 10000');
    const db = new Kysely<Tables>({ dialect: new SqliteDialect({ database }) });
    const { error } = await new Migrator({ db, provider }).migrateToLatest();
    if (error)
      throw new IngotError(
        'E_STATE_MIGRATION',
        `cannot migrate ${path}: ${error instanceof Error ? error.message : 'unknown error'}`,
      );
    return new SqliteFleetStore(db);
  }

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

  async release(digest: Digest): Promise<ReleaseRecord | null> {
    const row = await this.db
      .selectFrom('releases')
      .selectAll()
      .where('digest', '=', digest)
      .executeTakeFirst();
    return row
      ? {
          digest: row.digest as Digest,
          fleet: row.fleet,
          artifact: row.artifact as Digest,
          spec: JSON.parse(row.spec) as unknown,
          createdAt: row.created_at,
        }
      : null;
  }

  async deploy(release: ReleaseRecord, at: number, actor = 'admin'): Promise<FleetRecord> {
    await writing(this.db, async (tx) => {
      await tx
        .insertInto('releases')
        .values({
          digest: release.digest,
          fleet: release.fleet,
          artifact: release.artifact,
          spec: JSON.stringify(release.spec),
          created_at: release.createdAt,
        })
        .onConflict((oc) => oc.column('digest').doNothing())
        .execute();
      const existing = await tx
        .selectFrom('fleets')
        .selectAll()
        .where('name', '=', release.fleet)
        .executeTakeFirst();
      const spec = JSON.stringify(release.spec);
      if (!existing) {
        await tx
          .insertInto('fleets')
          .values({
            name: release.fleet,
            spec,
            release: release.digest,
            artifact: release.artifact,
            previous: null,
            stable: null,
            ...NEW_ROLLOUT(at),
          })
          .execute();
      } else if (existing.release !== release.digest) {
        await tx
          .updateTable('fleets')
          .set({
            spec,
            release: release.digest,
            artifact: release.artifact,
            previous: existing.release,
            ...NEW_ROLLOUT(at),
          })
          .where('name', '=', release.fleet)
          .execute();
      } else {
        // Same release: only how many and how fast may have changed. A refused or rolled-back
        // release deployed again is judged again.
        const again = existing.rollout === 'refused' || existing.rollout === 'rolled-back';
        await tx
          .updateTable('fleets')
          .set({
            spec,
            ...(again && NEW_ROLLOUT(at)),
          })
          .where('name', '=', release.fleet)
          .execute();
      }
      await record(
        tx,
        { time: at, fleet: release.fleet, kind: 'deploy', detail: release.digest },
        {
          actor,
          subjects: [release.digest, release.artifact],
          detail: { release: release.digest, artifact: release.artifact },
        },
      );
    });
    return (await this.fleet(release.fleet))!;
  }

  /**
   * Judge the rollout of `release`: applied only if the fleet still runs that release and is
   * still progressing, so a decision made on a stale read never lands on a newer deploy.
   */
  async setRollout(
    name: string,
    release: Digest,
    rollout: RolloutState,
    reason: string | null,
    at: number,
  ): Promise<boolean> {
    return writing(this.db, async (tx) => {
      const result = await tx
        .updateTable('fleets')
        .set({ rollout, reason, ...(rollout === 'complete' && { stable: release }) })
        .where('name', '=', name)
        .where('release', '=', release)
        .where('rollout', '=', 'progressing')
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) === 0) return false;
      await record(
        tx,
        { time: at, fleet: name, kind: rollout, detail: reason ?? '' },
        {
          actor: 'controller',
          kind: `rollout-${rollout}`,
          subjects: [release],
          detail: { release, ...(reason !== null && { reason }) },
        },
      );
      return true;
    });
  }

  async setStep(
    name: string,
    release: Digest,
    update: StepUpdate,
    at: number,
    note: { kind: string; detail: string; actor?: string },
  ): Promise<boolean> {
    return writing(this.db, async (tx) => {
      const result = await tx
        .updateTable('fleets')
        .set({
          step: update.step,
          step_started_at: update.stepStartedAt,
          step_ready_at: update.stepReadyAt,
        })
        .where('name', '=', name)
        .where('release', '=', release)
        .where('rollout', '=', 'progressing')
        // A decision made on a stale read (a step reached, as a promote moved on) is moot.
        .where('step', '=', update.from)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) === 0) return false;
      await record(
        tx,
        { time: at, fleet: name, kind: note.kind, detail: note.detail },
        {
          actor: note.actor ?? 'controller',
          subjects: [release],
          detail: { release, step: update.step },
        },
      );
      return true;
    });
  }

  async rollBack(
    name: string,
    reason: string,
    at: number,
    options: { to?: Digest; from?: Digest; actor?: string } = {},
  ): Promise<void> {
    await writing(this.db, async (tx) => {
      const f = await tx
        .selectFrom('fleets')
        .selectAll()
        .where('name', '=', name)
        .executeTakeFirst();
      if (!f) throw new IngotError('E_FLEET_NOT_FOUND', `no fleet ${JSON.stringify(name)}`);
      // An automatic rollback judged `from`: if the fleet moved on meanwhile, it is moot.
      if (options.from !== undefined && (f.release !== options.from || f.rollout !== 'progressing'))
        return;
      // Back to the last release that completed, else the one before.
      const target =
        options.to ?? (f.stable !== null && f.stable !== f.release ? f.stable : f.previous);
      if (!target)
        throw new IngotError(
          'E_ROLLBACK_NONE',
          `fleet ${name} has no earlier release to roll back to`,
        );
      const prev = await tx
        .selectFrom('releases')
        .selectAll()
        .where('digest', '=', target)
        .where('fleet', '=', name)
        .executeTakeFirst();
      if (!prev)
        throw new IngotError('E_ROLLBACK_NONE', `fleet ${name} never had release ${target}`);
      const spec = JSON.parse(f.spec) as Record<string, unknown>;
      const prevSpec = JSON.parse(prev.spec) as Record<string, unknown>;
      await tx
        .updateTable('fleets')
        .set({
          // The old release's instance settings, with the current pacing and size.
          spec: JSON.stringify({
            ...prevSpec,
            replicas: spec['replicas'],
            strategy: spec['strategy'],
          }),
          release: prev.digest,
          artifact: prev.artifact,
          previous: f.release,
          rollout: 'rolled-back',
          rollout_started_at: at,
          reason,
          ...FIRST_STEP(at),
        })
        .where('name', '=', name)
        .execute();
      await record(
        tx,
        {
          time: at,
          fleet: name,
          kind: 'rollback',
          detail: `${f.release} → ${prev.digest}: ${reason}`,
        },
        {
          actor: options.actor ?? (options.from !== undefined ? 'controller' : 'admin'),
          subjects: [f.release, prev.digest],
          detail: { from: f.release, to: prev.digest, reason },
        },
      );
    });
  }

  async history(fleet?: string): Promise<HistoryEntry[]> {
    let q = this.db.selectFrom('history').selectAll().orderBy('seq');
    if (fleet !== undefined) q = q.where('fleet', '=', fleet);
    return (await q.execute()).map((r) => ({ ...r, seq: r.seq ?? 0 }));
  }

  async note(
    fleet: string,
    kind: string,
    detail: string,
    at: number,
    by: {
      actor?: string;
      instance?: string;
      subjects?: readonly string[];
      detail?: Record<string, unknown>;
    } = {},
  ): Promise<void> {
    await writing(this.db, (tx) =>
      record(tx, { time: at, fleet, kind, detail }, { ...by, actor: by.actor ?? 'controller' }),
    );
  }

  async append(drafts: readonly LedgerEntryDraft[]): Promise<number[]> {
    if (drafts.length === 0) return [];
    return writing(this.db, (tx) => appendEntries(tx, drafts));
  }

  /** The database handle, for the ledger's reads and checkpoints. */
  get ledgerDb(): LedgerDb {
    return this.db;
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }
}
