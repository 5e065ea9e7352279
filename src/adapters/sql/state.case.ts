import { generateKeyPairSync } from 'node:crypto';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { NEW, releaseRecord, T0 } from '../../core/controller/fixtures.case.js';
import { EMPTY_MEMORY } from '../../core/controller/memory.js';
import {
  leafHash,
  openCheckpoint,
  parseVkey,
  verifyInclusion,
  verifyLedger,
  type StoredCheckpoint,
} from '../../core/ledger/index.js';
import { Checkpointer } from './checkpointer.js';
import { fleetState, fleetStoreContract, note } from './fleet-store.case.js';
import { codeOf, draft, opener, type StateHarness } from './harness.case.js';
import { ledgerContract } from './ledger.case.js';
import { historyContract } from './history.case.js';
import { releasesContract } from './releases.case.js';
import { entries, exportLedger, inclusionProof, treeSize } from './ledger.js';
import { stateMigrations } from './migrations.js';
import type { WriteGuard } from './state.js';
import { writing } from './writing.js';

const ORIGIN = 'ingot.test/state';

/**
 * The state's contract: one suite, written once, that every engine's adapter runs (SQLite in
 * src/adapters/sqlite/state.test.ts, PostgreSQL 15 in test/postgres-state.test.ts).
 */
export function stateContract(h: StateHarness): void {
  describe(`the state on ${h.engine}`, () => {
    fleetStoreContract(h);
    releasesContract(h);
    historyContract(h);
    ledgerContract(h);
    writersContract(h);
  });
}

/** Several writers on one database: appends, checkpoints, migrations, fencing. */
function writersContract(h: StateHarness): void {
  const o = opener(h);

  describe('writers', () => {
    it('appends from many writers at once (two servers where the engine allows): gapless seqs, batches whole, one consistent tree', async () => {
      const { location, state, db } = await o.fresh();
      const other = h.parallelWriters ? await o.state(location) : state;
      const { privateKey } = generateKeyPairSync('ed25519');
      const signers = [state, other].map(() => new Checkpointer(privateKey, ORIGIN));
      const ledgers = [state.ledger(signers[0]!), other.ledger(signers[1]!)];
      const batches = Array.from({ length: 80 }, (_, k) =>
        Array.from({ length: 1 + ((k * 5) % 7) }, (_, i) => draft(k, { detail: { k, i } })),
      );
      const checkpoints: Promise<StoredCheckpoint>[] = [];
      const appended = await Promise.all(
        batches.map(async (batch, k) => {
          const ledger = ledgers[k % 2]!;
          if (k % 20 === 5) checkpoints.push(ledger.checkpoint(T0 + k));
          return ledger.append(batch);
        }),
      );
      await Promise.all(checkpoints);
      const total = batches.reduce((n, b) => n + b.length, 0);
      expect(appended.flat().sort((a, b) => a - b)).toEqual(
        Array.from({ length: total }, (_, i) => i),
      );
      const log = await entries(db, { limit: 10_000 });
      for (const [k, seqs] of appended.entries()) {
        // One transaction each: consecutive seqs, holding exactly what the batch said.
        expect(seqs).toEqual(seqs.map((_, i) => seqs[0]! + i));
        expect(seqs.map((s) => log[s]!.detail)).toEqual(batches[k]!.map((d) => d.detail));
      }
      const { vkey } = signers[0]!;
      const last = await ledgers[1]!.checkpoint(T0 + 100);
      expect(openCheckpoint(last.note, parseVkey(vkey)).size).toBe(total);
      // The offline verifier: every leaf and stored subtree, every checkpoint consistent
      // with the next, each entry's inclusion in the last one.
      const ledger = await exportLedger(db, { origin: ORIGIN, vkey });
      expect(ledger.checkpoints.length).toBeGreaterThanOrEqual(2);
      expect(verifyLedger(ledger, { vkey })).toMatchObject({
        ok: true,
        size: total,
        anchored: total,
      });
      const root = openCheckpoint(last.note, parseVkey(vkey)).root;
      for (let seq = 0; seq < total; seq += 3) {
        const proof = await inclusionProof(db, seq, total);
        const leaf = leafHash(Buffer.from(ledger.entries[seq]!));
        expect(verifyInclusion(leaf, seq, total, proof, root), `inclusion ${seq}`).toBe(true);
      }
    });

    it('stores checkpoints every handle reads', async () => {
      const { location, state } = await o.fresh();
      const { privateKey } = generateKeyPairSync('ed25519');
      const ledger = state.ledger(new Checkpointer(privateKey, ORIGIN));
      expect(await state.latestCheckpoint()).toBeNull();
      await state.append([draft(0), draft(1), draft(2)]);
      const signed = await ledger.checkpoint(T0);
      expect(signed).toMatchObject({ size: 3, time: T0 });
      const later = await o.state(location);
      expect(await later.latestCheckpoint()).toEqual(signed);
      expect(await later.ledger(new Checkpointer(privateKey, ORIGIN)).latestCheckpoint()).toEqual(
        signed,
      );
    });

    it('migrates once: opening again, or several at once, changes nothing', async () => {
      const location = await h.fresh();
      const first = await o.state(location);
      await first.fleets.writeFleet(fleetState(), null, note('deploy'), releaseRecord(NEW));
      await first.append([draft(0)]);
      await first.close();
      const again = h.parallelWriters
        ? await Promise.all([o.state(location), o.state(location), o.state(location)])
        : [await o.state(location), await o.state(location)];
      for (const s of again) {
        expect(await s.fleets.fleet('web')).toMatchObject({ version: 1 });
        expect(
          (await s.fleets.history({ limit: 500, before: null })).reverse().map((e) => e.kind),
        ).toEqual(['deploy']);
      }
      const { db } = o.keep(await h.raw(location));
      expect(await treeSize(db)).toBe(2);
      const ran = await sql<{
        name: string;
      }>`select name from kysely_migration order by name`.execute(db);
      expect(ran.rows.map((r) => r.name)).toEqual(Object.keys(stateMigrations).sort());
      // And a fresh database opened by several servers at once migrates once.
      if (h.parallelWriters) {
        const empty = await h.fresh();
        await Promise.all([o.state(empty), o.state(empty), o.state(empty)]);
        const { db: raw } = o.keep(await h.raw(empty));
        const runs = await sql<{
          n: number;
        }>`select count(*) as n from kysely_migration`.execute(raw);
        expect(Number(runs.rows[0]!.n)).toBe(Object.keys(stateMigrations).length);
      }
    });

    it('fences a stale leader through the guard, in each write transaction', async () => {
      const { location, db } = await o.fresh();
      // What issue 18's leader election stores; the guard compares it inside the write.
      await sql`create table leader_epoch (id integer primary key, epoch integer not null)`.execute(
        db,
      );
      await sql`insert into leader_epoch values (1, 1)`.execute(db);
      const leading =
        (epoch: number): WriteGuard =>
        async (tx) => {
          const { rows } = await sql<{
            epoch: number;
          }>`select epoch from leader_epoch where id = 1`.execute(tx);
          if (rows[0]?.epoch !== epoch) throw new Error(`fenced: epoch ${epoch} is over`);
        };
      const old = await o.state(location, { guard: leading(1) });
      const next = await o.state(location, { guard: leading(2) });
      const { privateKey } = generateKeyPairSync('ed25519');
      expect(await old.append([draft(0)])).toEqual([0]);
      expect(await next.append([draft(1)]).catch((e: Error) => e.message)).toMatch(/fenced/);

      // The new leader takes over: a write transaction of its own, behind the writer lock.
      await writing(db, (tx) => sql`update leader_epoch set epoch = 2 where id = 1`.execute(tx));
      const refused = await Promise.allSettled([
        old.append([draft(1)]),
        old.fleets.writeFleet(fleetState(), null, note('deploy'), releaseRecord(NEW)),
        old.fleets.note(note('taint')),
        old.fleets.remember('web', { ...EMPTY_MEMORY, melting: true }, []),
        old.ledger(new Checkpointer(privateKey, ORIGIN)).checkpoint(T0),
      ]);
      for (const r of refused)
        expect(r.status === 'rejected' && String(r.reason)).toMatch(/fenced: epoch 1 is over/);
      expect(await treeSize(db)).toBe(1);
      expect(await next.fleets.fleets()).toEqual([]);
      expect(await next.fleets.history({ limit: 500, before: null })).toEqual([]);
      expect(await next.fleets.memories()).toEqual(new Map());
      expect(await next.latestCheckpoint()).toBeNull();
      expect(await next.append([draft(1)])).toEqual([1]);
      expect(await codeOf(next.ledger(new Checkpointer(privateKey, ORIGIN)).checkpoint(T0))).toBe(
        undefined,
      );
    });
  });
}
