import { lstatSync, readdirSync, readlinkSync, realpathSync, statSync, type Stats } from 'node:fs';
import { basename, isAbsolute, join, relative, resolve, sep } from 'node:path';
import picomatch from 'picomatch';
import type { LayerSpec } from '../../domain/baseline.js';
import { SourceError } from '../../domain/build-errors.js';
import type { SourceFile, SourceItem, SourceListing } from '../../domain/source.js';
import { resolveWithin } from '../../core/paths.js';
import { errnoOf } from '../shared/errno.js';

export interface WalkLimits {
  readonly maxEntries: number;
  readonly maxPathBytes: number;
}

export const DEFAULT_WALK_LIMITS: WalkLimits = { maxEntries: 2_000_000, maxPathBytes: 4096 };

/**
 * List a layer's source: the baseline's folder is the build context, and nothing outside it
 * is read unless the baseline says so. The threats, each refused with its own code:
 *  - a `source` that climbs out of the context ("../../etc") or reaches out through a
 *    symlinked folder;
 *  - a symlink in the sources whose target leaves the source tree: kept verbatim it would
 *    make the image depend on the build host, and followed it would copy host files into
 *    the image. `followSymlinks: true` opts in to copying the target;
 *  - device nodes, sockets and FIFOs, which have no place in an image;
 *  - names an image cannot hold faithfully: not UTF-8, or ".wh." (an OCI whiteout marker,
 *    which would delete files of lower layers).
 */
export function walkSource(
  contextDir: string,
  spec: LayerSpec,
  limits: WalkLimits = DEFAULT_WALK_LIMITS,
): SourceListing {
  const { lexical, real } = resolveSource(contextDir, spec);
  const rootStat = statSync(real);
  const rootName = basename(lexical);
  if (rootStat.isFile()) {
    return { rootKind: 'file', rootName, items: [fileItem('', real, rootStat)] };
  }
  if (!rootStat.isDirectory()) {
    throw new SourceError('E_SOURCE_SPECIAL_FILE', spec.source, 'is neither a file nor a folder');
  }

  const excluded =
    spec.exclude.length > 0 ? picomatch([...spec.exclude], { dot: true }) : () => false;
  const walk: Walk = {
    spec,
    items: [{ rel: '', kind: 'dir', mode: rootStat.mode & 0o7777 }],
    // Folders entered through followed symlinks are tracked by device and inode, so a link
    // back up the tree ends in an error instead of an endless walk.
    entered: new Set<string>([`${rootStat.dev}:${rootStat.ino}`]),
    stack: [{ abs: real, rel: '' }],
  };
  const { items, stack } = walk;

  while (stack.length > 0) {
    const dir = stack.pop()!;
    for (const raw of readdirSync(dir.abs, { encoding: 'buffer' })) {
      const name = raw.toString('utf8');
      const rel = dir.rel === '' ? name : `${dir.rel}/${name}`;
      // Only errors show it; joining costs more than the rest of an entry's checks.
      const shown = (): string => join(spec.source, rel);
      checkName(raw, name, rel, dir.rel, spec, limits);
      if (excluded(rel)) continue;
      if (items.length >= limits.maxEntries) {
        throw new SourceError(
          'E_SOURCE_TOO_LARGE',
          spec.source,
          `has more than ${limits.maxEntries} entries`,
        );
      }

      // dir.abs is a resolved absolute path and name a single component: nothing to normalise.
      const abs = dir.abs === '/' ? `/${name}` : `${dir.abs}/${name}`;
      const st = lstatSync(abs);
      if (st.isFile()) items.push(fileItem(rel, abs, st));
      else if (st.isDirectory()) {
        items.push({ rel, kind: 'dir', mode: st.mode & 0o7777 });
        stack.push({ abs, rel });
      } else if (st.isSymbolicLink()) addSymlink(walk, abs, rel, dir.rel, shown);
      else {
        throw new SourceError(
          'E_SOURCE_SPECIAL_FILE',
          shown(),
          `is a ${kindOf(st)}; images hold only files, folders and symlinks`,
        );
      }
    }
  }
  return { rootKind: 'dir', rootName, items };
}

/** A walk in progress: what it listed, and the folders still to enter. */
interface Walk {
  readonly spec: LayerSpec;
  readonly items: SourceItem[];
  readonly entered: Set<string>;
  readonly stack: { abs: string; rel: string }[];
}

/** The source's path, refused if it climbs out of the context or leaves it by a symlink. */
function resolveSource(contextDir: string, spec: LayerSpec): { lexical: string; real: string } {
  const context = realpathSync(contextDir);
  const lexical = resolve(context, spec.source);
  if (!inside(context, lexical)) {
    throw new SourceError(
      'E_SOURCE_OUTSIDE_CONTEXT',
      spec.source,
      `is outside the baseline's folder ${context}; sources must be inside it`,
    );
  }
  let real: string;
  try {
    real = realpathSync(lexical);
  } catch (err) {
    throw new SourceError(
      'E_SOURCE_NOT_FOUND',
      spec.source,
      `does not exist (looked for ${lexical})`,
      err,
    );
  }
  if (!inside(context, real) && !spec.followSymlinks) {
    throw new SourceError(
      'E_SOURCE_OUTSIDE_CONTEXT',
      spec.source,
      `resolves through a symlink to ${real}, outside the baseline's folder (set followSymlinks: true to copy it anyway)`,
    );
  }
  return { lexical, real };
}

/** Names an image cannot hold faithfully: not UTF-8, whiteout markers, too long. */
function checkName(
  raw: Buffer,
  name: string,
  rel: string,
  parentRel: string,
  spec: LayerSpec,
  limits: WalkLimits,
): void {
  // Invalid UTF-8 decodes to U+FFFD; only then is the exact (allocating) check needed.
  if (name.includes('\ufffd') && !Buffer.from(name, 'utf8').equals(raw)) {
    throw new SourceError(
      'E_SOURCE_NAME_INVALID',
      join(spec.source, parentRel, raw.toString('latin1')),
      'the file name is not valid UTF-8',
    );
  }
  if (name.startsWith('.wh.')) {
    throw new SourceError(
      'E_SOURCE_NAME_INVALID',
      join(spec.source, rel),
      'names starting with ".wh." are OCI whiteout markers and would delete files of lower layers',
    );
  }
  // A UTF-16 unit is at most 3 UTF-8 bytes: most paths need no count.
  if (rel.length * 3 > limits.maxPathBytes && Buffer.byteLength(rel) > limits.maxPathBytes) {
    throw new SourceError(
      'E_SOURCE_NAME_INVALID',
      join(spec.source, rel),
      `the path is longer than ${limits.maxPathBytes} bytes`,
    );
  }
}

/**
 * A symlink is kept as it is when it stays inside the tree; one that leaves is refused,
 * or with followSymlinks its target is copied (a folder is then walked, once).
 */
function addSymlink(
  walk: Walk,
  abs: string,
  rel: string,
  parentRel: string,
  shown: () => string,
): void {
  const target = readlinkSync(abs);
  // Absolute targets resolve to null too: they point out of the tree on this machine.
  if (resolveWithin(parentRel, target) !== null) {
    walk.items.push({ rel, kind: 'symlink', mode: 0o777, target });
    return;
  }
  if (!walk.spec.followSymlinks) {
    throw new SourceError(
      'E_SOURCE_SYMLINK_ESCAPE',
      shown(),
      `is a symlink to ${JSON.stringify(target)}, which leaves the source tree; point it inside the tree or set followSymlinks: true to copy its target`,
    );
  }
  const followed = follow(abs, shown());
  // The encoder opens files without following symlinks: give it the target itself.
  if (followed.isFile()) walk.items.push(fileItem(rel, realpathSync(abs), followed));
  else if (followed.isDirectory()) {
    const key = `${followed.dev}:${followed.ino}`;
    if (walk.entered.has(key))
      throw new SourceError(
        'E_SOURCE_SYMLINK_LOOP',
        shown(),
        'following this symlink leads back into a folder already being copied',
      );
    walk.entered.add(key);
    walk.items.push({ rel, kind: 'dir', mode: followed.mode & 0o7777 });
    walk.stack.push({ abs: realpathSync(abs), rel });
  } else
    throw new SourceError(
      'E_SOURCE_SPECIAL_FILE',
      shown(),
      'points to something that is neither a file nor a folder',
    );
}

function fileItem(rel: string, abs: string, st: Stats): SourceItem {
  return { rel, kind: 'file', mode: st.mode & 0o7777, file: sourceFile(abs, st) };
}

/** A file as the encoder reads it: where, and the identity that tells if it changed since. */
export function sourceFile(abs: string, st: Stats): SourceFile {
  return { abs, size: st.size, dev: st.dev, ino: st.ino, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs };
}

function follow(abs: string, shown: string): Stats {
  try {
    return statSync(abs);
  } catch (err) {
    const code = errnoOf(err);
    if (code === 'ELOOP')
      throw new SourceError('E_SOURCE_SYMLINK_LOOP', shown, 'is a symlink loop', err);
    throw new SourceError(
      'E_SOURCE_NOT_FOUND',
      shown,
      'is a symlink to something that does not exist',
      err,
    );
  }
}

function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

function kindOf(st: Stats): string {
  if (st.isSocket()) return 'socket';
  if (st.isFIFO()) return 'FIFO';
  if (st.isCharacterDevice()) return 'character device';
  if (st.isBlockDevice()) return 'block device';
  return 'special file';
}
