import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { isDigest, type Digest } from '../../domain/digest.js';
import { writeFileReplacing } from '../shared/atomic-file.js';
import { readFileUpTo } from '../shared/read-fd.js';
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

/** A part as the cache file records it: its files' sha1s are in a file of their own. */
interface PartRecord {
  readonly digest: Digest;
  readonly size: number;
  readonly diffId: Digest;
  /** sha256 (hex) of the sha1s file, so a torn or damaged one is never believed. */
  readonly sha1s: string;
}

const MAX_ENTRIES = 200_000;
const MAX_PARTS = 20_000;
const MAX_FILE_BYTES = 128 * 1024 * 1024;

/**
 * Compressed segments of earlier builds, keyed by the hash of their uncompressed bytes and
 * the codec build that compressed them; and whole parts (layer blobs) of earlier builds,
 * keyed by the hash of their entries' headers and content. The cache holds no layer data
 * of its own, only where the bytes are in the store, so it can never serve a blob the store
 * lost; beside it are the parts' sha1 lists (20 bytes a file), read only for parts reused.
 * Losing or deleting the cache only makes the next build slower.
 */
export class SegmentCache {
  private readonly entries = new Map<string, MemberLocation>();
  private readonly parts = new Map<string, PartRecord>();
  private readonly sha1Dir: string;

  /**
   * `secret` authenticates the file: records are believed only if this home (or one given
   * the same secret) wrote them. A cache copied from elsewhere, such as one restored into a
   * CI job from an untrusted job's (cache poisoning), is an empty cache.
   */
  constructor(
    private readonly file: string,
    private readonly secret: Uint8Array,
  ) {
    this.sha1Dir = join(dirname(file), 'part-sha1s');
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

  /** The part recorded under `key`, if its sha1 list is still whole. */
  part(key: string): StoredPart | undefined {
    const record = this.parts.get(key);
    if (!record) return undefined;
    let bytes: Buffer;
    try {
      bytes = readFileSync(this.sha1Path(record.digest));
    } catch {
      return undefined;
    }
    if (createHash('sha256').update(bytes).digest('hex') !== record.sha1s) return undefined;
    const { digest, size, diffId } = record;
    return { digest, size, diffId, sha1s: bytes.toString('hex') };
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
      this.parts.set(key, this.saveSha1s(part));
    }
    const alive = new Map<Digest, boolean>();
    const exists = (d: Digest): boolean => {
      let ok = alive.get(d);
      if (ok === undefined) alive.set(d, (ok = blobExists(d)));
      return ok;
    };
    for (const [key, loc] of this.entries) if (!exists(loc.blob)) this.entries.delete(key);
    const before = new Set([...this.parts.values()].map((p) => p.digest));
    for (const [key, part] of this.parts) if (!exists(part.digest)) this.parts.delete(key);
    trim(this.entries, MAX_ENTRIES);
    trim(this.parts, MAX_PARTS);
    mkdirSync(dirname(this.file), { recursive: true, mode: 0o700 });
    // Renamed into place but not synced: after a crash the cache may be older, or torn and
    // then ignored (load), never wrong; the store it points into is what is made durable.
    const payload = JSON.stringify({ entries: [...this.entries], parts: [...this.parts] });
    writeFileReplacing(this.file, JSON.stringify({ version: 2, payload, mac: this.mac(payload) }), {
      mode: 0o600,
    });
    // Only after the file no longer names them: sha1 lists of parts dropped.
    for (const p of this.parts.values()) before.delete(p.digest);
    for (const digest of before) rmSync(this.sha1Path(digest), { force: true });
  }

  /**
   * A part's sha1s, written once per blob (same blob, same files): to a temporary name and
   * renamed, unsynced, as it is only a cache; what is read back is checked by its hash.
   */
  private saveSha1s(part: StoredPart): PartRecord {
    const bytes = Buffer.from(part.sha1s, 'hex');
    const path = this.sha1Path(part.digest);
    const sha1s = createHash('sha256').update(bytes).digest('hex');
    if (!this.sha1sIntact(path, sha1s)) {
      mkdirSync(this.sha1Dir, { recursive: true, mode: 0o700 });
      writeFileReplacing(path, bytes, { mode: 0o600 });
    }
    return { digest: part.digest, size: part.size, diffId: part.diffId, sha1s };
  }

  /** Present and whole (a torn or damaged list is written again, not kept for ever). */
  private sha1sIntact(path: string, sha256: string): boolean {
    try {
      return createHash('sha256').update(readFileSync(path)).digest('hex') === sha256;
    } catch {
      return false;
    }
  }

  private sha1Path(digest: Digest): string {
    return join(this.sha1Dir, digest.slice('sha256:'.length));
  }

  private mac(payload: string): string {
    return createHmac('sha256', this.secret).update(payload).digest('hex');
  }

  private load(): void {
    const text = readFileUpTo(this.file, MAX_FILE_BYTES)?.toString('utf8');
    if (text === undefined) return;
    let doc: unknown;
    try {
      const outer = JSON.parse(text) as {
        version?: unknown;
        payload?: unknown;
        mac?: unknown;
      };
      if (outer.version !== 2 || typeof outer.payload !== 'string') return;
      const mac = Buffer.from(this.mac(outer.payload), 'hex');
      const given = Buffer.from(typeof outer.mac === 'string' ? outer.mac : '', 'hex');
      if (given.length !== mac.length || !timingSafeEqual(given, mac)) return;
      doc = JSON.parse(outer.payload);
    } catch {
      return; // a damaged cache is an empty cache
    }
    const { entries: list, parts } = doc as { entries?: unknown; parts?: unknown };
    if (!Array.isArray(list)) return;
    for (const item of Array.isArray(parts) ? (parts as unknown[]) : []) {
      if (!Array.isArray(item) || typeof item[0] !== 'string') continue;
      const part = item[1] as Partial<PartRecord> | undefined;
      if (
        part &&
        isDigest(part.digest) &&
        isDigest(part.diffId) &&
        isCount(part.size) &&
        typeof part.sha1s === 'string' &&
        /^[0-9a-f]{64}$/.test(part.sha1s)
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
