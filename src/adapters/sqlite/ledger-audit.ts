import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  encodeEntry,
  leafHash,
  openCheckpoint,
  parseVkey,
  verifyInclusion,
  verifyLedger,
  whatRan,
  ExportedLedger,
  parseLedgerExport,
  type Checkpoint,
  type EntryQuery,
  type LedgerEntry,
  type LedgerExport,
  type LedgerVerdict,
  type RanInstance,
  type StoredCheckpoint,
} from '../../core/ledger/index.js';
import { IngotError } from '../../domain/errors.js';
import { entries, exportLedger, inclusionProof, latestCheckpoint } from '../sql/ledger.js';
import { openLedgerReader } from './ledger-reader.js';

/** An entry with its inclusion proof against a signed checkpoint, checked here. */
export interface ProvenEntry {
  readonly entry: LedgerEntry;
  readonly checkpoint: StoredCheckpoint;
  /** Base64 hashes, leaf to root (RFC 9162 §2.1.3). */
  readonly proof: readonly string[];
  readonly verified: boolean;
}

/** What an audit reads: the database itself, or an export of it. */
interface AuditSource {
  entries(query: EntryQuery): Promise<LedgerEntry[]>;
  latestCheckpoint(): Promise<StoredCheckpoint | null>;
  inclusionProof(seq: number, size: number): Promise<Uint8Array[]>;
  export(header: { readonly origin: string; readonly vkey: string }): Promise<LedgerExport>;
  close(): Promise<void>;
}

function databaseSource(reader: ReturnType<typeof openLedgerReader>): AuditSource {
  return {
    entries: (query) => entries(reader.db, query),
    latestCheckpoint: () => latestCheckpoint(reader.db),
    inclusionProof: (seq, size) => inclusionProof(reader.db, seq, size),
    export: (header) => exportLedger(reader.db, header),
    close: () => reader.close(),
  };
}

function exportSource(exported: ExportedLedger): AuditSource {
  return {
    entries: (query) => Promise.resolve(exported.entries(query)),
    latestCheckpoint: () => Promise.resolve(exported.latestCheckpoint()),
    inclusionProof: (seq, size) => Promise.resolve(exported.inclusionProof(seq, size)),
    // The export as it came: verifyLedger checks its nodes against the entries' tree.
    export: () => Promise.resolve(exported.exported),
    close: () => Promise.resolve(),
  };
}

/**
 * The auditor's view of a ledger, read-only: a home's database (or a cluster's), or an
 * export of one (a file, or what a server sent). The verifier key comes from
 * `$INGOT_HOME/keys/ledger.vkey` unless one is given (a real audit brings its own).
 */
export class LedgerAudit {
  private constructor(
    private readonly source: AuditSource,
    readonly vkey: string,
  ) {}

  /**
   * `database`: a cluster's `postgres://` URL (read-only sessions) instead of the home's
   * state.db; the verifier key still comes from the home unless given.
   */
  static async open(home: string, vkeyFile?: string, database?: string): Promise<LedgerAudit> {
    const file = vkeyFile ?? join(home, 'keys', 'ledger.vkey');
    const vkey = readVkey(file, `no verifier key at ${file}: has \`ingot up\` run here?`);
    if (database !== undefined && /^postgres(ql)?:\/\//i.test(database)) {
      const { openPostgresLedgerReader } = await import('../postgres/ledger-reader.js');
      return new LedgerAudit(databaseSource(openPostgresLedgerReader(database)), vkey);
    }
    return new LedgerAudit(databaseSource(openLedgerReader(join(home, 'state.db'))), vkey);
  }

  /**
   * An export's text (`where` names it in errors), checked against the key in `vkeyFile`, or
   * else against the key its header names: then only as much as whoever sent it is trusted.
   */
  static fromExport(text: string, where: string, vkeyFile?: string): LedgerAudit {
    const exported = new ExportedLedger(parseLedgerExport(text, where));
    const vkey =
      vkeyFile === undefined
        ? exported.exported.vkey
        : readVkey(vkeyFile, `cannot read the verifier key ${vkeyFile}`);
    return new LedgerAudit(exportSource(exported), vkey);
  }

  get origin(): string {
    return parseVkey(this.vkey).name;
  }

  entries(query: EntryQuery): Promise<LedgerEntry[]> {
    return this.source.entries(query);
  }

  /** Every entry, in order (what-ran and a full log need them all). */
  async all(): Promise<LedgerEntry[]> {
    const out: LedgerEntry[] = [];
    for (;;) {
      const page = await this.source.entries({ from: out.length, limit: 10_000 });
      out.push(...page);
      if (page.length < 10_000) return out;
    }
  }

  latestCheckpoint(): Promise<StoredCheckpoint | null> {
    return this.source.latestCheckpoint();
  }

  /** Entry `seq` with its inclusion proof against the latest checkpoint, verified. */
  async prove(seq: number): Promise<ProvenEntry> {
    const [entry] = await this.source.entries({ from: seq, to: seq + 1 });
    if (!entry) throw new IngotError('E_LEDGER_RANGE', `the ledger has no entry ${seq}`);
    const anchor = await this.anchor();
    // The signed size, not the stored one: only what the signature covers is proven.
    if (!anchor || anchor.signed.size <= seq)
      throw new IngotError(
        'E_LEDGER_UNANCHORED',
        `entry ${seq} is not covered by a signed checkpoint yet: run \`ingot ledger checkpoint\``,
      );
    return this.proveAgainst(entry, anchor);
  }

  /** The latest checkpoint, its signature checked once for every proof made against it. */
  private async anchor(): Promise<{ stored: StoredCheckpoint; signed: Checkpoint } | null> {
    const stored = await this.source.latestCheckpoint();
    if (!stored) return null;
    return { stored, signed: openCheckpoint(stored.note, parseVkey(this.vkey), this.origin) };
  }

  private async proveAgainst(
    entry: LedgerEntry,
    anchor: { stored: StoredCheckpoint; signed: Checkpoint },
  ): Promise<ProvenEntry> {
    const proof = await this.source.inclusionProof(entry.seq, anchor.signed.size);
    // The stored body is canonical (decoding insists), so re-encoding gives its very bytes.
    const leaf = leafHash(encodeEntry(entry));
    return {
      entry,
      checkpoint: anchor.stored,
      proof: proof.map((h) => Buffer.from(h).toString('base64')),
      verified: verifyInclusion(leaf, entry.seq, anchor.signed.size, proof, anchor.signed.root),
    };
  }

  export(): Promise<LedgerExport> {
    return this.source.export({ origin: this.origin, vkey: this.vkey });
  }

  async verify(options: { trusted?: string; from?: LedgerExport } = {}): Promise<LedgerVerdict> {
    const ledger = options.from ?? (await this.export());
    return verifyLedger(ledger, {
      vkey: this.vkey,
      ...(options.trusted !== undefined && { trusted: options.trusted }),
    });
  }

  /** The instances that ran at `at`, each with proofs of the entries that say so. */
  async whatRan(at: number, fleet?: string): Promise<(RanInstance & { proofs: ProvenEntry[] })[]> {
    const ran = whatRan(await this.all(), at, fleet);
    const anchor = await this.anchor();
    const out = [];
    for (const r of ran) {
      const proofs: ProvenEntry[] = [];
      // Entries after the latest checkpoint have no proof yet (what-ran says so).
      if (anchor)
        for (const e of [r.started, ...(r.admission ? [r.admission] : [])])
          if (e.seq < anchor.signed.size) proofs.push(await this.proveAgainst(e, anchor));
      out.push({ ...r, proofs });
    }
    return out;
  }

  close(): Promise<void> {
    return this.source.close();
  }
}

function readVkey(file: string, missing: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    throw new IngotError('E_LEDGER_NONE', missing);
  }
}
