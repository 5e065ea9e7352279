import { diffEntry, type Drift, type ObservedEntry } from '../core/integrity/diff.js';
import {
  checkMounts,
  compareMounts,
  parseMountinfo,
  type ExpectedMounts,
  type MountEntry,
} from '../core/integrity/mounts.js';
import {
  executableMappings,
  foreignProcesses,
  type ProcessView,
} from '../core/integrity/processes.js';
import type { Digest } from '../domain/digest.js';
import { IngotError } from '../domain/errors.js';
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

/** What was found, about which instances; `rootfs` when a shared rootfs itself changed. */
export interface DriftFinding {
  readonly ids: readonly string[];
  readonly evidence: readonly Evidence[];
  readonly rootfs?: { readonly artifact: Digest; readonly folder: string };
}

export class IntegrityError extends IngotError<'E_ROOTFS_DRIFT'> {}

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
  /** Whether a failed verification is the verifier's own fault (not evidence of drift). */
  readonly isVerifierFault?: (err: unknown) => boolean;
  readonly processes: () => ProcessView[];
  readonly mountinfo: (pid: number) => string | null;
  readonly maps: (pid: number) => string | null;
  readonly executable: (pid: number) => { path: string; deleted: boolean; file: FileId } | null;
  readonly mappedFile: (pid: number, range: string) => FileId | null;
  /** Identity of a rootfs file (lstat), or null if there is none. */
  readonly fileId: (root: string, path: string) => FileId | null;
  readonly now: () => Date;
  /** Release what the host side holds (hashing workers). */
  readonly close?: () => Promise<void>;
  /**
   * Drift was found. `rootfs` names the artifact whose shared rootfs was changed: every
   * instance on it is tainted and the folder must not be used again.
   */
  readonly onDrift: (finding: DriftFinding) => void;
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
  /** Starts between `ready` and `track`/`forget`, per rootfs: their watch must stay. */
  private readonly claims = new Map<string, number>();
  /** Rootfs folders moved aside, and where to: a start still on its way is tainted. */
  private readonly movedTo = new Map<string, string>();
  /** Each instance's mount table when it started, checked then against its config. */
  private readonly mounts = new Map<string, MountEntry[]>();
  /** Milliseconds spent checking so far (for /metrics: what monitoring costs). */
  private busyMs = 0;

  constructor(private readonly deps: IntegrityDeps) {}

  /**
   * Watch a rootfs before anything runs from it, and verify it in full first unless it was
   * verified just now: a rootfs taken from an earlier start was not watched meanwhile.
   * Throws if it drifted (it is then discarded through `onDrift`).
   */
  async ready(
    r: Pick<MonitoredInstance, 'artifact' | 'rootfs' | 'measurement' | 'allowed'>,
    options: { verified: boolean },
  ): Promise<void> {
    this.movedTo.delete(r.rootfs); // made again: a new folder at that path
    this.claims.set(r.rootfs, (this.claims.get(r.rootfs) ?? 0) + 1);
    const w = this.watchRootfs(r, options.verified);
    if (!w.verified) await this.verifyRootfs(r.rootfs);
    if (w.discarded || !w.verified)
      throw new IntegrityError(
        'E_ROOTFS_DRIFT',
        `the rootfs of ${r.artifact} differs from its measurement: it is discarded, and made again from verified blobs`,
      );
  }

  /** A rootfs that `ready` watched for a start that did not happen, unless in use. */
  forget(rootfs: string): void {
    const claims = (this.claims.get(rootfs) ?? 1) - 1;
    if (claims > 0) this.claims.set(rootfs, claims);
    else this.claims.delete(rootfs);
    if (claims > 0 || [...this.instances.values()].some((i) => i.rootfs === rootfs)) return;
    this.rootfs.get(rootfs)?.watch.close();
    this.rootfs.delete(rootfs);
  }

  private watchRootfs(
    r: Pick<MonitoredInstance, 'artifact' | 'rootfs' | 'measurement' | 'allowed'>,
    verified: boolean,
  ): WatchedRootfs {
    let byPath = this.measured.get(r.artifact);
    if (!byPath)
      this.measured.set(r.artifact, (byPath = new Map(r.measurement.map((e) => [e.path, e]))));
    const known = this.rootfs.get(r.rootfs);
    if (known) return known;
    const entry: WatchedRootfs = {
      root: r.rootfs,
      artifact: r.artifact,
      byPath,
      measurement: r.measurement,
      allowed: r.allowed,
      discarded: false,
      verified,
      watch: this.deps.watch(
        r.rootfs,
        (paths) => this.onPaths(r.rootfs, paths),
        // Events may have been lost: only a full check can say what changed.
        () => void this.verifyRootfs(r.rootfs).catch(() => undefined),
      ),
    };
    this.rootfs.set(r.rootfs, entry);
    return entry;
  }

  /**
   * Start checking an instance (its rootfs normally watched already by `ready`). One
   * adopted after a restart is verified in full, since nothing watched it meanwhile.
   */
  track(instance: MonitoredInstance, options: { verified: boolean }): void {
    const claims = (this.claims.get(instance.rootfs) ?? 0) - 1;
    if (claims > 0) this.claims.set(instance.rootfs, claims);
    else this.claims.delete(instance.rootfs);
    // Its rootfs changed while it was starting: it runs from the discarded folder.
    const moved = this.movedTo.get(instance.rootfs);
    const i = moved === undefined ? instance : { ...instance, rootfs: moved };
    this.instances.set(i.id, i);
    // The mount table as runc made it, before anything else could touch it.
    const table = this.deps.mountinfo(i.pid);
    if (table !== null) this.mounts.set(i.id, parseMountinfo(table));
    if (moved !== undefined) {
      this.deps.onDrift({
        ids: [i.id],
        evidence: this.evidence('files', [
          {
            path: '/',
            expected: 'no change on disk',
            actual: 'its rootfs changed while it started',
          },
        ]),
      });
      return;
    }
    // A watch that `ready` set up and nobody lost meanwhile keeps its verdict; otherwise
    // (adopted after a restart) the rootfs is verified in full, since nothing watched it.
    const known = this.rootfs.get(i.rootfs);
    const w = this.watchRootfs(i, known !== undefined && options.verified);
    if (!w.verified) void this.verifyRootfs(i.rootfs).catch(() => undefined);
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
    this.mounts.delete(id);
    const others = [...this.instances.values()];
    if (!others.some((o) => o.artifact === i.artifact)) this.measured.delete(i.artifact);
    if (!others.some((o) => o.rootfs === i.rootfs)) {
      this.rootfs.get(i.rootfs)?.watch.close();
      this.rootfs.delete(i.rootfs);
    }
  }

  /** The rootfs folder was moved aside (discarded): instances on it keep running from there. */
  moved(from: string, to: string): void {
    this.movedTo.set(from, to);
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
    this.mounts.clear();
    this.claims.clear();
    this.movedTo.clear();
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
    return drifts.slice(0, MAX_EVIDENCE).map((d) => ({
      detector,
      path: bounded(d.path),
      expected: bounded(d.expected),
      actual: bounded(d.actual),
      time,
    }));
  }

  private reportRootfs(
    w: WatchedRootfs,
    detector: Evidence['detector'],
    findings: readonly { path: string; expected: string; actual: string }[],
  ): void {
    if (findings.length === 0 || w.discarded) return;
    w.discarded = true;
    this.deps.onDrift({
      ids: this.onRootfs(w.root),
      evidence: this.evidence(detector, findings),
      rootfs: { artifact: w.artifact, folder: w.root },
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
    // Nothing may write to a rootfs: a change that reads as measured again (written, run,
    // restored; or renamed over with an identical copy) is a change all the same.
    const findings = drifts.map(describeDrift);
    if (findings.length === 0)
      findings.push({
        path: paths[0] ?? '/',
        expected: 'no change on disk',
        actual: `changed on disk (${paths.length} path(s)), though it reads as measured now`,
      });
    this.reportRootfs(w, 'files', findings);
  }

  private async verifyRootfs(root: string): Promise<Drift[]> {
    const w = this.rootfs.get(root);
    if (!w) return [];
    const t0 = performance.now();
    let drifts: Drift[];
    try {
      drifts = await this.deps.verifyTree(root, w.measurement, w.allowed);
    } catch (err) {
      // The verifier's own failure says nothing about the tree: unchecked, tried again.
      if (this.deps.isVerifierFault?.(err)) return [];
      // Anything else fails closed: a tree that cannot be verified (a path too long to
      // open, a file that keeps changing) is not a tree that can be trusted.
      drifts = [
        {
          kind: 'changed',
          path: '/',
          field: 'type',
          expected: 'a verifiable tree',
          actual: err instanceof Error ? err.message : 'unverifiable',
        },
      ];
    } finally {
      this.busyMs += performance.now() - t0;
    }
    // Moved aside, forgotten or closed meanwhile: this result is about a past watch.
    if (this.rootfs.get(root) !== w) return drifts;
    if (drifts.length === 0) w.verified = true;
    this.reportRootfs(w, 'files-full', drifts.map(describeDrift));
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
      for (const p of all)
        if (p.pidNs === init.pidNs && p.mntNs !== init.mntNs)
          found.push(
            ...this.evidence('process', [
              {
                path: `pid ${p.pid}`,
                expected: "the instance's mount namespace",
                actual: 'another mount namespace',
              },
            ]),
          );
      for (const p of all)
        if ((p.tracer ?? 0) !== 0 && (p.pid === init.pid || p.pidNs === init.pidNs))
          found.push(
            ...this.evidence('process', [
              { path: `pid ${p.pid}`, expected: 'not traced', actual: `traced by pid ${p.tracer}` },
            ]),
          );
      const text = this.deps.mountinfo(i.pid);
      if (text !== null) {
        const table = parseMountinfo(text);
        const baseline = this.mounts.get(i.id);
        if (baseline === undefined) this.mounts.set(i.id, table);
        found.push(
          ...this.evidence('mounts', [
            ...checkMounts(i.config, table),
            ...(baseline ? compareMounts(baseline, table) : []),
          ]),
        );
      }
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

/**
 * Evidence strings come from what an attacker controls (file names, link targets): kept
 * short, and without control characters, so that the record of them can always be written.
 */
function bounded(text: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f]/g, '?');
  return clean.length > 512 ? `${clean.slice(0, 509)}...` : clean;
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
