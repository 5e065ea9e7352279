import { existsSync, readFileSync, statSync } from 'node:fs';
import { isDigest, type Digest } from '../../domain/digest.js';
import type { BlobLocations } from '../../ports/registry.js';
import { writeFileReplacing } from '../shared/atomic-file.js';
import { safeJson } from '../shared/safe-json.js';

/** Repositories kept per blob, and blobs kept per registry: a cache stays small. */
const REPOS_PER_BLOB = 4;
const BLOBS_PER_REGISTRY = 50_000;
const MAX_FILE_BYTES = 32 * 1024 * 1024;

type Table = Record<string, Record<string, string[]>>;

/**
 * A JSON file in the home: `{ "<host:port>": { "<digest>": ["repo", …] } }`. It is only
 * ever a hint for a mount request (the registry decides whether the blob is there and we may
 * read it), so a damaged file is ignored and rewritten rather than an error.
 */
export class FileBlobLocations implements BlobLocations {
  private table: Table | null = null;

  constructor(private readonly path: string) {}

  repositories(authority: string, digest: Digest): readonly string[] {
    return this.load()[authority]?.[digest] ?? [];
  }

  record(authority: string, repository: string, digests: readonly Digest[]): void {
    const table = this.load();
    const blobs = (table[authority] ??= {});
    for (const d of digests) {
      const repos = (blobs[d] ?? []).filter((r) => r !== repository);
      blobs[d] = [repository, ...repos].slice(0, REPOS_PER_BLOB);
    }
    const keys = Object.keys(blobs);
    // Oldest entries first in insertion order: drop those beyond the bound.
    for (const k of keys.slice(0, Math.max(0, keys.length - BLOBS_PER_REGISTRY))) delete blobs[k];
    writeFileReplacing(this.path, JSON.stringify(table), { mode: 0o600 });
  }

  private load(): Table {
    if (this.table) return this.table;
    this.table = {};
    if (!existsSync(this.path) || statSync(this.path).size > MAX_FILE_BYTES) return this.table;
    const doc = safeJson(readFileSync(this.path, 'utf8'));
    if (typeof doc !== 'object' || doc === null) return this.table;
    for (const [authority, blobs] of Object.entries(doc as Record<string, unknown>)) {
      if (typeof blobs !== 'object' || blobs === null) continue;
      const clean: Record<string, string[]> = {};
      for (const [d, repos] of Object.entries(blobs as Record<string, unknown>))
        if (isDigest(d) && Array.isArray(repos))
          clean[d] = repos
            .filter((r): r is string => typeof r === 'string')
            .slice(0, REPOS_PER_BLOB);
      this.table[authority] = clean;
    }
    return this.table;
  }
}
