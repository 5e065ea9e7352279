/**
 * Paths inside an image. Two spellings exist and never mix:
 *  - image paths, absolute and canonical: "/", "/etc/passwd" (measurement, baseline);
 *  - entry names, relative, as tar stores them: "etc/passwd" (layers).
 * Everything here is pure and total: bad input returns a reason instead of throwing, so
 * that callers can attach their own error code and location.
 */

export const MAX_PATH_BYTES = 4096;
export const MAX_NAME_BYTES = 255;

export type PathProblem =
  | 'empty'
  | 'not-absolute'
  | 'absolute'
  | 'dot-dot'
  | 'dot'
  | 'nul'
  | 'too-long'
  | 'segment-too-long'
  | 'whiteout-name';

export type PathResult = { ok: true; path: string } | { ok: false; problem: PathProblem };

export const pathProblemText: Record<PathProblem, string> = {
  empty: 'is empty',
  'not-absolute': 'must be absolute (start with "/")',
  absolute: 'must be relative (no leading "/")',
  'dot-dot': 'must not contain ".." segments',
  dot: 'must not contain "." segments',
  nul: 'must not contain NUL bytes',
  'too-long': `is longer than ${MAX_PATH_BYTES} bytes`,
  'segment-too-long': `has a segment longer than ${MAX_NAME_BYTES} bytes`,
  'whiteout-name': 'has a segment starting with ".wh.", which OCI reserves for whiteouts',
};

function checkSegments(segments: readonly string[], allowWhiteout: boolean): PathProblem | null {
  for (const s of segments) {
    if (s === '..') return 'dot-dot';
    if (s === '.') return 'dot';
    if (Buffer.byteLength(s) > MAX_NAME_BYTES) return 'segment-too-long';
    if (!allowWhiteout && s.startsWith('.wh.')) return 'whiteout-name';
  }
  return null;
}

/**
 * A destination written by a person in ingot.yaml: absolute; repeated and trailing slashes
 * and "." segments are tidied, but ".." is refused rather than resolved, because a path
 * that climbs is either a mistake or an attempt to escape.
 */
export function parseImagePath(raw: string): PathResult {
  if (raw.length === 0) return { ok: false, problem: 'empty' };
  if (raw.includes('\0')) return { ok: false, problem: 'nul' };
  if (!raw.startsWith('/')) return { ok: false, problem: 'not-absolute' };
  if (Buffer.byteLength(raw) > MAX_PATH_BYTES) return { ok: false, problem: 'too-long' };
  const segments = raw.split('/').filter((s) => s !== '' && s !== '.');
  const problem = checkSegments(segments, false);
  if (problem) return { ok: false, problem };
  return { ok: true, path: '/' + segments.join('/') };
}

/**
 * A name read from a tar entry of somebody else's layer. "./" prefixes and a trailing "/"
 * are normal and removed; the archive root ("./" or ".") is returned as "". Everything
 * else that is odd is refused: an archive that needs ".." or an absolute name to express
 * itself is hostile.
 */
export function parseEntryName(raw: string): PathResult {
  if (raw.includes('\0')) return { ok: false, problem: 'nul' };
  if (Buffer.byteLength(raw) > MAX_PATH_BYTES) return { ok: false, problem: 'too-long' };
  let name = raw;
  while (name.startsWith('./')) name = name.slice(2);
  if (name === '.' || name === '') return { ok: true, path: '' };
  if (name.startsWith('/')) return { ok: false, problem: 'absolute' };
  name = name.replace(/\/+$/, '');
  const segments = name.split('/');
  if (segments.some((s) => s === '')) return { ok: false, problem: 'empty' };
  const problem = checkSegments(segments, true);
  if (problem) return { ok: false, problem };
  return { ok: true, path: name };
}

/** "/etc/passwd" → "etc/passwd"; "/" → "". */
export function toEntryName(imagePath: string): string {
  return imagePath.slice(1);
}

/** "etc/passwd" → "/etc/passwd"; "" → "/". */
export function toImagePath(entryName: string): string {
  return '/' + entryName;
}

/** Parent of an image path; the parent of "/" is null. */
export function parentOf(imagePath: string): string | null {
  if (imagePath === '/') return null;
  const i = imagePath.lastIndexOf('/');
  return i === 0 ? '/' : imagePath.slice(0, i);
}

export function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** Join an image path and a relative path ("a/b"). */
export function joinImagePath(dir: string, relative: string): string {
  if (relative === '') return dir;
  return dir === '/' ? `/${relative}` : `${dir}/${relative}`;
}

/**
 * Tree order: a directory's entries follow it, siblings sorted by the bytes of their names
 * (as GNU tar --sort=name walks). Equivalent to byte order of the UTF-8 path with "/"
 * weighted below every other byte, which is how it is computed.
 */
export function treeOrderKey(path: string): Buffer {
  const key = Buffer.from(path, 'utf8');
  for (let i = 0; i < key.length; i++) if (key[i] === 0x2f) key[i] = 0x00;
  return key;
}

export function sortInTreeOrder<T>(items: readonly T[], pathOf: (item: T) => string): T[] {
  // Fast path: UTF-8 byte order is code point order, which is UTF-16 code unit order for
  // strings without surrogates; "/" becomes NUL, which no path contains. Surrogates (rare)
  // take the exact byte comparison.
  const keys = items.map((item) => pathOf(item));
  if (!keys.some((k) => SURROGATE.test(k))) {
    const keyed = items.map((item, i) => ({ item, key: keys[i]!.replaceAll('/', '\u0000') }));
    keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return keyed.map((k) => k.item);
  }
  const keyed = items.map((item, i) => ({ item, key: treeOrderKey(keys[i]!) }));
  keyed.sort((a, b) => Buffer.compare(a.key, b.key));
  return keyed.map((k) => k.item);
}

const SURROGATE = /[\ud800-\udfff]/;

/**
 * Resolve a symlink target lexically against the directory that holds the link, without
 * touching any filesystem. Returns the resolved path relative to `root`, or null when it
 * climbs above it. Used to decide whether a source symlink points out of its tree.
 */
export function resolveWithin(linkDir: string, target: string): string | null {
  if (target.startsWith('/')) return null;
  const stack = linkDir === '' ? [] : linkDir.split('/');
  for (const seg of target.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (stack.length === 0) return null;
      stack.pop();
    } else stack.push(seg);
  }
  return stack.join('/');
}
