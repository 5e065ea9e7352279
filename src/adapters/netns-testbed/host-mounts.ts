import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  statSync,
} from 'node:fs';
import { join } from 'node:path';
import { mustRun, runCommand } from './command.js';

/**
 * Each host's mount namespace. A network namespace alone is not a host: /sys is mounted
 * once, for the root namespace, and /sys/class/net keeps describing the root namespace's
 * interfaces to any process that only changed its network namespace. Ingot reads it (the
 * CNI adapter asks whether its bridge exists, and which device it created), so an agent
 * there would take the root namespace's devices for its own. So each host gets a mount
 * namespace of its own, kept as a file, with a sysfs mounted inside its network namespace
 * on /sys, as `ip netns exec` does; and, unlike `ip netns exec`, with what was mounted under
 * /sys (the cgroup file systems above all: runc needs them) mounted again on top of it.
 *
 * Why a whole sysfs, and not just one over /sys/class/net: the kernel lets a user namespace
 * (an instance's, with user namespaces on) mount a sysfs of its own only if the mount
 * namespace has a sysfs fully in view, nothing mounted over it but on empty folders
 * (mount_too_revealing); /sys/class/net covered made runc fail with EPERM on every start.
 *
 * Propagation: /sys is made private in the host's namespace first, so that nothing mounted
 * there reaches the root namespace's /sys (it is shared on systemd machines). Everything
 * else is left as it is: /run/netns is a shared mount, so the namespaces an agent makes for
 * its instances (`ip netns add`) appear in the root namespace too, as they would on a real
 * host; mounts the agent makes under a private parent (its instances' log tmpfs) stay in
 * the host's namespace and die with it.
 */

const RUN_ROOT = '/run/ingot-testbed';

/** The bed's own folder: a private mount, as a mount namespace may be kept only there. */
export function runDir(prefix: string): string {
  return join(RUN_ROOT, prefix);
}

export function mountNsFile(prefix: string, n: number): string {
  return join(runDir(prefix), `h${n}.mnt`);
}

export function netnsPath(netns: string): string {
  return join('/run/netns', netns);
}

/** Make host `n`'s mount namespace (its network namespace exists already). */
export async function makeHostMounts(prefix: string, n: number, netns: string): Promise<void> {
  const dir = runDir(prefix);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // A mount namespace may be bound to a file only under a mount that does not propagate
  // (it would otherwise appear inside itself); / is shared on systemd machines.
  if (!isMountPoint(dir)) {
    await mustRun('mount', ['--bind', dir, dir]);
    await mustRun('mount', ['--make-private', dir]);
  }
  const file = mountNsFile(prefix, n);
  closeSync(openSync(file, 'a', 0o600));
  const net = `--net=${netnsPath(netns)}`;
  await mustRun('nsenter', [
    net,
    '--',
    'unshare',
    `--mount=${file}`,
    '--propagation',
    'unchanged',
    '--',
    'true',
  ]);
  const inHost = (args: readonly string[]) =>
    mustRun('nsenter', [net, `--mount=${file}`, '--', ...args]);
  await inHost(['mount', '--make-rprivate', '/sys']);
  // Keep what is mounted under /sys aside (bound, with what is under it), put a sysfs of the
  // host's network namespace in /sys's place, and bind each back where it was.
  const kept = join(dir, `h${n}.kept`);
  const under = mountsUnderSys();
  for (const [i, path] of under.entries()) {
    mkdirSync(join(kept, String(i)), { recursive: true, mode: 0o700 });
    await inHost(['mount', '--rbind', path, join(kept, String(i))]);
  }
  // The root namespace's sysfs goes from this namespace (detached: as ip netns exec does).
  await inHost(['umount', '-l', '/sys']);
  await inHost(['mount', '-t', 'sysfs', '-o', 'nosuid,nodev,noexec', 'sysfs', '/sys']);
  for (const [i, path] of under.entries()) {
    await inHost(['mount', '--rbind', join(kept, String(i)), path]);
    await inHost(['umount', '-R', join(kept, String(i))]);
  }
  rmSync(kept, { recursive: true, force: true });
}

/**
 * The mount points right under /sys (/sys/fs/cgroup, /sys/kernel/security, …), as this
 * process's mount namespace has them: a new host's is a copy of it. What is mounted below
 * those comes along with them (--rbind).
 */
function mountsUnderSys(): string[] {
  // /proc/self/mountinfo: "ID PARENT MAJ:MIN ROOT MOUNTPOINT …", spaces escaped as \040.
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split(' '))
    .map(([id, parent, , , point]) => ({ id, parent, point: unescape(point ?? '') }));
  // The topmost mount on /sys, if several are stacked there: the last one listed.
  const sys = mounts.filter((m) => m.point === '/sys').at(-1);
  if (!sys) return [];
  return mounts.filter((m) => m.parent === sys.id).map((m) => m.point);
}

function unescape(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/**
 * Unmount every host's kept mount namespace and the bed's folder; the namespaces themselves
 * go once no process is left in them. Returns what could not be undone.
 */
export async function removeHostMounts(prefix: string): Promise<string[]> {
  const dir = runDir(prefix);
  if (!existsSync(dir)) return [];
  const errors: string[] = [];
  for (const name of readdirSync(dir).filter((f) => /^h\d+\.mnt$/.test(f))) {
    const file = join(dir, name);
    if (isMountPoint(file)) {
      const r = await runCommand('umount', [file]);
      if (r.code !== 0) errors.push(`umount ${file}: ${r.stderr.trim()}`);
    }
  }
  if (isMountPoint(dir)) {
    const r = await runCommand('umount', [dir]);
    if (r.code !== 0) errors.push(`umount ${dir}: ${r.stderr.trim()}`);
  }
  if (errors.length > 0) return errors;
  rmSync(dir, { recursive: true, force: true });
  try {
    rmdirSync(RUN_ROOT); // the last bed's: beds of other prefixes may still be there
  } catch {
    // not empty
  }
  return errors;
}

/** The namespace inodes ("mnt:[…]") of the hosts' kept mount namespaces. */
export function hostMountNamespaces(prefix: string): string[] {
  const dir = runDir(prefix);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /^h\d+\.mnt$/.test(f) && isMountPoint(join(dir, f)))
    .map((f) => nsId('mnt', join(dir, f)))
    .filter((id): id is string => id !== null);
}

/** "net:[4026532173]" for a namespace kept as a file, as /proc/PID/ns/* links read. */
export function nsId(kind: 'net' | 'mnt', file: string): string | null {
  try {
    return `${kind}:[${statSync(file, { bigint: true }).ino}]`;
  } catch {
    return null;
  }
}

/** Whether `path` is a mount point in this process's mount namespace. */
export function isMountPoint(path: string): boolean {
  // /proc/self/mountinfo: "ID PARENT MAJ:MIN ROOT MOUNTPOINT …", spaces escaped as \040;
  // the bed's paths have none.
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((line) => line.split(' ')[4] === path);
}
