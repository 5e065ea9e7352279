import {
  accessSync,
  constants,
  existsSync,
  lstatSync,
  readdirSync,
  readFileSync,
  statfsSync,
  statSync,
} from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import type { HomeFacts, HostFacts } from '../../core/doctor/facts.js';

export interface GatherOptions {
  readonly home: string;
  /** The programs to look for on PATH. */
  readonly programs: readonly string[];
  /** The files to look for. */
  readonly files: readonly string[];
  readonly cniDir: string;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/**
 * What `ingot doctor` judges, read from this machine without changing anything on it: no
 * folder is made, no program is run (a program found on PATH is not executed: a doctor that
 * ran whatever PATH named first would run it as root).
 */
export function gatherHostFacts(o: GatherOptions): HostFacts {
  return {
    uid: process.geteuid?.(),
    node: process.versions.node,
    programs: Object.fromEntries(o.programs.map((p) => [p, onPath(p, o.env['PATH'] ?? '')])),
    files: Object.fromEntries(o.files.map((f) => [f, isFile(f)])),
    cni: { dir: o.cniDir, plugins: listOrEmpty(o.cniDir) },
    cgroups: { unified: unifiedControllers(), v1: v1Controllers() },
    seccomp: seccompOffered(),
    maxUserNamespaces: numberIn('/proc/sys/user/max_user_namespaces'),
    netns: existsSync('/proc/self/ns/net'),
    home: homeFacts(resolve(o.home)),
  };
}

/** Where PATH finds an executable file `name`, as a shell would; null when nowhere. */
function onPath(name: string, path: string): string | null {
  for (const dir of path.split(delimiter)) {
    if (dir === '' || !dir.startsWith('/')) continue; // a relative PATH entry is the cwd's
    const candidate = join(dir, name);
    try {
      if (!statSync(candidate).isFile()) continue;
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function listOrEmpty(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

function read(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** The kernel's own line about seccomp in every process's status: absent without CONFIG_SECCOMP. */
function seccompOffered(): boolean | null {
  const status = read('/proc/self/status');
  return status === null ? null : /^Seccomp:/m.test(status);
}

function numberIn(path: string): number | null {
  const text = read(path);
  const n = text === null ? NaN : Number(text.trim());
  return Number.isSafeInteger(n) ? n : null;
}

/** The v2 hierarchy's controllers: at /sys/fs/cgroup (v2 only), or /sys/fs/cgroup/unified (hybrid). */
function unifiedControllers(): string[] | null {
  for (const dir of ['/sys/fs/cgroup', '/sys/fs/cgroup/unified']) {
    const text = read(join(dir, 'cgroup.controllers'));
    if (text !== null) return text.split(/\s+/).filter(Boolean);
  }
  return null;
}

/** Controllers mounted as v1 hierarchies: the options of each `cgroup` mount name them. */
function v1Controllers(): string[] {
  const found = new Set<string>();
  for (const line of (read('/proc/self/mounts') ?? '').split('\n')) {
    const [, , type, options] = line.split(' ');
    if (type !== 'cgroup' || options === undefined) continue;
    for (const option of options.split(','))
      if (
        /^[a-z_]+$/.test(option) &&
        !['rw', 'ro', 'relatime', 'noatime', 'nosuid', 'nodev', 'noexec'].includes(option)
      )
        found.add(option);
  }
  return [...found].sort();
}

function homeFacts(path: string): HomeFacts {
  let stat: HomeFacts['stat'] = null;
  try {
    const st = lstatSync(path);
    stat = { isDirectory: st.isDirectory(), uid: st.uid, mode: st.mode & 0o7777 };
  } catch {
    // not made yet
  }
  return { path, stat, blockingAncestor: blockingAncestor(path), freeBytes: freeBytes(path) };
}

/** As rootfs/id-gate.ts asks it, for a home that may not exist yet: its existing ancestors. */
function blockingAncestor(home: string): string | null {
  for (let dir = dirname(home); ; dir = dirname(dir)) {
    try {
      if ((statSync(dir).mode & 0o001) === 0) return dir;
    } catch {
      // not made yet: nothing to pass
    }
    if (dir === dirname(dir)) return null;
  }
}

/** Bytes an unprivileged writer may still use where the home is (or its nearest ancestor). */
function freeBytes(path: string): number | null {
  for (let dir = path; ; dir = dirname(dir)) {
    try {
      const fs = statfsSync(dir);
      return fs.bavail * fs.bsize;
    } catch {
      if (dir === dirname(dir)) return null;
    }
  }
}
