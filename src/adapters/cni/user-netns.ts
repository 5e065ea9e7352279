import { execFile, spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  lstatSync,
  mkdirSync,
  openSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import type { IdMap } from '../../core/runtime/id-map.js';
import { IngotError } from '../../domain/errors.js';

const run = promisify(execFile);
const READY_TIMEOUT_MS = 10_000;

/**
 * An instance's network namespace made inside its own user namespace, both kept as files
 * (`ip netns attach`; a bind mount of the user namespace). The instance's user namespace
 * then owns its network: the kernel lets it mount its own sysfs (a netns made by the host
 * would force the host's /sys on it), and `runc exec` (break-glass) can join it — runc 1.1
 * joins the user namespace first, after which a host-owned netns is out of its reach.
 *
 * `unshare --map-users` would need /etc/subuid entries for root (newuidmap checks them); the
 * maps are written here instead, as host root, while the namespace's first process waits.
 */
export async function addUserNetns(name: string, usernsFile: string, idMap: IdMap): Promise<void> {
  const dir = dirname(usernsFile);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  if (!st.isDirectory() || st.uid !== process.getuid?.() || (st.mode & 0o022) !== 0)
    throw new IngotError(
      'E_NETWORK',
      `${dir} must be a folder owned by this user and writable by no one else`,
    );
  const child = spawn('unshare', ['--user', '--net', '--', 'sh', '-c', 'echo ready; read _'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('unshare did not start')), READY_TIMEOUT_MS);
      child.once('error', reject);
      child.once('close', (code) => reject(new Error(`unshare exited (${code ?? 'signal'})`)));
      child.stdout.once('data', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    const pid = child.pid!;
    const map = `0 ${idMap.hostId} ${idMap.size}\n`;
    writeFileSync(`/proc/${pid}/uid_map`, map);
    writeFileSync(`/proc/${pid}/gid_map`, map);
    await run('ip', ['netns', 'attach', name, String(pid)]);
    await removeUserns(usernsFile); // a leftover of a crash between these lines
    closeSync(openSync(usernsFile, 'wx', 0o600));
    await run('mount', ['--bind', `/proc/${pid}/ns/user`, usernsFile]);
  } catch (err) {
    await run('ip', ['netns', 'delete', name]).catch(() => undefined);
    await removeUserns(usernsFile);
    throw new IngotError(
      'E_NETWORK',
      `user and network namespace for ${name}: ${err instanceof Error ? err.message : String(err)}`,
    );
  } finally {
    child.stdin.end();
    child.kill('SIGKILL');
    await exited;
  }
}

/** Unmount and remove a user namespace's file; nothing if there is none. */
export async function removeUserns(usernsFile: string): Promise<void> {
  if (!existsSync(usernsFile)) return;
  await run('umount', [usernsFile]).catch(() => undefined); // not mounted: a half-made one
  rmSync(usernsFile, { force: true });
}
