/**
 * Which processes of an instance were not started by it. An instance's processes are its
 * init and init's descendants. Anything else that shares its PID or mount namespace got
 * there from outside — `runc exec`, `nsenter`, `setns` — which is access, whoever did it:
 * break-glass that did not go through `ingot debug` is still break-glass, and taints.
 */

export interface ProcessView {
  readonly pid: number;
  /** The parent as the host sees it. */
  readonly ppid: number;
  /** Its PID, mount and network namespaces (as /proc/<pid>/ns links read). */
  readonly pidNs: string;
  readonly mntNs: string;
  readonly netNs?: string;
  /** The PID of a process tracing it (ptrace), or 0. */
  readonly tracer?: number;
}

/**
 * The processes sharing a namespace (PID, mount or network) with `init` that do not
 * descend from it. `processes`
 * is every process on the host (one scan of /proc serves every instance). Pure.
 */
export function foreignProcesses(
  init: ProcessView,
  processes: readonly ProcessView[],
): ProcessView[] {
  const mine = processes.filter(
    (p) =>
      p.pid !== init.pid &&
      (p.pidNs === init.pidNs ||
        p.mntNs === init.mntNs ||
        (init.netNs !== undefined && p.netNs === init.netNs)),
  );
  const parents = new Map(processes.map((p) => [p.pid, p.ppid]));
  const descends = (pid: number): boolean => {
    // Bounded walk: a parent cycle (a PID reused between two reads) ends it.
    for (let p = parents.get(pid), hops = 0; p !== undefined && hops < 4096; hops++) {
      if (p === init.pid) return true;
      if (p <= 1) return false;
      p = parents.get(p);
    }
    return false;
  };
  return mine.filter((p) => !descends(p.pid));
}

/** An executable mapping of /proc/<pid>/maps: the file a process runs code from. */
export interface ExecutableMapping {
  readonly range: string;
  readonly path: string;
  readonly deleted: boolean;
}

/**
 * The file-backed executable mappings of /proc/<pid>/maps (proc(5)): "start-end perms
 * offset dev inode path". Pseudo-mappings ([vdso], [stack]) and anonymous memory are not
 * files and are left out. Pure.
 */
export function executableMappings(maps: string): ExecutableMapping[] {
  const out = new Map<string, ExecutableMapping>();
  for (const line of maps.split('\n')) {
    const m = /^([0-9a-f]+-[0-9a-f]+) (\S{4}) \S+ \S+ \d+\s+(\/.*)$/.exec(line);
    if (!m || m[2]![2] !== 'x') continue;
    const raw = m[3]!;
    const deleted = raw.endsWith(' (deleted)');
    const path = deleted ? raw.slice(0, -' (deleted)'.length) : raw;
    if (!out.has(path)) out.set(path, { range: m[1]!, path, deleted });
  }
  return [...out.values()];
}
