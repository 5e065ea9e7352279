import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { cgroupPaths } from '../../core/integrity/process-events.js';
import type { ProcessView } from '../../core/integrity/processes.js';

/**
 * What /proc says about processes: read from the host, for any namespace. Every read may
 * race with a process exiting; a process that vanished mid-read is simply not reported.
 */

function quiet<T>(read: () => T): T | null {
  try {
    return read();
  } catch {
    return null;
  }
}

/** Every process on the host with its parent and namespaces: one scan serves all instances. */
export function scanProcesses(): ProcessView[] {
  const out: ProcessView[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    const status = quiet(() => readFileSync(`/proc/${pid}/status`, 'latin1'));
    const pidNs = quiet(() => readlinkSync(`/proc/${pid}/ns/pid`));
    const mntNs = quiet(() => readlinkSync(`/proc/${pid}/ns/mnt`));
    const netNs = quiet(() => readlinkSync(`/proc/${pid}/ns/net`));
    const ppid = status ? /^PPid:\s+(\d+)$/m.exec(status)?.[1] : undefined;
    const tracer = status ? /^TracerPid:\s+(\d+)$/m.exec(status)?.[1] : undefined;
    if (ppid === undefined || pidNs === null || mntNs === null) continue;
    out.push({
      pid,
      ppid: Number(ppid),
      pidNs,
      mntNs,
      ...(netNs !== null && { netNs }),
      tracer: Number(tracer ?? 0),
    });
  }
  return out;
}

export function readMountinfo(pid: number): string | null {
  return quiet(() => readFileSync(`/proc/${pid}/mountinfo`, 'utf8'));
}

export function readMaps(pid: number): string | null {
  return quiet(() => readFileSync(`/proc/${pid}/maps`, 'utf8'));
}

/** A file as the kernel identifies it: the same (dev, ino) is the same file. */
export interface FileIdentity {
  readonly dev: number;
  readonly ino: number;
}

/**
 * The program a process runs: its path as the process sees it, and the file itself
 * (stat through the magic link reaches the very inode, even if it was deleted or replaced).
 */
export function readExecutable(
  pid: number,
): { path: string; deleted: boolean; file: FileIdentity } | null {
  return quiet(() => {
    const link = readlinkSync(`/proc/${pid}/exe`);
    const st = statSync(`/proc/${pid}/exe`);
    const deleted = link.endsWith(' (deleted)');
    return {
      path: deleted ? link.slice(0, -' (deleted)'.length) : link,
      deleted,
      file: { dev: st.dev, ino: st.ino },
    };
  });
}

/** The file behind one mapping of a process (needs CAP_SYS_ADMIN: the agent is root). */
export function mappedFile(pid: number, range: string): FileIdentity | null {
  return quiet(() => {
    const st = statSync(`/proc/${pid}/map_files/${range}`);
    return { dev: st.dev, ino: st.ino };
  });
}

/** A process's namespaces and cgroup paths (an instance's init, when it is tracked). */
export function readIdentity(
  pid: number,
): { pidNs: string; mntNs: string; netNs: string | null; cgroups: string[] } | null {
  const pidNs = quiet(() => readlinkSync(`/proc/${pid}/ns/pid`));
  const mntNs = quiet(() => readlinkSync(`/proc/${pid}/ns/mnt`));
  const cgroup = quiet(() => readFileSync(`/proc/${pid}/cgroup`, 'utf8'));
  if (pidNs === null || mntNs === null || cgroup === null) return null;
  return {
    pidNs,
    mntNs,
    netNs: quiet(() => readlinkSync(`/proc/${pid}/ns/net`)),
    cgroups: cgroupPaths(cgroup),
  };
}
