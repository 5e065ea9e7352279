import {
  sql,
  type ColumnDefinitionBuilder,
  type CreateTableBuilder,
  type Kysely,
  type RawBuilder,
  type TransactionBuilder,
} from 'kysely';

/**
 * Every difference between SQLite and PostgreSQL that the state's shared code meets, in one
 * place: column types, raw statements' placeholders, JSON inside the ledger's bodies,
 * append-only triggers, and how writers are serialised. The rest of adapters/sql is written
 * once, in Kysely, and asks `dialectOf(db)` when it must.
 */
export type Engine = 'sqlite' | 'postgres';

/** Whatever runs a statement: a database handle or a transaction, of any schema. */
type Executor = Parameters<RawBuilder<unknown>['execute']>[0];

export interface SqlDialect {
  readonly engine: Engine;
  /**
   * Milliseconds since the epoch, seqs, tree sizes: 64 bits. SQLite's integer is 64-bit
   * already (and `integer primary key` is the rowid: keep that name there); PostgreSQL's
   * integer is 32-bit, so it is bigint there.
   */
  readonly int64: 'integer' | 'bigint';
  /** Raw bytes (the Merkle tree's hashes). */
  readonly bytes: 'blob' | 'bytea';
  /** A primary key numbered by the database (the history's seq). */
  serialKey(column: ColumnDefinitionBuilder): ColumnDefinitionBuilder;
  /** A table stored in its primary key's order, where the engine can (SQLite: without rowid). */
  clustered<T extends string, C extends string>(
    table: CreateTableBuilder<T, C>,
  ): CreateTableBuilder<T, C>;
  /** Make `table` refuse UPDATE and DELETE (and TRUNCATE where it exists) from anyone. */
  appendOnly(db: Kysely<unknown>, table: string): Promise<void>;
  /**
   * The `i`-th (from 0) bound parameter of a raw statement. `type`: what PostgreSQL cannot
   * infer (inside VALUES, where nothing gives the parameter a type).
   */
  readonly param: (i: number, type?: 'integer' | 'bigint') => string;
  /** `count` tuples of `width` bound parameters, for a multi-row VALUES (hot: built lean). */
  readonly tuples: (count: number, width: number) => string;
  /** A new transaction, at the isolation level this code is written for (READ COMMITTED). */
  begin<DB>(db: Kysely<DB>): TransactionBuilder<DB>;
  /**
   * The first statement of every write transaction (`writing()`): take the database's one
   * writer lock, or wait for it, before reading what the transaction is about to change (a
   * fleet's version, the ledger's size); held until the transaction ends.
   */
  lockForWrite(tx: Executor): Promise<void>;
  /** The same, where a ledger append begins, in whichever transaction it runs. */
  lockForAppend(tx: Executor): Promise<void>;
  /** A read-only transaction that sees one snapshot throughout (an export). */
  snapshot<DB, T>(db: Kysely<DB>, fn: (tx: Kysely<DB>) => Promise<T>): Promise<T>;
  /** A top-level string field of the ledger entry's JSON body, as text. */
  bodyField(field: string): RawBuilder<string>;
  /** Whether the entry's JSON body names `subject` among its subjects. */
  bodyHasSubject(subject: string): RawBuilder<boolean>;
}

const SQLITE: SqlDialect = {
  engine: 'sqlite',
  int64: 'integer',
  bytes: 'blob',
  serialKey: (c) => c.primaryKey().autoIncrement(),
  // Clustered on its key: no rowid B-tree beside the primary-key index.
  clustered: (t) => t.modifyEnd(sql`without rowid`),
  async appendOnly(db, table) {
    for (const op of ['update', 'delete'])
      await sql`create trigger ${sql.raw(`${table}_no_${op}`)} before ${sql.raw(op)} on ${sql.table(table)}
            begin select raise(abort, ${sql.lit(`${table} is append-only`)}); end`.execute(db);
  },
  param: () => '?',
  tuples: (count, width) => {
    const tuple = `(${Array.from({ length: width }, () => '?').join(', ')})`;
    return Array.from({ length: count }, () => tuple).join(', ');
  },
  begin: (db) => db.transaction(),
  /**
   * SQLite has one writer at a time by construction; its lock is taken by a transaction's
   * first write. The CLI may append to the ledger from another process, and a transaction
   * that read first and wrote second would then fail at once (SQLITE_BUSY_SNAPSHOT) rather
   * than wait if the other committed in between. So the first statement writes (nothing):
   * the lock is taken, or waited for, up front, and what the transaction then reads cannot
   * change before it commits.
   */
  async lockForWrite(tx) {
    await sql`delete from history where 0`.execute(tx);
  },
  /**
   * Nothing more: in one process the connection serialises appends, and a read-then-write
   * race with another process is an error (above), never a wrong tree. The state's own
   * appends go through `writing()`.
   */
  lockForAppend: () => Promise.resolve(),
  // In WAL mode a read transaction sees one snapshot from its first read to its end.
  snapshot: (db, fn) => (db.isTransaction ? fn(db) : db.transaction().execute(fn)),
  bodyField: (field) => sql<string>`json_extract(body, ${`$.${field}`})`,
  bodyHasSubject: (subject) =>
    sql<boolean>`exists (select 1 from json_each(body, '$.subjects') where value = ${subject})`,
};

/**
 * The writer lock's key, in the two-int4 space of advisory locks (not the bigint space
 * Kysely's migration lock uses): ('ingo', 1). Advisory locks are per database.
 */
const WRITER_LOCK = sql.raw(`${0x696e676f}, 1`);

async function lockWriter(tx: Executor): Promise<void> {
  await sql`select pg_advisory_xact_lock(${WRITER_LOCK})`.execute(tx);
}

const POSTGRES: SqlDialect = {
  engine: 'postgres',
  int64: 'bigint',
  bytes: 'bytea',
  // By default, not always: a later import of a SQLite state may keep its seqs.
  serialKey: (c) => c.primaryKey().generatedByDefaultAsIdentity(),
  clustered: (t) => t,
  async appendOnly(db, table) {
    await sql`create or replace function ingot_append_only() returns trigger language plpgsql as $$
      begin raise exception '% is append-only', tg_table_name; end $$`.execute(db);
    for (const op of ['update', 'delete'])
      await sql`create trigger ${sql.raw(`${table}_no_${op}`)} before ${sql.raw(op)} on ${sql.table(table)}
        for each row execute function ingot_append_only()`.execute(db);
    // Row triggers do not see TRUNCATE: it has its own, per statement.
    await sql`create trigger ${sql.raw(`${table}_no_truncate`)} before truncate on ${sql.table(table)}
      for each statement execute function ingot_append_only()`.execute(db);
  },
  param: (i, type) => `$${i + 1}${type ? `::${type}` : ''}`,
  tuples: (count, width) => {
    let text = '';
    for (let i = 0; i < count * width; i++)
      text += `${i === 0 ? '(' : i % width === 0 ? '), (' : ', '}$${i + 1}`;
    return `${text})`;
  },
  /*
   * READ COMMITTED, said explicitly (a server whose default is stricter would otherwise give
   * it): every statement sees what committed before it started. Together with the writer
   * lock that is exactly what a writer needs; REPEATABLE READ would be wrong here, since its
   * snapshot is taken by the first statement, the one that waits for the lock, and would
   * then miss what the previous holder committed.
   */
  begin: (db) => db.transaction().setIsolationLevel('read committed'),
  /*
   * Two servers may append at once, and each append reads the log's size and right edge,
   * then writes the entries after it and every subtree they complete. Run concurrently, two
   * appends would pick the same seqs (one fails on the key) or, worse, interleave so that a
   * stored subtree mixes both. So every write transaction first takes one transaction-level
   * advisory lock, re-entrant and released by COMMIT or ROLLBACK (or by the server when the
   * session dies): PostgreSQL gets SQLite's one-writer model, which is what a control plane's
   * write rate needs. Chosen over SELECT … FOR UPDATE on a head row because it needs no extra
   * table, no UPDATE privilege on the ledger, and the same lock serialises fleet writes too;
   * over SERIALIZABLE because the Merkle tree's conflicts would then surface as retries that
   * every caller must loop on. Fencing a stale leader (issue 18) belongs after this lock, in
   * the same transaction: see `WriteGuard`.
   */
  lockForWrite: (tx) => lockWriter(tx),
  lockForAppend: (tx) => lockWriter(tx),
  snapshot: (db, fn) =>
    db.isTransaction
      ? fn(db)
      : db
          .transaction()
          .setIsolationLevel('repeatable read')
          .setAccessMode('read only')
          .execute(fn),
  // The body stays text, byte for byte what its leaf hashes (jsonb would reorder it).
  bodyField: (field) => sql<string>`(body::jsonb ->> ${field})`,
  bodyHasSubject: (subject) =>
    sql<boolean>`(body::jsonb -> 'subjects') @> jsonb_build_array(${subject}::text)`,
};

/**
 * Which engine runs `db`, told by the placeholder its compiler writes (public Kysely API;
 * a transaction compiles as its database does).
 */
export function dialectOf(db: Executor): SqlDialect {
  const placeholder = sql`${0}`.compile(db).sql;
  if (placeholder === '?') return SQLITE;
  if (placeholder === '$1') return POSTGRES;
  throw new Error(`the state supports SQLite and PostgreSQL, not this dialect (${placeholder})`);
}
