import { createHmac, timingSafeEqual } from 'node:crypto';
import { mkdirSync, statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { sameIdentity, type SourceFile } from '../../domain/source.js';
import { writeFileReplacing } from '../shared/atomic-file.js';
import { readFileUpTo } from '../shared/read-fd.js';

/**
 * A file changed less than this before the build read it may change again within the same
 * timestamp tick (file times come from a coarse clock) and keep its stat ("racy git"): it is
 * not remembered.
 */
export const RACY_MS = 2000;

/** How much is kept: the newest records, within both bounds. */
export interface KnownDigestsLimits {
  readonly maxFiles: number;
  readonly maxBytes: number;
}

const DEFAULT_LIMITS: KnownDigestsLimits = { maxFiles: 100_000, maxBytes: 64 * 1024 * 1024 };
/**
 * Domain separation: the segment cache's MAC covers a JSON document, which never starts
 * with this line, so neither file can be passed off as the other.
 */
const CONTEXT = 'ingot file digests v1\n';

/**
 * Filesystems whose ctime is a change time the kernel keeps (statfs f_type): ext4, XFS,
 * btrfs, tmpfs, overlayfs, ZFS, F2FS. Not NFS or SMB (times from another machine's clock),
 * FAT or exFAT (no change time on disk), FUSE (whatever the daemon reports).
 */
const TRUSTED_FS = new Set([
  0xef53, 0x58465342, 0x9123683e, 0x01021994, 0x794c7630, 0x2fc12fc1, 0xf2f52010,
]);

type Row = readonly [
  abs: string,
  size: number,
  dev: number,
  ino: number,
  mtimeMs: number,
  ctimeMs: number,
  sha256: string,
];

/** A file a build read, its sha256, and when the build began reading (ms since the epoch). */
export interface ReadFile {
  readonly file: SourceFile;
  readonly sha256: string;
  readonly readSince: number;
}

/**
 * The sha256 of source files an earlier build read, by their identity (path, device, inode,
 * size, mtime and ctime), as git's index and ccache's inode cache keep them. A warm build
 * then reads only the files whose identity changed, instead of every byte of the sources,
 * to find the parts the store already holds.
 *
 * The threats and the answers:
 *  - a planted record (cache poisoning: a CI cache restored from an untrusted job) would
 *    make the build believe content it never read: the file carries an HMAC under the home's
 *    cache secret, and one this home did not write is an empty cache;
 *  - a file rewritten within one timestamp tick of being read keeps its stat: files changed
 *    less than RACY_MS before the build read them are never remembered;
 *  - content changed with the old mtime put back (`touch -d`): ctime, which no unprivileged
 *    call can set, still moves, and the identity no longer matches;
 *  - filesystems whose times cannot be relied on (network, FAT, FUSE) are never trusted.
 * What stays: a writer that sets the clock back holds root on the build machine, and with
 * it the store and the keys; and writes through a shared writable mmap move the times only
 * when a page is first dirtied (git's index has the same limit). `ingot build --no-cache`
 * reads every byte.
 */
export class KnownDigests {
  /** By path; written out as Row tuples. */
  private readonly rows = new Map<string, { readonly file: SourceFile; readonly sha256: string }>();
  private readonly trustedDevs = new Map<number, boolean>();
  private loaded = false;

  constructor(
    private readonly file: string,
    private readonly secret: Uint8Array,
    private readonly limits: KnownDigestsLimits = DEFAULT_LIMITS,
  ) {}

  /** The sha256 read from this very file before, if its identity is unchanged. */
  lookup(file: SourceFile): string | undefined {
    this.load();
    const row = this.rows.get(file.abs);
    return row && sameIdentity(row.file, file) && this.trusts(file) ? row.sha256 : undefined;
  }

  /**
   * Remember what a committed build read, and save (renamed into place, unsynced: after a
   * crash the file is older or ignored, never wrong).
   */
  record(read: readonly ReadFile[]): void {
    this.load();
    // Device numbers of tmpfs, overlay or FUSE mounts are reused after a remount: what a
    // device is gets asked again by each build.
    this.trustedDevs.clear();
    for (const { file, sha256, readSince } of read) {
      this.rows.delete(file.abs);
      const settled = readSince - RACY_MS;
      if (file.ctimeMs < settled && file.mtimeMs < settled && this.trusts(file))
        this.rows.set(file.abs, { file, sha256 });
    }
    this.save();
  }

  /** Drop what is remembered of these files (a digest found stale), and save. */
  forget(files: readonly SourceFile[]): void {
    this.load();
    for (const file of files) this.rows.delete(file.abs);
    this.save();
  }

  private save(): void {
    // The newest rows, as many as fit: a Map's order is the order of insertion. The file
    // (MAC, line, brackets) must stay under what load() accepts.
    const { maxFiles, maxBytes } = this.limits;
    const kept: string[] = [];
    let bytes = 64 + 1 + 2;
    for (const { file: f, sha256 } of [...this.rows.values()].reverse()) {
      const row: Row = [f.abs, f.size, f.dev, f.ino, f.mtimeMs, f.ctimeMs, sha256];
      const text = JSON.stringify(row);
      const size = Buffer.byteLength(text) + 1;
      if (kept.length >= maxFiles || bytes + size > maxBytes) break;
      kept.push(text);
      bytes += size;
    }
    const body = `[${kept.reverse().join(',')}]`;
    mkdirSync(dirname(this.file), { recursive: true, mode: 0o700 });
    writeFileReplacing(this.file, `${this.mac(body)}\n${body}`, { mode: 0o600 });
  }

  /** Whether the file's filesystem keeps times that can be relied on (TRUSTED_FS). */
  private trusts(file: SourceFile): boolean {
    let trusted = this.trustedDevs.get(file.dev);
    if (trusted === undefined) {
      trusted = keepsTimes(file.abs);
      this.trustedDevs.set(file.dev, trusted);
    }
    return trusted;
  }

  private mac(body: string): string {
    return createHmac('sha256', this.secret).update(CONTEXT).update(body).digest('hex');
  }

  private load(): void {
    if (this.loaded) return;
    this.loaded = true;
    const text = readFileUpTo(this.file, this.limits.maxBytes)?.toString('utf8');
    if (text === undefined) return;
    const newline = text.indexOf('\n');
    const given = Buffer.from(text.slice(0, Math.max(newline, 0)), 'hex');
    const body = text.slice(newline + 1);
    const mac = Buffer.from(this.mac(body), 'hex');
    if (newline !== 64 || given.length !== mac.length || !timingSafeEqual(given, mac)) return;
    let rows: unknown;
    try {
      rows = JSON.parse(body);
    } catch {
      return; // authenticated but unreadable: written by another version; start afresh
    }
    if (!Array.isArray(rows)) return;
    for (const row of rows as unknown[]) {
      if (!isRow(row)) continue;
      const [abs, size, dev, ino, mtimeMs, ctimeMs, sha256] = row;
      this.rows.set(abs, { file: { abs, size, dev, ino, mtimeMs, ctimeMs }, sha256 });
    }
  }
}

/** Whether the filesystem holding `path` is one whose times hold (TRUSTED_FS). */
export function keepsTimes(path: string): boolean {
  try {
    // f_type is an unsigned 32-bit magic; 32-bit platforms may hand it back sign-extended.
    return TRUSTED_FS.has(statfsSync(path).type >>> 0);
  } catch {
    return false;
  }
}

function isRow(row: unknown): row is Row {
  return (
    Array.isArray(row) &&
    row.length === 7 &&
    typeof row[0] === 'string' &&
    row.slice(1, 6).every((n) => typeof n === 'number' && Number.isFinite(n)) &&
    typeof row[6] === 'string' &&
    /^[0-9a-f]{64}$/.test(row[6])
  );
}
