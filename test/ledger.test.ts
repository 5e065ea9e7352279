import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerKey } from '../src/adapters/keys/ledger-key.js';
import { Checkpointer } from '../src/adapters/sql/checkpointer.js';
import { appendEntries, treeSize, type LedgerDb } from '../src/adapters/sql/ledger.js';
import { openLedgerReader } from '../src/adapters/sqlite/ledger-reader.js';
import { SqliteState } from '../src/adapters/sqlite/state.js';
import type { ReleaseRecord } from '../src/core/fleet/record.js';
import { parseFleet } from '../src/core/fleet/spec.js';
import { deployed, judged } from '../src/core/fleet/transitions.js';
import { decodeEntry } from '../src/core/ledger/index.js';
import type { Digest } from '../src/domain/digest.js';
import type { FleetStore } from '../src/ports/fleet-store.js';
import { changeFleet } from '../src/services/fleets/change-fleet.js';
import { rollBack } from '../src/services/fleets/rollback.js';
import { ingot } from './helpers/cli.js';

const digest = (c: string) => `sha256:${c.repeat(64)}` as Digest;

/** A release of fleet "web"; the ledger records digests and the strategy's name. */
const release = (d: Digest, at: number): ReleaseRecord => ({
  digest: d,
  fleet: 'web',
  artifact: digest('a'),
  spec: parseFleet('name: web\nartifact: web:1\nreplicas: 1\n', 'fleet.yaml'),
  createdAt: at,
});
const deploy = (fleets: FleetStore, r: ReleaseRecord, at: number) =>
  changeFleet(fleets, r.fleet, (f) =>
    Promise.resolve({ change: deployed(f, r, at, 'admin'), release: r }),
  );

/**
 * The ledger as an attacker who holds the database file sees it: rows edited, deleted,
 * reordered, inserted; history truncated and written again with every hash recomputed, and
 * even re-signed with the stolen key; a checkpoint's signature swapped. `ingot ledger
 * verify` fails on each, names the first bad entry or checkpoint, and exits 1.
 */
describe('ledger: tampering with the database is caught', () => {
  let root: string;
  let home: string;
  let saved: string; // a checkpoint an auditor kept, before any tampering

  /** A fresh copy of the home to tamper with; returns a raw handle on its database. */
  const victim = (name: string) => {
    const dir = join(root, name);
    mkdirSync(join(dir, 'keys'), { recursive: true, mode: 0o700 });
    copyFileSync(join(home, 'state.db'), join(dir, 'state.db'));
    for (const f of ['ledger.vkey', 'ledger.key', 'ledger.origin'])
      copyFileSync(join(home, 'keys', f), join(dir, 'keys', f));
    const db = new SQLite(join(dir, 'state.db'));
    // The triggers stop a bug, not the owner of the file: the attacker drops them first.
    for (const t of ['ledger_entries', 'ledger_nodes', 'ledger_checkpoints'])
      for (const op of ['update', 'delete']) db.exec(`drop trigger ${t}_no_${op}`);
    return { dir, db };
  };
  const verify = (dir: string, ...args: string[]) =>
    ingot(['ledger', 'verify', ...args], { env: { INGOT_HOME: dir } });

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'ingot-ledger-'));
    home = join(root, 'home');
    mkdirSync(home, { mode: 0o700 });
    const state = await SqliteState.open(join(home, 'state.db'));
    const key = ledgerKey(home);
    const ledger = state.ledger(new Checkpointer(key.privateKey, key.origin));
    let t = 1_000;
    for (let n = 0; n < 6; n++) {
      const r = release(digest(String(n)), t);
      await deploy(state.fleets, r, t++);
      await ledger.append([
        {
          time: t++,
          actor: 'agent',
          kind: 'instance-started',
          subjects: [digest('a')],
          fleet: 'web',
          instance: `web-${n}`,
          detail: { release: r.digest },
        },
      ]);
      const at = t++;
      await changeFleet(state.fleets, 'web', (f) =>
        Promise.resolve({ change: judged(f!, 'complete', null, at)! }),
      );
      if (n === 2) await ledger.checkpoint(t);
    }
    await ledger.checkpoint(t);
    await state.close();
    const r = ingot(['ledger', 'checkpoint'], { env: { INGOT_HOME: home } });
    expect(r.code, r.stderr).toBe(0);
    saved = join(root, 'kept-checkpoint.txt');
    writeFileSync(saved, r.stdout);
  });

  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('an untouched ledger verifies, with the kept checkpoint too', () => {
    const r = verify(home, '--since', saved);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^ok: 18 entries, root \S+, 2 checkpoint\(s\) verified/);
    // Each action and its entry committed together: one entry per action, in order.
    const log = JSON.parse(
      ingot(['ledger', 'log', '-o', 'json'], { env: { INGOT_HOME: home } }).stdout,
    ) as { seq: number; kind: string; time: string }[];
    expect(log.slice(0, 3).map((e) => e.kind)).toEqual([
      'deploy',
      'instance-started',
      'rollout-complete',
    ]);
    // Times as data are RFC 3339, as in every -o json (the export keeps the signed form).
    expect(log.every((e) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(e.time))).toBe(true);
  });

  it('exports to a file whole, and the export verifies offline', () => {
    const dir = mkdtempSync(join(root, 'export-'));
    const out = join(dir, 'ledger.json');
    const r = ingot(['ledger', 'export', '--out', out], { env: { INGOT_HOME: home } });
    expect(r.code, r.stderr).toBe(0);
    // Written aside and renamed into place: nothing else is left in the folder.
    expect(readdirSync(dir)).toEqual(['ledger.json']);
    const v = verify(home, '--export', out);
    expect(v.code, v.stderr).toBe(0);
    expect(v.stdout).toMatch(/^ok: 18 entries/);
  });

  it('an entry edited in place', () => {
    const { dir, db } = victim('edit');
    db.prepare(
      "update ledger_entries set body = replace(body, 'web-3', 'web-9') where seq = 10",
    ).run();
    db.close();
    const r = verify(dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/FAILED \(E_LEDGER_ENTRY\) at entry 10/);
  });

  it('an entry deleted', () => {
    const { dir, db } = victim('delete');
    db.prepare('delete from ledger_entries where seq = 7').run();
    db.close();
    const r = verify(dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/FAILED \(E_LEDGER_SEQ\) at entry 7/);
  });

  it('two entries reordered', () => {
    const { dir, db } = victim('reorder');
    const body = (seq: number) =>
      (db.prepare('select body from ledger_entries where seq = ?').get(seq) as { body: string })
        .body;
    const [four, five] = [body(4), body(5)];
    db.prepare('update ledger_entries set body = ? where seq = 4').run(five);
    db.prepare('update ledger_entries set body = ? where seq = 5').run(four);
    db.close();
    const r = verify(dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/FAILED \(E_LEDGER_(SEQ|ENTRY)\) at entry 4/);
  });

  it('an entry inserted', () => {
    const { dir, db } = victim('insert');
    const last = (
      db.prepare('select body from ledger_entries where seq = 17').get() as { body: string }
    ).body;
    db.prepare('insert into ledger_entries (seq, body) values (18, ?)').run(
      last.replace('"seq":17', '"seq":18'),
    );
    db.close();
    const r = verify(dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/FAILED \(E_LEDGER_\w+\) at entry 18/);
  });

  it('history truncated and written again, every hash recomputed', async () => {
    const { dir, db } = victim('rewrite');
    db.exec('delete from ledger_entries where seq >= 6');
    db.exec('delete from ledger_nodes');
    db.close();
    // Every node recomputed from the remaining entries and a different history appended.
    const handle = await rebuild(join(dir, 'state.db'));
    // Longer than before, so that every old checkpoint falls on the new history.
    await appendEntries(
      handle,
      Array.from({ length: 14 }, (_, n) => ({
        time: 9 + n,
        actor: 'intruder',
        kind: 'deploy',
        subjects: [],
        fleet: 'web',
        detail: { n },
      })),
    );
    await handle.destroy();
    const r = verify(dir);
    expect(r.code).toBe(1);
    // The old checkpoints no longer match the recomputed tree.
    expect(r.stderr).toMatch(/FAILED \(E_LEDGER_CHECKPOINT_ROOT\) at checkpoint 9/);
  });

  it('history rewritten and re-signed with the stolen key: only a kept checkpoint tells', async () => {
    const { dir, db } = victim('stolen-key');
    db.exec('delete from ledger_entries where seq >= 6');
    db.exec('delete from ledger_nodes');
    db.exec('delete from ledger_checkpoints');
    db.close();
    const handle = await rebuild(join(dir, 'state.db'));
    await appendEntries(handle, [
      { time: 9, actor: 'intruder', kind: 'deploy', subjects: [], fleet: 'web', detail: {} },
    ]);
    const key = ledgerKey(dir);
    // The server itself, which keeps its last checkpoint beside its key, refuses to sign it.
    await expect(
      new Checkpointer(key.privateKey, key.origin, readFileSync(saved, 'utf8')).checkpoint(
        handle,
        10,
      ),
    ).rejects.toThrow(/does not extend checkpoint/);
    // Whoever holds the key without that file can sign it.
    await new Checkpointer(key.privateKey, key.origin).checkpoint(handle, 10);
    await handle.destroy();
    // Self-consistent now: without an earlier checkpoint, nothing is wrong with it.
    expect(verify(dir).code).toBe(0);
    const r = verify(dir, '--since', saved);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/FAILED \(E_LEDGER_CONSISTENCY\)/);
  });

  it("a checkpoint's signature swapped for another's", () => {
    const { dir, db } = victim('swap');
    const notes = db.prepare('select size, note from ledger_checkpoints order by size').all() as {
      size: number;
      note: string;
    }[];
    const sig = (note: string) => note.slice(note.lastIndexOf('\n\n') + 2);
    const body = (note: string) => note.slice(0, note.lastIndexOf('\n\n') + 2);
    db.prepare('update ledger_checkpoints set note = ? where size = ?').run(
      body(notes[0]!.note) + sig(notes[1]!.note),
      notes[0]!.size,
    );
    db.close();
    const r = verify(dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(`FAILED \\(E_LEDGER_CHECKPOINT_SIG\\) at checkpoint ${notes[0]!.size}`),
    );
  });
});

/** The attacker's tool: the entries left appended again, so every stored node matches. */
async function rebuild(path: string): Promise<LedgerDb> {
  const database = new SQLite(path);
  const db: LedgerDb = new Kysely({ dialect: new SqliteDialect({ database }) });
  const rows = database.prepare('select body from ledger_entries order by seq').all() as {
    body: string;
  }[];
  database.exec('delete from ledger_entries');
  database.exec('delete from ledger_nodes');
  await appendEntries(
    db,
    rows.map((r) => {
      const { seq: _seq, ...draft } = decodeEntry(r.body);
      return draft;
    }),
  );
  return db;
}

describe('ledger: an action and its entry commit together', () => {
  it('no entry without its action, no action without its entry', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ingot-ledger-tx-'));
    try {
      const state = await SqliteState.open(join(dir, 'state.db'));
      const reader = openLedgerReader(join(dir, 'state.db'));
      const size = () => treeSize(reader.db);
      const fleets = state.fleets;
      await deploy(fleets, release(digest('1'), 1), 1);
      expect(await size()).toBe(1);
      // A rollback that cannot happen writes neither history nor entry.
      await expect(rollBack(fleets, 'web', { reason: 'why', at: 2 })).rejects.toThrow(
        /E_ROLLBACK_NONE|no earlier/,
      );
      // An entry that cannot be written (a subject that is no digest) undoes its action.
      await expect(deploy(fleets, release('not a digest' as Digest, 3), 3)).rejects.toThrow();
      expect(await size()).toBe(1);
      expect((await fleets.fleet('web'))?.release).toBe(digest('1'));
      expect(await fleets.history({ fleet: 'web', limit: 500, before: null })).toHaveLength(1);
      await reader.close();
      await state.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
