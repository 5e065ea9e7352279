import type { MediaType } from './media-types.js';

export type EntryKind = 'file' | 'dir' | 'symlink';

/**
 * One path of the flattened rootfs as the image defines it. This is the truth that the
 * host materialises and that running instances are checked against: anything not here,
 * or different from here, is drift.
 */
export interface MeasuredEntry {
  /** Absolute image path ("/etc/passwd"); the root itself is not an entry. */
  readonly path: string;
  readonly type: EntryKind;
  /** Permission and special bits (0o7777). */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** Bytes of content for files; 0 for directories and symlinks. */
  readonly size: number;
  /** Hex sha256 of the content, files only. */
  readonly sha256?: string;
  /** Symlink target, verbatim. */
  readonly target?: string;
  /** For a file that its layer stored as a hard link: the path it is linked to. */
  readonly hardlink?: string;
}

export interface Measurement {
  readonly mediaType: typeof MediaType.measurement;
  /** In tree order (see core/paths.ts). */
  readonly entries: readonly MeasuredEntry[];
  /** Device nodes under /dev that a base's layers carried and the image leaves out. */
  readonly dropped?: readonly DroppedEntry[];
}

/**
 * A device node under /dev that a base's layer carried (Debian roots made by debootstrap or
 * mmdebstrap do) and that is left out of the rootfs: the runtime mounts its own /dev over
 * the image's, so the node could never be reached, and the host never creates device nodes
 * from an image. Recorded so that the signed measurement says what was left out.
 */
export interface DroppedEntry {
  readonly path: string;
  readonly type: 'character-device' | 'block-device';
  /** The layer (blob digest) that carried it. */
  readonly layer: string;
}

export interface MeasurementSummary {
  readonly files: number;
  readonly dirs: number;
  readonly symlinks: number;
  readonly bytes: number;
  /** Files with setuid or setgid bits: worth a look in any review. */
  readonly privileged: readonly string[];
}

export function summarize(entries: readonly MeasuredEntry[]): MeasurementSummary {
  let files = 0;
  let dirs = 0;
  let symlinks = 0;
  let bytes = 0;
  const privileged: string[] = [];
  for (const e of entries) {
    if (e.type === 'file') {
      files++;
      bytes += e.size;
      if (e.mode & 0o6000) privileged.push(e.path);
    } else if (e.type === 'dir') dirs++;
    else symlinks++;
  }
  return { files, dirs, symlinks, bytes, privileged };
}

/** What the build carries along each entry besides its measurement, for the SBOM. */
export interface FileExtra {
  readonly sha1?: string;
  /** Content of the few files the SBOM reads (core/sbom/capture.ts). */
  readonly content?: Uint8Array;
}
