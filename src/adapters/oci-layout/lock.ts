import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { errnoOf } from '../shared/errno.js';
import { StoreError } from '../shared/store-error.js';

/**
 * An exclusive lock between processes on one machine: a file created with O_EXCL holding
 * the owner's pid. A lock whose owner is gone (crashed) is taken over; a live owner is
 * waited for up to `timeoutMs`.
 */
export async function withLock<T>(
  path: string,
  fn: () => Promise<T>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      writeFileSync(path, String(process.pid), { flag: 'wx', mode: 0o600 });
      break;
    } catch (err) {
      if (errnoOf(err) !== 'EEXIST') throw err;
      const owner = Number(readOwner(path));
      if (!Number.isInteger(owner) || owner <= 0 || !alive(owner)) {
        rmSync(path, { force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw new StoreError(
          'E_STORE_LOCKED',
          `the store is locked by process ${owner} (${path}); wait for it to finish`,
          { path, owner },
        );
      }
      await sleep(25);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(path, { force: true });
  }
}

function readOwner(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return '';
  }
}

function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errnoOf(err) === 'EPERM';
  }
}
