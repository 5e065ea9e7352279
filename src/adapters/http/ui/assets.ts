import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { gzipSync } from 'node:zlib';

/** One file of the built dashboard, held in memory with its gzip form. */
export interface UiAsset {
  readonly body: Buffer;
  readonly gzip: Buffer;
  readonly type: string;
  readonly etag: string;
  /** Named by its content's hash (assets/…): cached for a year, never revalidated. */
  readonly immutable: boolean;
}

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** Files the dashboard may hold, by URL path under /ui ('' is the page). */
export type UiAssets = ReadonlyMap<string, UiAsset>;

/**
 * The built dashboard (dist/web: index.html and assets/), read once at start. Requests are
 * answered from this table alone: no path from a request ever reaches the file system, so
 * there is nothing to traverse. Null when the folder holds no page (a build without it).
 */
export function loadUiAssets(dir: string): UiAssets | null {
  const page = readRegular(join(dir, 'index.html'));
  if (page === null) return null;
  const assets = new Map<string, UiAsset>([['', asset(page, '.html', false)]]);
  let names: string[] = [];
  try {
    names = readdirSync(join(dir, 'assets'));
  } catch {
    names = [];
  }
  for (const name of names) {
    const type = extname(name);
    if (TYPES[type] === undefined) continue; // source maps and strays are not served
    const body = readRegular(join(dir, 'assets', name));
    if (body !== null) assets.set(`assets/${name}`, asset(body, type, true));
  }
  return assets;
}

function readRegular(path: string): Buffer | null {
  try {
    return lstatSync(path).isFile() ? readFileSync(path) : null;
  } catch {
    return null;
  }
}

function asset(body: Buffer, extension: string, immutable: boolean): UiAsset {
  return {
    body,
    gzip: gzipSync(body, { level: 9 }),
    type: TYPES[extension] ?? 'application/octet-stream',
    etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
    immutable,
  };
}
