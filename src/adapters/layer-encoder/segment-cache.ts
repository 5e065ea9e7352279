import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { isDigest, type Digest } from '../../domain/digest.js';
import { writeFileAtomic } from '../shared/atomic-file.js';
import type { CachedMember } from './protocol.js';

/** Where a compressed segment lives: a range of a committed layer blob. */
export interface MemberLocation {
  readonly blob: Digest;
  readonly offset: number;
  readonly length: number;
  /** sha256 of the member's bytes: checked before any reuse, so a damaged blob is never copied. */
  readonly sha256: string;
}

const MAX_ENTRIES = 200_000;
const MAX_FILE_BYTES = 128 * 1024 * 1024;

/**
 * Compressed segments of earlier builds, keyed by the hash of their uncompressed bytes and
 * the codec build that compressed them. The cache holds no data of its own, only where the
 * bytes are in the store, so it costs no disk and can never serve a blob the store lost.
 * Losing or deleting the cache file only makes the next build slower.
 */
export class SegmentCache {
  private readonly entries = new Map<string, MemberLocation>();

  constructor(private readonly file: string) {
    this.load();
  }

  /** The entries for one codec, with blob digests turned into paths, for the workers. */
  snapshot(codecId: string, blobPath: (d: Digest) => string): (readonly [string, CachedMember])[] {
    const suffix = `:${codecId}`;
    const out: [string, CachedMember][] = [];
    for (const [key, loc] of this.entries) {
      if (key.endsWith(suffix))
        out.push([
          key,
          { path: blobPath(loc.blob), offset: loc.offset, length: loc.length, sha256: loc.sha256 },
        ]);
    }
    return out;
  }

  /** Add what a committed build wrote; entries whose blob is gone are dropped on the way. */
  record(
    added: readonly (readonly [string, MemberLocation])[],
    blobExists: (d: Digest) => boolean,
  ): void {
    for (const [key, loc] of added) {
      this.entries.delete(key); // re-insert: the Map's order doubles as least-recently-written
      this.entries.set(key, loc);
    }
    const alive = new Map<Digest, boolean>();
    for (const [key, loc] of this.entries) {
      let ok = alive.get(loc.blob);
      if (ok === undefined) alive.set(loc.blob, (ok = blobExists(loc.blob)));
      if (!ok) this.entries.delete(key);
    }
    for (const key of this.entries.keys()) {
      if (this.entries.size <= MAX_ENTRIES) break;
      this.entries.delete(key);
    }
    mkdirSync(dirname(this.file), { recursive: true });
    writeFileAtomic(this.file, JSON.stringify({ version: 1, entries: [...this.entries] }));
  }

  private load(): void {
    if (!existsSync(this.file) || statSync(this.file).size > MAX_FILE_BYTES) return;
    let doc: unknown;
    try {
      doc = JSON.parse(readFileSync(this.file, 'utf8'));
    } catch {
      return; // a damaged cache is an empty cache
    }
    const list = (doc as { version?: unknown; entries?: unknown }).entries;
    if ((doc as { version?: unknown }).version !== 1 || !Array.isArray(list)) return;
    for (const item of list as unknown[]) {
      if (!Array.isArray(item) || typeof item[0] !== 'string') continue;
      const loc = item[1] as Partial<MemberLocation> | undefined;
      if (
        !loc ||
        !isDigest(loc.blob) ||
        !isCount(loc.offset) ||
        !isCount(loc.length) ||
        typeof loc.sha256 !== 'string'
      )
        continue;
      this.entries.set(item[0], {
        blob: loc.blob,
        offset: loc.offset,
        length: loc.length,
        sha256: loc.sha256,
      });
    }
  }
}

function isCount(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}
