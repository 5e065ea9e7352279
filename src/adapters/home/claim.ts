import { lstatSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { IngotError } from '../../domain/errors.js';
import { isSameProcess, looksLikeIngotUp, processStart } from '../shared/process-alive.js';

/**
 * Take $INGOT_HOME for this server: a folder only its owner can write (the token and the
 * state live there), and at most one server at a time (two controllers would fight over
 * the same instances). Returns the release of the claim.
 */
export function claimHome(home: string): () => void {
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const st = lstatSync(home);
  const euid = process.geteuid?.();
  if (!st.isDirectory() || (euid !== undefined && st.uid !== euid) || (st.mode & 0o022) !== 0)
    throw new IngotError(
      'E_HOME_UNSAFE',
      `${home} must be a folder owned by this user that no one else can write (chmod 700 ${home})`,
    );
  const lock = join(home, 'server.lock');
  for (let attempt = 0; ; attempt++) {
    try {
      // With its start time: after a kill -9 the lock stays, and its pid may be reused.
      writeFileSync(lock, `${process.pid} ${processStart(process.pid) ?? ''}\n`, {
        flag: 'wx',
        mode: 0o600,
      });
      return releaseOnce(lock);
    } catch (err) {
      let holder = 0;
      let started: string | undefined;
      try {
        const [pid, start] = readFileSync(lock, 'utf8').trim().split(' ');
        holder = Number(pid);
        started = start || undefined;
      } catch {
        // vanished meanwhile: try again
      }
      if (attempt === 0 && !isSameProcess(holder, started, looksLikeIngotUp)) {
        rmSync(lock, { force: true }); // left by a server that died
        continue;
      }
      throw new IngotError('E_ALREADY_RUNNING', `Ingot already runs for ${home} (pid ${holder})`, {
        cause: err,
      });
    }
  }
}

/**
 * Give the claim back once, and only if the lock is still ours: a second release (a failed
 * start cleaning up after its own stop) must not remove a lock another server took since.
 */
function releaseOnce(lock: string): () => void {
  let released = false;
  return () => {
    if (released) return;
    released = true;
    try {
      if (Number(readFileSync(lock, 'utf8').split(' ')[0]) === process.pid)
        rmSync(lock, { force: true });
    } catch {
      // gone already
    }
  };
}
