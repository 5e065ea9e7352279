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

/** A whole part (one OCI layer) of an earlier build, by the key of everything in it. */
export interface StoredPart {
  readonly digest: Digest;
  readonly size: number;
  readonly diffId: Digest;
  /**
   * The sha1 (hex) of each regular file of the part, in order, for the SBOM. The part's key
   * commits to each file's sha256, so these are known by content too, and a build that
   * reuses the part need not hash its files twice.
   */
  readonly sha1s: string;
}

const MAX_ENTRIES = 200_000;
const MAX_PARTS = 50_000;
/** About a million files' sha1s: the cache file stays a few tens of megabytes at most. */
const MAX_SHA1_CHARS = 40 * 1024 * 1024;
const MAX_FILE_BYTES = 128 * 1024 * 1024;

/**
 * Compressed segments of earlier builds, keyed by the hash of their uncompressed bytes and
 * the codec build that compressed them; and whole parts (layer blobs) of earlier builds,
 * keyed by the hash of their entries' headers and content. The cache holds no data of its own, only where the
 * bytes are in the store, so it costs no disk and can never serve a blob the store lost.
 * Losing or deleting the cache file only makes the next build slower.
 */
export class SegmentCache {
  private readonly entries = new Map<string, MemberLocation>();
  private readonly parts = new Map<string, StoredPart>();

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

  /** Whether any part was recorded for this codec: only then is looking parts up worth a pass. */
  hasParts(codecId: string): boolean {
    const suffix = `:${codecId}`;
    for (const key of this.parts.keys()) if (key.endsWith(suffix)) return true;
    return false;
  }

  part(key: string): StoredPart | undefined {
    return this.parts.get(key);
  }

  /** Add what a committed build wrote; entries whose blob is gone are dropped on the way. */
  record(
    added: readonly (readonly [string, MemberLocation])[],
    addedParts: readonly (readonly [string, StoredPart])[],
    blobExists: (d: Digest) => boolean,
  ): void {
    // Re-inserted: a Map's order doubles as least-recently-written.
    for (const [key, loc] of added) {
      this.entries.delete(key);
      this.entries.set(key, loc);
    }
    for (const [key, part] of addedParts) {
      this.parts.delete(key);
      this.parts.set(key, part);
    }
    const alive = new Map<Digest, boolean>();
    const exists = (d: Digest): boolean => {
      let ok = alive.get(d);
      if (ok === undefined) alive.set(d, (ok = blobExists(d)));
      return ok;
    };
    for (const [key, loc] of this.entries) if (!exists(loc.blob)) this.entries.delete(key);
    for (const [key, part] of this.parts) if (!exists(part.digest)) this.parts.delete(key);
    trim(this.entries, MAX_ENTRIES);
    trim(this.parts, MAX_PARTS);
    let chars = 0;
    for (const part of this.parts.values()) chars += part.sha1s.length;
    for (const [key, part] of this.parts) {
      if (chars <= MAX_SHA1_CHARS) break;
      chars -= part.sha1s.length;
      this.parts.delete(key);
    }
    mkdirSync(dirname(this.file), { recursive: true });
    writeFileAtomic(
      this.file,
      JSON.stringify({ version: 1, entries: [...this.entries], parts: [...this.parts] }),
    );
  }

  private load(): void {
    if (!existsSync(this.file) || statSync(this.file).size > MAX_FILE_BYTES) return;
    let doc: unknown;
    try {
      doc = JSON.parse(readFileSync(this.file, 'utf8'));
    } catch {
      return; // a damaged cache is an empty cache
    }
    const {
      version,
      entries: list,
      parts,
    } = doc as {
      version?: unknown;
      entries?: unknown;
      parts?: unknown;
    };
    if (version !== 1 || !Array.isArray(list)) return;
    for (const item of Array.isArray(parts) ? (parts as unknown[]) : []) {
      if (!Array.isArray(item) || typeof item[0] !== 'string') continue;
      const part = item[1] as Partial<StoredPart> | undefined;
      if (
        part &&
        isDigest(part.digest) &&
        isDigest(part.diffId) &&
        isCount(part.size) &&
        typeof part.sha1s === 'string' &&
        part.sha1s.length % 40 === 0 &&
        /^[0-9a-f]*$/.test(part.sha1s)
      )
        this.parts.set(item[0], {
          digest: part.digest,
          size: part.size,
          diffId: part.diffId,
          sha1s: part.sha1s,
        });
    }
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

function trim(map: Map<string, unknown>, max: number): void {
  for (const key of map.keys()) {
    if (map.size <= max) break;
    map.delete(key);
  }
}

function isCount(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}
