import { createHmac, timingSafeEqual } from 'node:crypto';
import { closeSync, fstatSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import type { SourceFile } from '../../domain/source.js';
import { writeFileReplacing } from '../shared/atomic-file.js';
import { readUpTo } from '../shared/read-fd.js';

/**
 * A file changed less than this before a build began may change again within the same
 * timestamp tick after it was read, keeping its stat ("racy git"): it is not remembered.
 */
export const RACY_MS = 2000;

const MAX_FILES = 100_000;
const MAX_FILE_BYTES = 64 * 1024 * 1024;
/** Domain separation: this MAC can never be mistaken for the segment cache's. */
const CONTEXT = 'ingot file digests v1\n';

type Row = readonly [
  abs: string,
  size: number,
  dev: number,
  ino: number,
  mtimeMs: number,
  ctimeMs: number,
  sha256: string,
];

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
 *    less than RACY_MS before the build began are never remembered;
 *  - content changed with the old mtime put back (`touch -d`): ctime, which no unprivileged
 *    call can set, still moves, and the identity no longer matches.
 * Whoever can set the clock back and rewrite a file within the same nanosecond of ctime
 * holds root on the build machine, and with it the store and the keys.
 */
export class KnownDigests {
  private readonly rows = new Map<string, Row>();
  private loaded = false;

  constructor(
    private readonly file: string,
    private readonly secret: Uint8Array,
  ) {}

  /** The sha256 read from this very file before, if its identity is unchanged. */
  lookup(file: SourceFile): string | undefined {
    this.load();
    const row = this.rows.get(file.abs);
    return row &&
      row[1] === file.size &&
      row[2] === file.dev &&
      row[3] === file.ino &&
      row[4] === file.mtimeMs &&
      row[5] === file.ctimeMs
      ? row[6]
      : undefined;
  }

  /**
   * Remember what a committed build read and save the file (renamed into place, unsynced:
   * after a crash it is older or ignored, never wrong). `startedAt` (ms since the epoch) is
   * when the build began reading.
   */
  record(read: readonly (readonly [SourceFile, string])[], startedAt: number): void {
    this.load();
    const settled = startedAt - RACY_MS;
    for (const [file, sha256] of read) {
      this.rows.delete(file.abs);
      if (file.ctimeMs < settled && file.mtimeMs < settled)
        this.rows.set(file.abs, [
          file.abs,
          file.size,
          file.dev,
          file.ino,
          file.mtimeMs,
          file.ctimeMs,
          sha256,
        ]);
    }
    // A Map's order is the order of insertion: the oldest records go first.
    for (const key of this.rows.keys()) {
      if (this.rows.size <= MAX_FILES) break;
      this.rows.delete(key);
    }
    const body = JSON.stringify([...this.rows.values()]);
    mkdirSync(dirname(this.file), { recursive: true });
    writeFileReplacing(this.file, `${this.mac(body)}\n${body}`);
  }

  private mac(body: string): string {
    return createHmac('sha256', this.secret).update(CONTEXT).update(body).digest('hex');
  }

  private load(): void {
    if (this.loaded) return;
    this.loaded = true;
    const text = readBounded(this.file, MAX_FILE_BYTES);
    if (text === null) return;
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
    for (const row of rows as unknown[]) if (isRow(row)) this.rows.set(row[0], row);
  }
}

/** The file's text, or null if it is missing, unreadable or larger than `max` bytes. */
function readBounded(path: string, max: number): string | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    const size = fstatSync(fd).size;
    return size > max ? null : readUpTo(fd, size).toString('utf8');
  } catch {
    return null;
  } finally {
    closeSync(fd);
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
