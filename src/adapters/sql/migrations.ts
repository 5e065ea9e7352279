import { sql, type Kysely, type Migration } from 'kysely';
import { digestsIn } from '../../core/fleet/history-page.js';
import { dialectOf } from './dialect.js';

/** The tables 010 reads and fills, as they were when it was written. */
interface HistoryRows {
  history: { seq: number; fleet: string; detail: string };
  history_subjects: { fleet: string; subject: string; seq: number };
}

/*
 * One set of migrations for SQLite and PostgreSQL. Where the engines differ (64-bit integers,
 * bytes, the history's numbering, append-only triggers) dialect.ts says how; on SQLite every
 * statement is exactly what it was before PostgreSQL was added, so no database file changes.
 */

/**
 * The ledger's tables, in whatever database they share with the actions they record (the
 * fleet store's, in production; a stand-in in the ledger's own tests and benchmark).
 */
export const ledgerMigrations: Record<string, Migration> = {
  '003-ledger': {
    async up(db: Kysely<unknown>) {
      const d = dialectOf(db);
      await db.schema
        .createTable('ledger_entries')
        .addColumn('seq', d.int64, (c) => c.primaryKey())
        .addColumn('body', 'text', (c) => c.notNull())
        .execute();
      await d
        .clustered(
          db.schema
            .createTable('ledger_nodes')
            .addColumn('level', 'integer', (c) => c.notNull())
            .addColumn('idx', d.int64, (c) => c.notNull())
            .addColumn('hash', d.bytes, (c) => c.notNull())
            .addPrimaryKeyConstraint('ledger_nodes_pk', ['level', 'idx']),
        )
        .execute();
      await db.schema
        .createTable('ledger_checkpoints')
        .addColumn('size', d.int64, (c) => c.primaryKey())
        .addColumn('note', 'text', (c) => c.notNull())
        .addColumn('time', d.int64, (c) => c.notNull())
        .execute();
      // Append-only inside the process: a bug or an injected statement elsewhere cannot
      // rewrite history through SQL. Whoever owns the tables can drop these triggers; that
      // attacker is what signed checkpoints and the offline verifier are for.
      for (const table of ['ledger_entries', 'ledger_nodes', 'ledger_checkpoints'])
        await d.appendOnly(db, table);
    },
  },
};

/** state.db, from nothing to today. Names sort in the order they run; never edit one that shipped. */
export const stateMigrations: Record<string, Migration> = {
  '001-fleets': {
    async up(db: Kysely<unknown>) {
      const d = dialectOf(db);
      await db.schema
        .createTable('releases')
        .addColumn('digest', 'text', (c) => c.primaryKey())
        .addColumn('fleet', 'text', (c) => c.notNull())
        .addColumn('artifact', 'text', (c) => c.notNull())
        .addColumn('spec', 'text', (c) => c.notNull())
        .addColumn('created_at', d.int64, (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('fleets')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('spec', 'text', (c) => c.notNull())
        .addColumn('release', 'text', (c) => c.notNull().references('releases.digest'))
        .addColumn('artifact', 'text', (c) => c.notNull())
        .addColumn('previous', 'text', (c) => c.references('releases.digest'))
        .addColumn('rollout', 'text', (c) => c.notNull())
        .addColumn('rollout_started_at', d.int64, (c) => c.notNull())
        .addColumn('reason', 'text')
        .execute();
      await db.schema
        .createTable('history')
        .addColumn('seq', d.int64, (c) => d.serialKey(c))
        .addColumn('time', d.int64, (c) => c.notNull())
        .addColumn('fleet', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('detail', 'text', (c) => c.notNull())
        .execute();
    },
  },
  '002-stable-release': {
    async up(db: Kysely<unknown>) {
      // The last release that completed: what an automatic rollback returns to.
      await db.schema.alterTable('fleets').addColumn('stable', 'text').execute();
    },
  },
  '003-rollout-steps': {
    async up(db: Kysely<unknown>) {
      const d = dialectOf(db);
      // Canary steps and blue-green previews: where a rollout stands, so a restart resumes it.
      await db.schema
        .alterTable('fleets')
        .addColumn('step', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema
        .alterTable('fleets')
        .addColumn('step_started_at', d.int64, (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema.alterTable('fleets').addColumn('step_ready_at', d.int64).execute();
      // A rollout under way when this migration runs keeps its deadline.
      await sql`UPDATE fleets SET step_started_at = rollout_started_at`.execute(db);
    },
  },
  '004-ledger': ledgerMigrations['003-ledger']!,
  '005-fleet-version': {
    async up(db: Kysely<unknown>) {
      // Every write names the version it was decided on: a stale decision never lands.
      await db.schema
        .alterTable('fleets')
        .addColumn('version', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
    },
  },
  '006-controller-memory': {
    async up(db: Kysely<unknown>) {
      // Failures the meltdown guard counts, and events already recorded: a restart of the
      // controller neither forgets a meltdown nor records an event twice.
      await db.schema
        .createTable('controller_memory')
        .addColumn('fleet', 'text', (c) => c.primaryKey())
        .addColumn('memory', 'text', (c) => c.notNull())
        .execute();
    },
  },
  '007-rollout-paused': {
    async up(db: Kysely<unknown>) {
      // `ingot pause`: kept with the fleet, so a restarted controller does not resume by itself.
      await db.schema.alterTable('fleets').addColumn('paused_at', dialectOf(db).int64).execute();
    },
  },
  '008-history-actor': {
    async up(db: Kysely<unknown>) {
      // `ingot history` says who did what and why, as the ledger always did.
      await db.schema
        .alterTable('history')
        .addColumn('actor', 'text', (c) => c.notNull().defaultTo(''))
        .execute();
      await db.schema.alterTable('history').addColumn('reason', 'text').execute();
    },
  },
  '009-release-number': {
    async up(db: Kysely<unknown>) {
      // A release's number was its position in the fleet's list, so every read of one release
      // read them all, and a release made with an earlier clock renumbered the ones after it.
      // Stored, it is read by index and never changes. Existing releases are numbered as the
      // API numbered them: by creation, then digest (two made in the same millisecond).
      await db.schema
        .alterTable('releases')
        .addColumn('number', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      // UPDATE … FROM: SQLite 3.33 and PostgreSQL alike.
      await sql`
        UPDATE releases SET number = numbered.n
        FROM (
          SELECT digest, row_number() OVER (PARTITION BY fleet ORDER BY created_at, digest) AS n
          FROM releases
        ) AS numbered
        WHERE releases.digest = numbered.digest`.execute(db);
      // SQLite needs the default to add a NOT NULL column, and has one writer. PostgreSQL may
      // be shared by a server of the version before this one (a rolling upgrade): without a
      // default, its insert of a release without a number fails loudly, where a default would
      // store 0 once and then fail on the unique index below for that fleet for good.
      if (dialectOf(db).engine === 'postgres')
        await sql`ALTER TABLE releases ALTER COLUMN number DROP DEFAULT`.execute(db);
      // A page (newest first, below a number) and one release by number are index ranges;
      // and two writers can never give one number twice.
      await db.schema
        .createIndex('releases_fleet_number')
        .on('releases')
        .columns(['fleet', 'number'])
        .unique()
        .execute();
    },
  },
  '010-history-pages': {
    async up(db: Kysely<unknown>) {
      const d = dialectOf(db);
      // A page of one fleet's history, newest first below a seq, is a range of this index;
      // every fleet's is a range of the primary key.
      await db.schema
        .createIndex('history_fleet_seq')
        .on('history')
        .columns(['fleet', 'seq'])
        .execute();
      // What each line names (its note's digests and instance): the lines about one release
      // or instance are a range of this key, however many lines the fleet has.
      await d
        .clustered(
          db.schema
            .createTable('history_subjects')
            .addColumn('fleet', 'text', (c) => c.notNull())
            .addColumn('subject', 'text', (c) => c.notNull())
            .addColumn('seq', d.int64, (c) => c.notNull())
            .addPrimaryKeyConstraint('history_subjects_pk', ['fleet', 'subject', 'seq']),
        )
        .execute();
      // Lines written before: the digests their text names (a deploy's release, a rollback's
      // two), as `describe release` matched them until now. Their instances are not known.
      // A batch at a time by seq: the table may be large, and the migration must not hold it.
      const inner = db as Kysely<HistoryRows>;
      for (let after = 0; ;) {
        const rows = await inner
          .selectFrom('history')
          .select(['seq', 'fleet', 'detail'])
          .where('seq', '>', after)
          .orderBy('seq')
          .limit(1000)
          .execute();
        if (rows.length === 0) break;
        const values = rows.flatMap((r) =>
          digestsIn(r.detail).map((subject) => ({ fleet: r.fleet, subject, seq: Number(r.seq) })),
        );
        if (values.length > 0) await inner.insertInto('history_subjects').values(values).execute();
        after = Number(rows.at(-1)!.seq);
      }
    },
  },
};
