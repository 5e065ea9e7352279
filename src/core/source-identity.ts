import { sameIdentity, type SourceFile, type SourceListing } from '../domain/source.js';

/**
 * A file the walks saw twice with different identities (two layers copying it, two
 * followed symlinks to it, two hard links): it changed in between, and the image would hold two versions
 * of it. Reading used to catch that (each read is checked against its walk); a digest
 * remembered by identity is not read again, so the walks are compared here, before
 * anything is read.
 */
export function changedBetweenWalks(listings: readonly SourceListing[]): SourceFile | null {
  // By path, and by inode: hard links are one file under two paths.
  const byPath = new Map<string, SourceFile>();
  const byInode = new Map<string, SourceFile>();
  const differs = (seen: Map<string, SourceFile>, key: string, file: SourceFile): boolean => {
    const before = seen.get(key);
    if (!before) seen.set(key, file);
    return before !== undefined && !sameIdentity(before, file);
  };
  for (const listing of listings)
    for (const { file } of listing.items) {
      if (!file) continue;
      if (differs(byPath, file.abs, file) || differs(byInode, `${file.dev}:${file.ino}`, file))
        return file;
    }
  return null;
}
