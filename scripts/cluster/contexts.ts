import { existsSync, readdirSync, rmdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { contextFilePath, readContextFile, writeContextFile } from '../../src/cli/contexts-file.js';
import { withContext, withCurrent, withoutContext } from '../../src/core/contexts/index.js';
import { CONTEXT_NAME } from './state.js';

/**
 * The user's contexts (their XDG_CONFIG_HOME, else HOME), changed with the very code of
 * `ingot context add|use|remove`: the same file, the same checks, the same atomic writes.
 */

function fileOf(): string {
  const file = contextFilePath(process.env);
  if (file === null)
    throw new Error('no context file: set HOME (or XDG_CONFIG_HOME) to an absolute path');
  return file;
}

/** What `down` restores: the context current before `up` (not a stale local-cluster). */
export interface ContextsBefore {
  readonly previous: string | null;
  /** Whether the context file existed: if not, `down` removes the one `up` made, if empty. */
  readonly fileExisted: boolean;
}

export function contextsBefore(): ContextsBefore {
  const file = fileOf();
  const { current } = readContextFile(file);
  return { previous: current === CONTEXT_NAME ? null : current, fileExisted: existsSync(file) };
}

/** Add the local cluster's context and make it current; the context file's path. */
export function useClusterContext(server: string, tokenFile: string): string {
  const file = fileOf();
  writeContextFile(
    file,
    withCurrent(
      withContext(readContextFile(file), CONTEXT_NAME, { server, tokenFile }),
      CONTEXT_NAME,
    ),
  );
  return file;
}

/**
 * Remove the local cluster's context; if it was current, make the previous one current again
 * (if it still exists). A context the user made current meanwhile stays current. A context
 * file `up` made, empty now, goes (with its folder, if that is empty too).
 */
export function restoreContext(before: ContextsBefore): string {
  const file = fileOf();
  const now = readContextFile(file);
  if (!now.contexts.has(CONTEXT_NAME)) return `the current context stays ${now.current ?? 'none'}`;
  let after = withoutContext(now, CONTEXT_NAME);
  let said = `the current context stays ${after.current ?? 'none'}`;
  if (now.current === CONTEXT_NAME) {
    const back = before.previous !== null && after.contexts.has(before.previous);
    after = withCurrent(after, back ? before.previous : null);
    said = back
      ? `the current context is ${before.previous} again`
      : "no context is current: the CLI reaches this home's server again";
  }
  if (!before.fileExisted && after.contexts.size === 0) {
    rmSync(file, { force: true });
    const dir = dirname(file);
    if (existsSync(dir) && readdirSync(dir).length === 0) rmdirSync(dir);
  } else writeContextFile(file, after);
  return said;
}
