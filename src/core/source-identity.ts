import type { SourceFile, SourceListing } from '../domain/source.js';

/**
 * A file the walks saw twice with different identities (two layers copying it, or two
 * followed symlinks to it): it changed in between, and the image would hold two versions
 * of it. Reading used to catch that (each read is checked against its walk); a digest
 * remembered by identity is not read again, so the walks are compared here, before
 * anything is read.
 */
export function changedBetweenWalks(listings: readonly SourceListing[]): SourceFile | null {
  const seen = new Map<string, SourceFile>();
  for (const listing of listings)
    for (const item of listing.items) {
      const file = item.file;
      if (!file) continue;
      const before = seen.get(file.abs);
      if (!before) seen.set(file.abs, file);
      else if (!sameIdentity(before, file)) return file;
    }
  return null;
}

export function sameIdentity(a: SourceFile, b: SourceFile): boolean {
  return (
    a.size === b.size &&
    a.dev === b.dev &&
    a.ino === b.ino &&
    a.mtimeMs === b.mtimeMs &&
    a.ctimeMs === b.ctimeMs
  );
}
