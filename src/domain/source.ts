/**
 * What the source walker found in a layer's source, before any decision about the image.
 * `file` tells the encoder how to read a regular file and how to notice that it changed
 * between the walk and the read (a build must never mix two versions of a file).
 */
export interface SourceFile {
  readonly abs: string;
  readonly size: number;
  readonly dev: number;
  readonly ino: number;
  readonly mtimeMs: number;
  readonly ctimeMs: number;
}

/** What tells that a file changed: every field but where it is. */
export type FileIdentity = Pick<SourceFile, 'size' | 'dev' | 'ino' | 'mtimeMs' | 'ctimeMs'>;

/** Same size, device, inode, mtime and ctime (a Stats qualifies as well as a SourceFile). */
export function sameIdentity(a: FileIdentity, b: FileIdentity): boolean {
  return (
    a.size === b.size &&
    a.dev === b.dev &&
    a.ino === b.ino &&
    a.mtimeMs === b.mtimeMs &&
    a.ctimeMs === b.ctimeMs
  );
}

export interface SourceItem {
  /** Relative to the layer's source root, "/"-separated; "" is the root itself. */
  readonly rel: string;
  readonly kind: 'file' | 'dir' | 'symlink';
  /** st_mode & 0o7777 as found. */
  readonly mode: number;
  readonly target?: string;
  readonly file?: SourceFile;
}

export interface SourceListing {
  /** What the layer's `source` itself is. */
  readonly rootKind: 'file' | 'dir';
  /** The source's own file name (for "copy into a folder"). */
  readonly rootName: string;
  readonly items: readonly SourceItem[];
}
