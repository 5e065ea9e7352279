import type { Finding } from './evidence.js';

/**
 * Processes seen as they fork and exec (the proc connector), and which of them entered an
 * instance from outside. A poll of /proc misses whatever lives shorter than its period
 * (`runc exec ID cat /etc/passwd` takes a few ms); an event does not.
 */

/** One process as read from /proc the moment its event arrived. */
export interface ProcessEvent {
  /**
   * fork: a new process (still running its parent's code); exec: it runs a new program;
   * parent: the forked child was gone before it could be read, so this is its parent.
   */
  readonly kind: 'fork' | 'exec' | 'parent';
  readonly pid: number;
  /** Its parent then (a reaper, if the parent had already exited). */
  readonly ppid: number;
  readonly pidNs: string;
  readonly mntNs: string;
  readonly netNs: string | null;
  /** The parent's PID namespace, or null if the parent was gone too. */
  readonly parentPidNs: string | null;
  /** The program (null once it exited), its name, and /proc/PID/cgroup as read. */
  readonly exe: string | null;
  readonly comm: string | null;
  readonly cgroup: string | null;
  /** When the kernel saw it (CLOCK_MONOTONIC, ns), if known: what latency is measured from. */
  readonly ts?: number;
}

/** What the event source says on each line. */
export type EventMessage =
  | { readonly type: 'process'; readonly event: ProcessEvent }
  | { readonly type: 'ready'; readonly pid: number }
  | { readonly type: 'error'; readonly message: string }
  | { readonly type: 'lost' };

/** An instance as its events are matched: its init's namespaces and cgroups. */
export interface InstanceIdentity {
  readonly id: string;
  /** Host PID of its init. */
  readonly pid: number;
  readonly pidNs: string;
  readonly mntNs: string;
  readonly netNs: string | null;
  /** The init's cgroup paths (one per hierarchy), from /proc/PID/cgroup. */
  readonly cgroups: readonly string[];
}

const MAX_TEXT = 8192;

function str(v: unknown): string | null {
  return typeof v === 'string' && v.length <= MAX_TEXT ? v : null;
}

function pid(v: unknown): number | null {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 && v < 2 ** 32 ? v : null;
}

/**
 * One line of the event source, or null if it is not one. The helper is ours, but what it
 * reports (program paths, names) comes from processes an attacker may run: every field is
 * checked, nothing is trusted for its shape. Pure.
 */
export function parseEventLine(line: string): EventMessage | null {
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return null;
  const r = o as Record<string, unknown>;
  if (r['ready'] === true && pid(r['pid']) !== null)
    return { type: 'ready', pid: r['pid'] as number };
  if (r['lost'] === true) return { type: 'lost' };
  if (typeof r['error'] === 'string') return { type: 'error', message: r['error'].slice(0, 500) };
  const kind = r['kind'];
  if (kind !== 'fork' && kind !== 'exec' && kind !== 'parent') return null;
  const [p, pp, pidNs, mntNs] = [pid(r['pid']), pid(r['ppid']), str(r['pidNs']), str(r['mntNs'])];
  if (p === null || pp === null || pidNs === null || mntNs === null) return null;
  return {
    type: 'process',
    event: {
      kind,
      pid: p,
      ppid: pp,
      pidNs,
      mntNs,
      netNs: str(r['netNs']),
      parentPidNs: str(r['parentPidNs']),
      exe: str(r['exe']),
      comm: str(r['comm']),
      cgroup: str(r['cgroup']),
      ...(typeof r['ts'] === 'number' && Number.isSafeInteger(r['ts']) && { ts: r['ts'] }),
    },
  };
}

/** The paths of /proc/PID/cgroup ("ID:controllers:/path" a line), the root left out. Pure. */
export function cgroupPaths(text: string): string[] {
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    const m = /^\d+:[^:]*:(\/.*)$/.exec(line);
    if (m && m[1] !== '/') out.add(m[1]!);
  }
  return [...out];
}

/**
 * The instance a process belongs to, if any: its PID namespace; for an exec (or the parent
 * of a vanished child) also its mount or network namespace, or the instance's own cgroup.
 *
 * A fork is matched by PID namespace only: while `runc create` sets an instance up, its
 * helper process already sits in the new mount and network namespaces (and cgroup) but in
 * the host's PID namespace, and forks the instance's init from there; it never execs.
 */
function instanceOf(
  e: ProcessEvent,
  instances: readonly InstanceIdentity[],
): InstanceIdentity | undefined {
  const byPid = instances.find((i) => i.pidNs === e.pidNs);
  if (byPid || e.kind === 'fork') return byPid;
  const cgroups = e.cgroup === null ? [] : cgroupPaths(e.cgroup);
  return instances.find(
    (i) =>
      i.mntNs === e.mntNs ||
      (i.netNs !== null && i.netNs === e.netNs) ||
      // Its own cgroup (named after it), not one it merely shares with the agent.
      i.cgroups.some((c) => c.endsWith(`/${i.id}`) && cgroups.includes(c)),
  );
}

/**
 * Whether a process entered an instance from outside, and the finding that says so. An
 * instance's own processes descend from its init, inside its PID namespace; a process
 * inside whose parent is outside (`runc exec`, `nsenter -p`: the parent stays on the host),
 * or one that shares the instance's mount or network namespace from outside its PID
 * namespace (`nsenter -m`, `setns`), came in from outside: that is access, whoever it was.
 * A parent that cannot be read any more is no evidence either way. Pure.
 */
export function enteredInstance(
  e: ProcessEvent,
  instances: readonly InstanceIdentity[],
): { id: string; finding: Finding } | null {
  const i = instanceOf(e, instances);
  if (!i || e.pid === i.pid) return null;
  if (e.pidNs === i.pidNs && (e.parentPidNs === null || e.parentPidNs === i.pidNs)) return null;
  return { id: i.id, finding: eventFinding(e) };
}

/** The evidence: the program (or its name, once it exited) and how it was seen. Pure. */
export function eventFinding(e: ProcessEvent): Finding {
  // runc's own init shows as "/" (a sealed copy of itself): its name says more.
  const program = e.exe !== null && e.exe.length > 1 ? e.exe : (e.comm ?? `pid ${e.pid}`);
  return {
    path: program,
    expected: "only the instance's own processes",
    actual: `pid ${e.pid} entered from outside (parent ${e.ppid}), seen at ${e.kind}`,
  };
}
