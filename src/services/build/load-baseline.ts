import { basename, dirname, join, relative, resolve } from 'node:path';
import { MAX_SPEC_BYTES, parseBaseline } from '../../core/baseline/parse.js';
import type { Baseline } from '../../domain/baseline.js';
import { digestOf, type Digest } from '../../domain/digest.js';
import { IngotError } from '../../domain/errors.js';
import type { BaselineFiles } from './types.js';

export interface LoadedBaseline {
  readonly baseline: Baseline;
  readonly file: string;
  readonly contextDir: string;
  /** SHA-256 of the file's bytes, as the provenance records it. */
  readonly digest: Digest;
}

/** Locate and parse the baseline, as `ingot build` and later commands take it. */
export function loadBaseline(files: BaselineFiles, path: string): LoadedBaseline {
  const abs = resolve(files.cwd, path);
  const kind = files.pathKind(abs);
  if (kind === null) throw new IngotError('E_SPEC_NOT_FOUND', `${path}: no such file or folder`);
  const file = kind === 'dir' ? join(abs, 'ingot.yaml') : abs;
  if (files.pathKind(file) === null)
    throw new IngotError(
      'E_SPEC_NOT_FOUND',
      `${relative(files.cwd, file) || file}: not found (a baseline folder holds an ingot.yaml)`,
    );
  const shown = shownName(files.cwd, file);
  const bytes = files.readSpecFile(file, shown, MAX_SPEC_BYTES, {
    notFound: 'E_SPEC_NOT_FOUND',
    tooLarge: 'E_SPEC_TOO_LARGE',
  });
  return {
    baseline: parseBaseline(bytes, shown),
    file,
    contextDir: dirname(file),
    digest: digestOf(bytes),
  };
}

/** How a file is named to the user (and, outside git, in the provenance). */
export function shownName(cwd: string, file: string): string {
  return relative(cwd, file) || basename(file);
}
