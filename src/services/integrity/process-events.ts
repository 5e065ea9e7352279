import {
  enteredInstance,
  type InstanceIdentity,
  type ProcessEvent,
} from '../../core/integrity/process-events.js';
import type { IntegrityDeps, MonitoredInstance } from './contracts.js';
import { evidenceAt, type EvidenceOf } from './evidence.js';

/**
 * Access seen as it happens: each process event (fork, exec) is matched to the instances
 * tracked now, and one that entered from outside taints its instance at once, with the
 * program it ran. The /proc scan (ProcessChecks) stays as the second line: it sees what
 * has no event (a process that joined a namespace and did not fork or exec since, a lost
 * event).
 */
export class ProcessEventChecks {
  private readonly identities = new Map<string, InstanceIdentity>();
  private readonly evidence: EvidenceOf;

  constructor(private readonly deps: Pick<IntegrityDeps, 'identity' | 'onDrift' | 'now'>) {
    this.evidence = evidenceAt(() => deps.now());
  }

  /**
   * Its init's namespaces, read now. Events of processes that `runc create` used to set
   * the instance up may still be queued: none of them matches (process-events.ts says why).
   */
  started(i: MonitoredInstance): void {
    const found = this.deps.identity(i.pid);
    if (found === null) return;
    // A namespace's number is reused once it is freed: one an instance left behind (its
    // `gone` never came) must not claim a new instance's events.
    for (const [id, o] of this.identities)
      if (o.pidNs === found.pidNs || o.mntNs === found.mntNs) this.identities.delete(id);
    this.identities.set(i.id, { ...found, id: i.id, pid: i.pid });
  }

  forget(id: string): void {
    this.identities.delete(id);
  }

  clear(): void {
    this.identities.clear();
  }

  onProcess(e: ProcessEvent): void {
    if (this.identities.size === 0) return;
    const hit = enteredInstance(e, [...this.identities.values()]);
    if (hit)
      this.deps.onDrift({ ids: [hit.id], evidence: this.evidence('process', [hit.finding]) });
  }
}
