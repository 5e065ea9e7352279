import { generateKeyPairSync, hash } from 'node:crypto';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Checkpointer } from '../../src/adapters/sql/checkpointer.js';
import {
  appendEntries,
  consistencyProof,
  exportLedger,
  inclusionProof,
  rootAt,
  treeSize,
} from '../../src/adapters/sql/ledger.js';
import {
  TreeBuilder,
  formatLedgerExport,
  inclusionRanges,
  consistencyRanges,
  leafHash,
  makeEntry,
  parseLedgerExport,
  subtreesOf,
  verifyConsistency,
  verifyInclusion,
  verifyLedger,
} from '../../src/core/ledger/index.js';
import { drafts, fileBytes, fmt, measure, median, migrate, open, timeEach, us } from './shared.js';

/**
 * bench/ledger: the ledger's append throughput into a real SQLite file (WAL,
 * synchronous=FULL, as the fleet store opens it) next to SQLite writing the same rows with
 * raw prepared statements and SHA-256 over the same bytes, all in one run; proof generation
 * and verification at 1,000,000 entries next to the raw reads and hashes they need; bytes of
 * storage per entry; and the offline audit's speed.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const WORK = join(ROOT, 'bench', '.work', 'ledger');
const RUNS = Math.max(1, Number(process.env['BENCH_RUNS'] ?? 3));
const APPEND = Number(process.env['BENCH_ENTRIES'] ?? 200_000);
const BATCH = Number(process.env['BENCH_BATCH'] ?? 1000);
const BIG = Number(process.env['BENCH_BIG'] ?? 1_000_000);
const PROBES = 1000;
const ORIGIN = 'bench.ingot/ledger';

const medianRate = (xs: Rate[]): Rate => ({
  rate: median(xs.map((x) => x.rate)),
  cpu: median(xs.map((x) => x.cpu)),
});

// ---------------------------------------------------------------------------------------------
// 1. Append throughput

/** Entries per second (wall clock) and CPU µs per entry, medians over the rounds. */
interface Rate {
  rate: number;
  cpu: number;
}

interface AppendResult {
  ours: Rate;
  rawAll: Rate;
  rawEntries: Rate;
  sha: Rate;
  encode: Rate;
  single: Rate;
  bytesOurs: number;
  bytesRawEntries: number;
  meanBody: number;
}

async function appendBench(): Promise<AppendResult> {
  const input = drafts(APPEND);
  // What the limits write: the same bodies and the same node rows, computed once, untimed.
  const bodies = input.map((d, i) => makeEntry(i, d).body);
  const nodes: { level: number; idx: number; hash: Buffer }[] = [];
  const builder = new TreeBuilder();
  for (const body of bodies)
    builder.push(leafHash(Buffer.from(body)), (level, idx, h) =>
      nodes.push({ level, idx, hash: h as Buffer }),
    );
  const meanBody = bodies.reduce((s, b) => s + Buffer.byteLength(b), 0) / bodies.length;

  const rate = (m: { ms: number; cpu: number }, n = APPEND): Rate => ({
    rate: (n / m.ms) * 1000,
    cpu: m.cpu / n,
  });
  const ours: Rate[] = [];
  const rawAll: Rate[] = [];
  const rawEntries: Rate[] = [];
  let bytesOurs = 0;
  let bytesRawEntries = 0;

  for (let run = 0; run < RUNS; run++) {
    // Ingot: appendEntries through Kysely, one transaction per batch.
    {
      const path = join(WORK, 'append.db');
      const { database, db } = open(path, true);
      await migrate(db);
      const m = await measure(async () => {
        for (let i = 0; i < APPEND; i += BATCH) await appendEntries(db, input.slice(i, i + BATCH));
      });
      ours.push(rate(m));
      bytesOurs = fileBytes(database, path);
      await db.destroy();
    }
    // Limit: SQLite writing the same entry and node rows, raw prepared statements, same
    // batches, no validation, no encoding, no hashing.
    {
      const path = join(WORK, 'raw.db');
      const { database, db } = open(path, true);
      await migrate(db);
      const insertEntry = database.prepare('insert into ledger_entries (seq, body) values (?, ?)');
      const insertNode = database.prepare(
        'insert into ledger_nodes (level, idx, hash) values (?, ?, ?)',
      );
      let n = 0;
      const write = database.transaction((from: number, to: number) => {
        for (let i = from; i < to; i++) insertEntry.run(i, bodies[i]);
        for (; n < nodes.length && (nodes[n]!.idx + 1) * 2 ** nodes[n]!.level <= to; n++)
          insertNode.run(nodes[n]!.level, nodes[n]!.idx, nodes[n]!.hash);
      });
      const m = await measure(() => {
        for (let i = 0; i < APPEND; i += BATCH) write(i, Math.min(APPEND, i + BATCH));
      });
      rawAll.push(rate(m));
      await db.destroy();
    }
    // Limit: SQLite writing the entry rows alone (what a log without a tree would store).
    {
      const path = join(WORK, 'raw-entries.db');
      const { database, db } = open(path, true);
      await migrate(db);
      const insertEntry = database.prepare('insert into ledger_entries (seq, body) values (?, ?)');
      const write = database.transaction((from: number, to: number) => {
        for (let i = from; i < to; i++) insertEntry.run(i, bodies[i]);
      });
      const m = await measure(() => {
        for (let i = 0; i < APPEND; i += BATCH) write(i, Math.min(APPEND, i + BATCH));
      });
      rawEntries.push(rate(m));
      bytesRawEntries = fileBytes(database, path);
      await db.destroy();
    }
  }

  // SHA-256 of the same bytes, once each: the hashing floor of any log over these entries.
  const buffers = bodies.map((b) => Buffer.from(b));
  const sha = rate(
    await measure(() => {
      for (const b of buffers) hash('sha256', b, 'buffer');
    }),
  );
  // Validation and canonical encoding alone (zod + RFC 8785), no storage.
  const encode = rate(
    await measure(() => {
      for (const [i, d] of input.entries()) makeEntry(i, d);
    }),
  );

  // One entry per transaction: every append pays its own fsync.
  const { database, db } = open(join(WORK, 'single.db'), true);
  await migrate(db);
  const singles = input.slice(0, 300);
  const single = rate(
    await measure(async () => {
      for (const d of singles) await appendEntries(db, [d]);
    }),
    singles.length,
  );
  await db.destroy();
  database.close();

  return {
    ours: medianRate(ours),
    rawAll: medianRate(rawAll),
    rawEntries: medianRate(rawEntries),
    sha,
    encode,
    single,
    bytesOurs: bytesOurs / APPEND,
    bytesRawEntries: bytesRawEntries / APPEND,
    meanBody,
  };
}

// ---------------------------------------------------------------------------------------------
// 2. Proofs at 1,000,000 entries

async function bigLedger() {
  const path = join(WORK, `big-${BIG}.db`);
  const exists = existsSync(path);
  const { database, db } = open(path, false);
  if (!exists || (await treeSize(db).catch(() => -1)) !== BIG) {
    await db.destroy();
    const fresh = open(path, true);
    await migrate(fresh.db);
    const t = performance.now();
    const CHUNK = 100_000;
    for (let from = 0; from < BIG; from += CHUNK) {
      const input = drafts(Math.min(CHUNK, BIG - from), from + 7);
      for (let i = 0; i < input.length; i += 10_000)
        await appendEntries(fresh.db, input.slice(i, i + 10_000));
      process.stderr.write(`\rbuilding ${fmt(from + input.length)} / ${fmt(BIG)} entries`);
    }
    process.stderr.write(` in ${fmt((performance.now() - t) / 1000, 1)} s\n`);
    return fresh;
  }
  return { database, db };
}

async function proofBench() {
  const { database, db } = await bigLedger();
  const n = await treeSize(db);
  let x = 42;
  const rand = (k: number) => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) % k;
  const seqs = Array.from({ length: PROBES }, () => rand(n));
  const olds = Array.from({ length: PROBES }, () => 1 + rand(n - 1));
  const root = await rootAt(db, n);
  const body = database.prepare('select body from ledger_entries where seq = ?').pluck();
  const leaves = seqs.map((s) => leafHash(Buffer.from(body.get(s) as string)));
  const incl = await Promise.all(seqs.map((s) => inclusionProof(db, s, n)));
  const oldRoots = await Promise.all(olds.map((m) => rootAt(db, m)));
  const cons = await Promise.all(olds.map((m) => consistencyProof(db, m, n)));
  for (let i = 0; i < PROBES; i++) {
    if (!verifyInclusion(leaves[i]!, seqs[i]!, n, incl[i]!, root)) throw new Error('inclusion');
    if (!verifyConsistency(olds[i]!, n, cons[i]!, oldRoots[i]!, root))
      throw new Error('consistency');
  }

  const genIncl = await timeEach((i) => inclusionProof(db, seqs[i]!, n), PROBES);
  const genCons = await timeEach((i) => consistencyProof(db, olds[i]!, n), PROBES);
  const verIncl = await timeEach(
    (i) => verifyInclusion(leaves[i]!, seqs[i]!, n, incl[i]!, root),
    PROBES,
  );
  const verCons = await timeEach(
    (i) => verifyConsistency(olds[i]!, n, cons[i]!, oldRoots[i]!, root),
    PROBES,
  );

  // Floors: the same subtree reads as raw prepared point queries, in one read transaction;
  // the same number of node hashes (65-byte SHA-256) as the proofs have.
  const point = database
    .prepare('select hash from ledger_nodes where level = ? and idx = ?')
    .pluck();
  const readAll = database.transaction((subtrees: { level: number; index: number }[]) => {
    for (const s of subtrees) point.get(s.level, s.index);
  });
  const inclSubtrees = seqs.map((s) => subtreesOf(inclusionRanges(s, n)));
  const consSubtrees = olds.map((m) => subtreesOf(consistencyRanges(m, n)));
  const rawIncl = await timeEach((i) => readAll(inclSubtrees[i]!), PROBES);
  const rawCons = await timeEach((i) => readAll(consSubtrees[i]!), PROBES);
  const node = Buffer.alloc(65, 1);
  const inclLen = median(incl.map((p) => p.length));
  const consLen = median(cons.map((p) => p.length));
  const hashes = (k: number) => () => {
    for (let j = 0; j < k; j++) hash('sha256', node, 'buffer');
  };
  const shaIncl = await timeEach(hashes(inclLen), PROBES);
  const shaCons = await timeEach(hashes(consLen + 1), PROBES);

  const bytes = fileBytes(database, join(WORK, `big-${BIG}.db`));
  const meanReads = (xs: unknown[][]) => xs.reduce((s, a) => s + a.length, 0) / xs.length;
  await db.destroy();
  return {
    n,
    genIncl,
    genCons,
    verIncl,
    verCons,
    rawIncl,
    rawCons,
    shaIncl,
    shaCons,
    inclLen,
    consLen,
    inclReads: meanReads(inclSubtrees),
    consReads: meanReads(consSubtrees),
    bytesPerEntry: bytes / n,
  };
}

// ---------------------------------------------------------------------------------------------
// 3. The offline audit

async function auditBench() {
  const { database, db } = open(join(WORK, 'audit.db'), true);
  await migrate(db);
  const input = drafts(APPEND, 99);
  for (let i = 0; i < APPEND; i += 10_000) await appendEntries(db, input.slice(i, i + 10_000));
  const { privateKey } = generateKeyPairSync('ed25519');
  const signer = new Checkpointer(privateKey, ORIGIN);
  await signer.checkpoint(db, 0);
  let t = performance.now();
  const text = formatLedgerExport(await exportLedger(db, { origin: ORIGIN, vkey: signer.vkey }));
  const exportMs = performance.now() - t;
  t = performance.now();
  const parsed = parseLedgerExport(text);
  const parseMs = performance.now() - t;
  t = performance.now();
  const verdict = verifyLedger(parsed, { vkey: signer.vkey });
  const verifyMs = performance.now() - t;
  if (!verdict.ok) throw new Error(`audit failed: ${verdict.message}`);
  await db.destroy();
  database.close();
  return { exportMs, parseMs, verifyMs, bytes: Buffer.byteLength(text) };
}

// ---------------------------------------------------------------------------------------------

mkdirSync(WORK, { recursive: true });
console.log(
  `bench/ledger: ${fmt(APPEND)} entries appended in batches of ${fmt(BATCH)}, ${RUNS} rounds (median); proofs at ${fmt(BIG)} entries, ${PROBES} probes (median)`,
);

const a = await appendBench();
console.log('\n### Append (SQLite WAL, synchronous=FULL)\n');
console.log('| run | entries/s | vs ingot | CPU µs per entry |');
console.log('| --- | ---: | ---: | ---: |');
const row = (label: string, r: Rate) =>
  console.log(
    `| ${label} | ${fmt(r.rate)} | ${(r.rate / a.ours.rate).toFixed(2)}× | ${fmt(r.cpu, 1)} |`,
  );
row(`**ingot appendEntries, batches of ${fmt(BATCH)}**`, a.ours);
row('limit: raw better-sqlite3, same entry + node rows, same batches', a.rawAll);
row('limit: raw better-sqlite3, entry rows only', a.rawEntries);
row('limit: SHA-256 of the same bodies (no storage)', a.sha);
row('validation + canonical JSON alone (zod, RFC 8785)', a.encode);
row('ingot appendEntries, one entry per transaction (fsync each)', a.single);
console.log(
  `\nGoal ≥ 50,000 entries/s batched: ${a.ours.rate >= 50_000 ? '**met**' : '**not met**'} (${fmt(a.ours.rate)}); ingot runs at ${((a.ours.rate / a.rawAll.rate) * 100).toFixed(0)}% of SQLite writing the same rows; ${fmt(1e6 / a.ours.cpu)} entries per CPU-second.`,
);

const p = await proofBench();
console.log(`\n### Proofs at ${fmt(p.n)} entries\n`);
console.log('| run | median | vs floor |');
console.log('| --- | ---: | ---: |');
console.log(
  `| floor: raw point reads of the ${p.inclReads.toFixed(1)} subtrees an inclusion proof needs | ${us(p.rawIncl)} | |`,
);
console.log(
  `| **inclusionProof (Kysely: size check + one read)** | **${us(p.genIncl)}** | ${(p.genIncl / p.rawIncl).toFixed(1)}× |`,
);
console.log(
  `| floor: raw point reads of the ${p.consReads.toFixed(1)} subtrees a consistency proof needs | ${us(p.rawCons)} | |`,
);
console.log(
  `| **consistencyProof (Kysely: size check + one read)** | **${us(p.genCons)}** | ${(p.genCons / p.rawCons).toFixed(1)}× |`,
);
console.log(`| floor: ${p.inclLen} node hashes (SHA-256 of 65 bytes) | ${us(p.shaIncl)} | |`);
console.log(
  `| **verifyInclusion (${p.inclLen} hashes)** | **${us(p.verIncl)}** | ${(p.verIncl / p.shaIncl).toFixed(1)}× |`,
);
console.log(`| floor: ${p.consLen + 1} node hashes | ${us(p.shaCons)} | |`);
console.log(
  `| **verifyConsistency (${p.consLen}-hash proofs)** | **${us(p.verCons)}** | ${(p.verCons / p.shaCons).toFixed(1)}× |`,
);
const worst = Math.max(p.verIncl, p.verCons);
console.log(
  `\nGoal: verification < 1 ms: ${worst < 1 ? '**met**' : '**not met**'} (${us(worst)} at worst).`,
);

console.log('\n### Storage\n');
console.log('| | bytes per entry |');
console.log('| --- | ---: |');
console.log(`| mean entry body (canonical JSON) | ${fmt(a.meanBody)} |`);
console.log(`| entry rows alone in SQLite (raw limit above) | ${fmt(a.bytesRawEntries)} |`);
console.log(
  `| **ingot: entries + every subtree, ${fmt(APPEND)} entries** | **${fmt(a.bytesOurs)}** (${(a.bytesOurs / a.bytesRawEntries).toFixed(2)}× entries alone) |`,
);
console.log(`| **ingot at ${fmt(p.n)} entries** | **${fmt(p.bytesPerEntry)}** |`);

const audit = await auditBench();
const rateOf = (ms: number) => `${fmt((APPEND / ms) * 1000)} entries/s`;
console.log(
  `\n### Offline audit of ${fmt(APPEND)} entries (${fmt(audit.bytes / 1e6, 1)} MB export)\n`,
);
console.log('| step | time | rate |');
console.log('| --- | ---: | ---: |');
console.log(
  `| exportLedger + format (JSON Lines) | ${fmt(audit.exportMs)} ms | ${rateOf(audit.exportMs)} |`,
);
console.log(
  `| parseLedgerExport (zod, per line) | ${fmt(audit.parseMs)} ms | ${rateOf(audit.parseMs)} |`,
);
console.log(
  `| verifyLedger (decode, rehash, compare, checkpoints) | ${fmt(audit.verifyMs)} ms | ${rateOf(audit.verifyMs)} |`,
);

// The scratch databases go; the 1,000,000-entry one stays as a cache for the next run.
for (const name of ['append', 'raw', 'raw-entries', 'single', 'audit'])
  for (const suffix of ['', '-wal', '-shm'])
    rmSync(join(WORK, `${name}.db${suffix}`), { force: true });
