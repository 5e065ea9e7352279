import type { Finding } from '../../core/integrity/evidence.js';
import { executableFinding, initFinding } from '../../core/integrity/executables.js';
import {
  checkMounts,
  compareMounts,
  parseMountinfo,
  type MountEntry,
} from '../../core/integrity/mounts.js';
import {
  enteredFinding,
  otherMountNamespaces,
  tracedProcesses,
} from '../../core/integrity/process-findings.js';
import {
  executableMappings,
  foreignProcesses,
  type ProcessView,
} from '../../core/integrity/processes.js';
import type { Digest } from '../../domain/digest.js';
import type { Evidence } from '../../domain/instance.js';
import type { MeasuredEntry } from '../../domain/measurement.js';
import type { IntegrityDeps, MonitoredInstance } from './contracts.js';
import { evidenceAt, type EvidenceOf } from './evidence.js';

/**
 * What no file event shows: a process that entered an instance from outside, a traced
 * one, a mount table that differs from the config or from the one the instance started
 * with, and a program or mapped file that is not the measured file at its path.
 */
export class ProcessChecks {
  /** Each instance's mount table when it started, checked then against its config. */
  private readonly mounts = new Map<string, MountEntry[]>();
  private readonly evidence: EvidenceOf;

  constructor(
    private readonly deps: IntegrityDeps,
    private readonly measuredOf: (
      artifact: Digest,
    ) => ReadonlyMap<string, MeasuredEntry> | undefined,
  ) {
    this.evidence = evidenceAt(() => deps.now());
  }

  /** The mount table as runc made it, before anything else could touch it. */
  started(i: MonitoredInstance): void {
    const table = this.deps.mountinfo(i.pid);
    if (table !== null) this.mounts.set(i.id, parseMountinfo(table));
  }

  forget(id: string): void {
    this.mounts.delete(id);
  }

  clear(): void {
    this.mounts.clear();
  }

  /** Every instance, from one scan of /proc; drift is reported per instance. */
  checkAll(instances: Iterable<MonitoredInstance>): void {
    const all = this.deps.processes();
    const byPid = new Map(all.map((p) => [p.pid, p]));
    for (const i of instances) {
      const init = byPid.get(i.pid);
      if (!init) continue; // exited: the agent reports it failed
      const found = this.check(i, init, all);
      if (found.length > 0) this.deps.onDrift({ ids: [i.id], evidence: found });
    }
  }

  private check(i: MonitoredInstance, init: ProcessView, all: readonly ProcessView[]): Evidence[] {
    // Each process is its own piece of evidence: none is left out for the bound.
    const each = (f: Finding) => this.evidence('process', [f]);
    return [
      ...foreignProcesses(init, all).flatMap((p) =>
        each(enteredFinding(p, this.deps.executable(p.pid)?.path)),
      ),
      ...otherMountNamespaces(init, all).flatMap(each),
      ...tracedProcesses(init, all).flatMap(each),
      ...this.mountDrift(i),
      ...all.filter((p) => p.pidNs === init.pidNs).flatMap((p) => this.executableDrift(i, p.pid)),
    ];
  }

  private mountDrift(i: MonitoredInstance): Evidence[] {
    const text = this.deps.mountinfo(i.pid);
    if (text === null) return [];
    const table = parseMountinfo(text);
    const baseline = this.mounts.get(i.id);
    if (baseline === undefined) this.mounts.set(i.id, table);
    return this.evidence('mounts', [
      ...checkMounts(i.config, table),
      ...(baseline ? compareMounts(baseline, table) : []),
    ]);
  }

  /** Every program and executable mapping of a process must be the measured file there. */
  private executableDrift(i: MonitoredInstance, pid: number): Evidence[] {
    const byPath = this.measuredOf(i.artifact);
    const problems: Finding[] = [];
    const check = (path: string, running: Parameters<typeof executableFinding>[1]) => {
      const found =
        i.init && path === i.init.path
          ? initFinding(path, running, i.init.file)
          : executableFinding(path, running, byPath?.get(path), () =>
              this.deps.fileId(i.rootfs, path),
            );
      if (found) problems.push(found);
    };
    const exe = this.deps.executable(pid);
    if (exe) check(exe.path, exe);
    const maps = this.deps.maps(pid);
    if (maps)
      for (const m of executableMappings(maps))
        if (exe === null || m.path !== exe.path || m.deleted)
          check(m.path, { deleted: m.deleted, file: this.deps.mappedFile(pid, m.range) });
    return this.evidence('exec', problems);
  }
}
