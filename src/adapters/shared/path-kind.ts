import { statSync } from 'node:fs';

/**
 * What is at a path, symlinks followed: a folder, something else, or nothing (also when it
 * cannot be reached). For services that take a user's path (BaselineFiles.pathKind).
 */
export function pathKind(path: string): 'dir' | 'other' | null {
  try {
    return statSync(path).isDirectory() ? 'dir' : 'other';
  } catch {
    return null;
  }
}
