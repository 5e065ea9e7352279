import { readFileSync } from 'node:fs';
import type { BuildInfo } from '../cli/build-info.js';

// Replaced by scripts/build.ts (esbuild `define`) with what `git` said at build time; from
// source (tsx, tests) they are not defined, and the commit is unknown rather than guessed.
declare const INGOT_BUILD_COMMIT: string | undefined;
declare const INGOT_BUILD_DIRTY: boolean | undefined;

/**
 * This build's version and commit. Small on purpose: `ingot --version` loads this module
 * alone (bin/ingot.ts), not the CLI.
 */
export const buildInfo: BuildInfo = {
  version: (
    JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    }
  ).version,
  commit: typeof INGOT_BUILD_COMMIT === 'string' ? INGOT_BUILD_COMMIT : null,
  dirty:
    typeof INGOT_BUILD_COMMIT === 'string' && typeof INGOT_BUILD_DIRTY === 'boolean'
      ? INGOT_BUILD_DIRTY
      : null,
};
