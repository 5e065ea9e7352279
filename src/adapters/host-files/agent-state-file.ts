import {
  closeSync,
  copyFileSync,
  existsSync,
  fsync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { AgentStateStore, SavedInstance } from '../../ports/agent-state.js';
import { fsyncDir, writeFileAtomic } from '../shared/atomic-file.js';
import { decodeJournal, encodeRecord } from './journal-records.js';

export interface AgentStateFileOptions {
  /**
   * The journal is rewritten as its live instances once it holds this many records more than
   * four per live instance (default 256): appends stay O(1) each, amortised, and the file
   * stays within a small multiple of what it describes.
   */
  readonly compactAfter?: number;
}

/**
 * The agent's record of its instances: `$INGOT_HOME/agent/state.journal`, one line per change
 * (see journal-records.ts), appended and never rewritten in place. A change is in the file
 * (the page cache) when put/remove returns, so a killed agent loses nothing; it is fsynced in
 * the background, coalesced, so that a start storm never waits on the disk in the event loop
 * (a power loss ends every instance anyway; what it may cost is the last few changes, whole).
 * The journal is compacted (temp file, fsync, rename) when it opens and when it grows long.
 * The `state.json` of earlier versions (the record rewritten whole on every change) is read
 * once, carried into the journal, and removed.
 */
export class AgentStateFile implements AgentStateStore {
  private readonly dir: string;
  private readonly journal: string;
  private readonly legacy: string;
  private readonly compactAfter: number;
  /** The instances as saved, by id; null until the journal is opened. */
  private live: Map<string, unknown> | null = null;
  private fd: number | null = null;
  /** Records in the journal file now. */
  private records = 0;
  /** Appends not yet fsynced, and the background fsync under way. */
  private dirty = false;
  private syncing: Promise<void> | null = null;
  private syncError: Error | null = null;
  /** Descriptors replaced by a compaction, closed once no fsync can be using them. */
  private retired: number[] = [];

  constructor(home: string, options: AgentStateFileOptions = {}) {
    this.dir = join(home, 'agent');
    this.journal = join(this.dir, 'state.journal');
    this.legacy = join(this.dir, 'state.json');
    this.compactAfter = options.compactAfter ?? 256;
  }

  load(): unknown[] {
    return [...this.open().values()];
  }

  put(instance: SavedInstance): void {
    const live = this.open();
    this.append(encodeRecord({ op: 'put', id: instance.id, instance }));
    live.delete(instance.id);
    live.set(instance.id, instance);
    this.maybeCompact();
  }

  remove(id: string): void {
    const live = this.open();
    if (!live.has(id)) return;
    this.append(encodeRecord({ op: 'del', id }));
    live.delete(id);
    this.maybeCompact();
  }

  async flush(): Promise<void> {
    while (this.syncing) await this.syncing;
    const err = this.syncError;
    this.syncError = null;
    if (err !== null) throw err;
  }

  /** Everything on disk and the file closed; a later change opens it again. */
  async close(): Promise<void> {
    await this.flush();
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    this.live = null;
  }

  /** The saved instances, read (and migrated, and compacted) on first use. */
  private open(): Map<string, unknown> {
    if (this.live) return this.live;
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    let live: Map<string, unknown>;
    let migrated = false;
    if (existsSync(this.journal)) {
      const decoded = decodeJournal(readFileSync(this.journal, 'utf8'));
      // Whole-looking records after a bad one: something other than a crash wrote here.
      if (decoded.damaged) copyFileSync(this.journal, `${this.journal}.damaged-${Date.now()}`);
      live = decoded.instances;
    } else {
      live = this.readLegacy();
      migrated = existsSync(this.legacy);
    }
    this.live = live;
    // Always rewritten clean: an append after a torn tail would be glued to half a line.
    this.compact();
    if (migrated) {
      rmSync(this.legacy, { force: true });
      fsyncDir(this.dir);
    }
    return live;
  }

  /** An earlier version's whole-file record; damaged, it is set aside and empty. */
  private readLegacy(): Map<string, unknown> {
    const live = new Map<string, unknown>();
    if (!existsSync(this.legacy)) return live;
    try {
      const saved = (JSON.parse(readFileSync(this.legacy, 'utf8')) as { instances?: unknown })
        .instances;
      for (const s of Array.isArray(saved) ? saved : [])
        if (typeof s === 'object' && s !== null && typeof (s as { id?: unknown }).id === 'string')
          live.set((s as { id: string }).id, s);
    } catch {
      // Damaged: kept for inspection; every container becomes an orphan.
      renameSync(this.legacy, `${this.legacy}.damaged-${Date.now()}`);
    }
    return live;
  }

  private append(line: string): void {
    if (this.fd === null) this.fd = openSync(this.journal, 'a', 0o600);
    const bytes = Buffer.from(line);
    for (let off = 0; off < bytes.length;)
      off += writeSync(this.fd, bytes, off, bytes.length - off);
    this.records++;
    this.scheduleSync();
  }

  private maybeCompact(): void {
    if (this.records >= 4 * this.live!.size + this.compactAfter) this.compact();
  }

  /** The journal replaced by its live instances, one record each (durable: temp + rename). */
  private compact(): void {
    const lines = [...this.live!].map(([id, instance]) =>
      encodeRecord({ op: 'put', id, instance }),
    );
    writeFileAtomic(this.journal, lines.join(''), { mode: 0o600 });
    this.records = lines.length;
    if (this.fd !== null) this.retired.push(this.fd);
    this.fd = null;
    this.closeRetired();
  }

  /** fsync in the background, one at a time, as long as there are appends it has not covered. */
  private scheduleSync(): void {
    this.dirty = true;
    this.syncing ??= this.syncLoop().finally(() => {
      this.syncing = null;
      this.closeRetired();
    });
  }

  private async syncLoop(): Promise<void> {
    while (this.dirty && this.fd !== null) {
      this.dirty = false;
      const fd = this.fd;
      await new Promise<void>((resolve) =>
        fsync(fd, (err) => {
          if (err) this.syncError = err;
          resolve();
        }),
      );
    }
    // A compaction since made everything durable (temp file fsynced, then renamed).
    this.dirty = false;
  }

  private closeRetired(): void {
    if (this.syncing) return;
    for (const fd of this.retired.splice(0)) closeSync(fd);
  }
}
