import { diffEntry, type Drift, type ObservedEntry } from '../core/integrity/diff.js';
import { checkMounts, parseMountinfo, type ExpectedMounts } from '../core/integrity/mounts.js';
import {
  executableMappings,
  foreignProcesses,
  type ProcessView,
} from '../core/integrity/processes.js';
import type { Digest } from '../domain/digest.js';
import type { Evidence } from '../domain/instance.js';
import type { MeasuredEntry } from '../domain/measurement.js';

/** An instance as the monitor checks it. */
export interface MonitoredInstance {
  readonly id: string;
  /** Host PID of its init. */
  readonly pid: number;
  readonly artifact: Digest;
  /** The rootfs folder it runs from (shared by every instance of the artifact). */
  readonly rootfs: string;
  readonly measurement: readonly MeasuredEntry[];
  /** Mount points the host added to the rootfs (empty folders, not drift). */
  readonly allowed: ReadonlySet<string>;
  /** The runtime config the agent wrote for it. */
  readonly config: ExpectedMounts;
}

export interface FileId {
  readonly dev: number;
  readonly ino: number;
}

/** The host facts the monitor reads; adapters in production, the same in tests. */
export interface IntegrityDeps {
  readonly watch: (
    root: string,
    onPaths: (paths: string[]) => void,
    onError: (err: Error) => void,
  ) => { close(): void };
  readonly observe: (root: string, path: string) => ObservedEntry | null;
  readonly verifyTree: (
    root: string,
    measurement: readonly MeasuredEntry[],
    allowed: ReadonlySet<string>,
  ) => Promise<Drift[]>;
  readonly processes: () => ProcessView[];
  readonly mountinfo: (pid: number) => string | null;
  readonly maps: (pid: number) => string | null;
  readonly executable: (pid: number) => { path: string; deleted: boolean; file: FileId } | null;
  readonly mappedFile: (pid: number, range: string) => FileId | null;
  /** Identity of a rootfs file (lstat), or null if there is none. */
  readonly fileId: (root: string, path: string) => FileId | null;
  readonly now: () => Date;
  /**
   * Drift was found. `rootfs` names the artifact whose shared rootfs was changed: every
   * instance on it is tainted and the folder must not be used again.
   */
  readonly onDrift: (finding: {
    readonly ids: readonly string[];
    readonly evidence: readonly Evidence[];
    readonly rootfs?: Digest;
  }) => void;
}

interface WatchedRootfs {
  readonly root: string;
  readonly artifact: Digest;
  readonly byPath: ReadonlyMap<string, MeasuredEntry>;
  readonly measurement: readonly MeasuredEntry[];
  readonly allowed: ReadonlySet<string>;
  readonly watch: { close(): void };
  /** Already found changed: no more events from it matter. */
  discarded: boolean;
  /** A full verification (or the materialiser's) found it as measured. */
  verified: boolean;
}

const MAX_EVIDENCE = 20;

/**
 * Measures running instances against their artifact and their runtime config, and reports
 * any difference as evidence (it never repairs anything: a drifted instance is replaced).
 *
 * - Files, by event: every rootfs in use is watched; each changed path is checked against
 *   the measurement at once.
 * - Files, in full: `verifyAll` re-hashes every rootfs in use; it catches what events
 *   cannot (changes made while the agent was down, a lost event).
 * - Processes, mounts and executables, by `checkProcesses` (called on the agent's tick):
 *   a process that entered from outside, a program or mapped file that is not the measured
 *   file at its path, a mount table that differs from the config.
 */
export class IntegrityMonitor {
  private readonly instances = new Map<string, MonitoredInstance>();
  /** Each artifact's measurement by path, built once, kept while an instance runs it. */
  private readonly measured = new Map<Digest, ReadonlyMap<string, MeasuredEntry>>();
  private readonly rootfs = new Map<string, WatchedRootfs>();
  /** Milliseconds spent checking so far (for /metrics: what monitoring costs). */
  private busyMs = 0;

  constructor(private readonly deps: IntegrityDeps) {}

  /**
   * Start checking an instance. Its rootfs is watched from its first instance on; one that
   * was not verified just now (reused from an earlier start, or after a restart) is
   * verified in full first, since it was not watched meanwhile.
   */
  track(i: MonitoredInstance, options: { verified: boolean }): void {
    this.instances.set(i.id, i);
    let byPath = this.measured.get(i.artifact);
    if (!byPath)
      this.measured.set(i.artifact, (byPath = new Map(i.measurement.map((e) => [e.path, e]))));
    if (this.rootfs.has(i.rootfs)) return;
    const entry: WatchedRootfs = {
      root: i.rootfs,
      artifact: i.artifact,
      byPath,
      measurement: i.measurement,
      allowed: i.allowed,
      discarded: false,
      verified: options.verified,
      watch: this.deps.watch(
        i.rootfs,
        (paths) => this.onPaths(i.rootfs, paths),
        (err) => {
          // Events may be lost: only a full check can say what changed.
          void this.verifyRootfs(i.rootfs).catch(() => undefined);
          void err;
        },
      ),
    };
    this.rootfs.set(i.rootfs, entry);
    if (!options.verified) void this.verifyRootfs(i.rootfs).catch(() => undefined);
  }

  /** verified: its rootfs was verified and has not changed since; else unchecked. */
  integrityOf(id: string): 'verified' | 'unchecked' {
    const i = this.instances.get(id);
    const w = i && this.rootfs.get(i.rootfs);
    return w?.verified && !w.discarded ? 'verified' : 'unchecked';
  }

  untrack(id: string): void {
    const i = this.instances.get(id);
    if (!i) return;
    this.instances.delete(id);
    const others = [...this.instances.values()];
    if (!others.some((o) => o.artifact === i.artifact)) this.measured.delete(i.artifact);
    if (!others.some((o) => o.rootfs === i.rootfs)) {
      this.rootfs.get(i.rootfs)?.watch.close();
      this.rootfs.delete(i.rootfs);
    }
  }

  /** The rootfs folder was moved aside (discarded): instances on it keep running from there. */
  moved(from: string, to: string): void {
    const w = this.rootfs.get(from);
    if (w) {
      w.watch.close();
      this.rootfs.delete(from);
    }
    for (const [id, i] of this.instances)
      if (i.rootfs === from) this.instances.set(id, { ...i, rootfs: to });
  }

  close(): void {
    for (const w of this.rootfs.values()) w.watch.close();
    this.rootfs.clear();
    this.instances.clear();
    this.measured.clear();
  }

  private onRootfs(root: string): string[] {
    return [...this.instances.values()].filter((i) => i.rootfs === root).map((i) => i.id);
  }

  private evidence(
    detector: Evidence['detector'],
    drifts: readonly { path: string; expected: string; actual: string }[],
  ): Evidence[] {
    const time = this.deps.now().toISOString();
    return drifts
      .slice(0, MAX_EVIDENCE)
      .map((d) => ({ detector, path: d.path, expected: d.expected, actual: d.actual, time }));
  }

  private reportRootfs(w: WatchedRootfs, detector: Evidence['detector'], drifts: Drift[]): void {
    if (drifts.length === 0 || w.discarded) return;
    w.discarded = true;
    this.deps.onDrift({
      ids: this.onRootfs(w.root),
      evidence: this.evidence(detector, drifts.map(describeDrift)),
      rootfs: w.artifact,
    });
  }

  /** Time spent checking, in seconds, since the monitor started. */
  busySeconds(): number {
    return this.busyMs / 1000;
  }

  private timed<T>(work: () => T): T {
    const t0 = performance.now();
    try {
      return work();
    } finally {
      this.busyMs += performance.now() - t0;
    }
  }

  /** Changed paths of one rootfs, checked against the measurement. */
  private onPaths(root: string, paths: readonly string[]): void {
    this.timed(() => this.checkPaths(root, paths));
  }

  private checkPaths(root: string, paths: readonly string[]): void {
    const w = this.rootfs.get(root);
    if (!w || w.discarded) return;
    const drifts: Drift[] = [];
    for (const path of paths) {
      let observed: ObservedEntry | null;
      try {
        observed = this.deps.observe(root, path);
      } catch (err) {
        drifts.push({
          kind: 'changed',
          path,
          field: 'type',
          expected: 'readable',
          actual: err instanceof Error ? err.message : 'unreadable',
        });
        continue;
      }
      const expected = w.byPath.get(path);
      if (!expected) {
        if (observed && !(observed.type === 'dir' && w.allowed.has(path)))
          drifts.push({ kind: 'added', path, actual: observed.type });
      } else if (!observed) drifts.push({ kind: 'removed', path, expected: expected.type });
      else drifts.push(...diffEntry(expected, observed));
    }
    this.reportRootfs(w, 'files', drifts);
  }

  private async verifyRootfs(root: string): Promise<Drift[]> {
    const w = this.rootfs.get(root);
    if (!w) return [];
    const t0 = performance.now();
    const drifts = await this.deps
      .verifyTree(root, w.measurement, w.allowed)
      .finally(() => (this.busyMs += performance.now() - t0));
    if (drifts.length === 0) w.verified = true;
    this.reportRootfs(w, 'files-full', drifts);
    return drifts;
  }

  /** Full verification of every rootfs in use; returns the drift found per artifact. */
  async verifyAll(): Promise<{ artifact: Digest; instances: string[]; drift: Drift[] }[]> {
    const out = [];
    for (const w of [...this.rootfs.values()]) {
      const instances = this.onRootfs(w.root);
      out.push({ artifact: w.artifact, instances, drift: await this.verifyRootfs(w.root) });
    }
    return out;
  }

  /** Processes, executables and mounts of every instance; one scan of /proc for all. */
  checkProcesses(): void {
    if (this.instances.size > 0) this.timed(() => this.checkAllProcesses());
  }

  private checkAllProcesses(): void {
    const all = this.deps.processes();
    const byPid = new Map(all.map((p) => [p.pid, p]));
    for (const i of this.instances.values()) {
      const init = byPid.get(i.pid);
      if (!init) continue; // exited: the agent reports it failed
      const found: Evidence[] = [];
      for (const p of foreignProcesses(init, all)) {
        const exe = this.deps.executable(p.pid);
        found.push(
          ...this.evidence('process', [
            {
              path: exe?.path ?? `pid ${p.pid}`,
              expected: "only the instance's own processes",
              actual: `pid ${p.pid} entered from outside (parent ${p.ppid})`,
            },
          ]),
        );
      }
      const table = this.deps.mountinfo(i.pid);
      if (table !== null)
        found.push(...this.evidence('mounts', checkMounts(i.config, parseMountinfo(table))));
      for (const p of all)
        if (p.pidNs === init.pidNs) found.push(...this.checkExecutables(i, p.pid));
      if (found.length > 0) this.deps.onDrift({ ids: [i.id], evidence: found });
    }
  }

  /** Every program and executable mapping of a process must be the measured file there. */
  private checkExecutables(i: MonitoredInstance, pid: number): Evidence[] {
    const byPath = this.measured.get(i.artifact);
    const problems: { path: string; expected: string; actual: string }[] = [];
    const check = (path: string, deleted: boolean, file: FileId | null) => {
      const measured = byPath?.get(path);
      if (deleted) problems.push({ path, expected: 'a measured file', actual: 'a deleted file' });
      else if (!measured || measured.type !== 'file')
        problems.push({ path, expected: 'a measured file', actual: 'not in the artifact' });
      else {
        const onDisk = this.deps.fileId(i.rootfs, path);
        if (file && (!onDisk || onDisk.dev !== file.dev || onDisk.ino !== file.ino))
          problems.push({
            path,
            expected: 'the measured file',
            actual: `another file (device ${file.dev}, inode ${file.ino})`,
          });
      }
    };
    const exe = this.deps.executable(pid);
    if (exe) check(exe.path, exe.deleted, exe.file);
    const maps = this.deps.maps(pid);
    if (maps)
      for (const m of executableMappings(maps))
        if (exe === null || m.path !== exe.path || m.deleted)
          check(m.path, m.deleted, this.deps.mappedFile(pid, m.range));
    return this.evidence('exec', problems);
  }
}

function describeDrift(d: Drift): { path: string; expected: string; actual: string } {
  switch (d.kind) {
    case 'added':
      return { path: d.path, expected: 'nothing', actual: `${d.actual} added` };
    case 'removed':
      return { path: d.path, expected: d.expected, actual: 'removed' };
    case 'changed':
      return {
        path: d.path,
        expected: `${d.field} ${d.expected}`,
        actual: `${d.field} ${d.actual}`,
      };
  }
}
