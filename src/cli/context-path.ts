import { statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';

/**
 * Where the context file is: `$XDG_CONFIG_HOME/ingot/config.yaml`, else
 * `$HOME/.config/ingot/config.yaml`. Relative values are ignored (as the XDG spec says); with
 * neither variable an absolute path (a system service has no home), there is no file. Pure.
 */
export function contextFilePath(env: Readonly<Record<string, string | undefined>>): string | null {
  const xdg = env['XDG_CONFIG_HOME'];
  if (xdg !== undefined && isAbsolute(xdg)) return join(xdg, 'ingot', 'config.yaml');
  const home = env['HOME'];
  if (home !== undefined && isAbsolute(home)) return join(home, '.config', 'ingot', 'config.yaml');
  return null;
}

/**
 * False only when there is certainly no context file (no path, or nothing there): anything
 * else (a file, a FIFO, a folder that cannot be searched) is for the file's reader to judge
 * and report, as it would without this look.
 */
export function contextFileMayExist(env: Readonly<Record<string, string | undefined>>): boolean {
  const path = contextFilePath(env);
  if (path === null) return false;
  try {
    statSync(path);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}
