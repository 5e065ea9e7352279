import { parseMemory, type ControllerMemory } from '../../core/controller/memory.js';
import type {
  FleetNote,
  FleetRecord,
  FleetState,
  HistoryEntry,
  ReleaseRecord,
  RolloutState,
} from '../../core/fleet/record.js';
import type { FleetSpec } from '../../core/fleet/spec.js';
import type { Digest } from '../../domain/digest.js';
import type { FleetStore } from '../../ports/fleet-store.js';
import { appendEntries } from './ledger.js';
import type { FleetTables, StateDb } from './schema.js';
import { writing } from './writing.js';

type FleetRow = FleetTables['fleets'];

/** One line of a fleet's history and its ledger entry, in the caller's transaction. */
async function record(tx: StateDb, note: FleetNote): Promise<void> {
  await tx
    .insertInto('history')
    .values({
      seq: undefined,
      time: note.time,
      fleet: note.fleet,
      kind: note.kind,
      detail: note.summary,
    })
    .execute();
  await appendEntries(tx, [
    {
      time: note.time,
      actor: note.actor,
      kind: note.ledgerKind ?? note.kind,
      subjects: [...new Set(note.subjects ?? [])].sort(),
      fleet: note.fleet,
      ...(note.instance !== undefined && { instance: note.instance }),
      detail: { summary: note.summary, ...note.detail },
    },
  ]);
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
    version,
  };
}

/** The control plane's state in SQLite (state.db, shared with the ledger), through Kysely. */
export class SqliteFleetStore implements FleetStore {
  constructor(private readonly db: StateDb) {}

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
          spec: JSON.parse(row.spec) as FleetSpec,
          createdAt: row.created_at,
        }
      : null;
  }

  async history(fleet?: string): Promise<HistoryEntry[]> {
    let q = this.db.selectFrom('history').selectAll().orderBy('seq');
    if (fleet !== undefined) q = q.where('fleet', '=', fleet);
    return (await q.execute()).map((r) => ({ ...r, seq: r.seq ?? 0 }));
  }

  writeFleet(
    next: FleetState,
    expected: number | null,
    note: FleetNote,
    release?: ReleaseRecord,
  ): Promise<FleetRecord | null> {
    return writing(this.db, async (tx) => {
      const current = await tx
        .selectFrom('fleets')
        .select('version')
        .where('name', '=', next.name)
        .executeTakeFirst();
      if ((current?.version ?? null) !== expected) return null;
      if (release)
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
      const version = (expected ?? 0) + 1;
      if (expected === null) await tx.insertInto('fleets').values(toRow(next, version)).execute();
      else
        await tx
          .updateTable('fleets')
          .set(toRow(next, version))
          .where('name', '=', next.name)
          .execute();
      await record(tx, note);
      return { ...next, version };
    });
  }

  async note(note: FleetNote): Promise<void> {
    await writing(this.db, (tx) => record(tx, note));
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
    await writing(this.db, async (tx) => {
      const json = JSON.stringify(memory);
      await tx
        .insertInto('controller_memory')
        .values({ fleet, memory: json })
        .onConflict((oc) => oc.column('fleet').doUpdateSet({ memory: json }))
        .execute();
      for (const note of notes) await record(tx, note);
    });
  }
}
