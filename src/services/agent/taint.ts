import type { DriftFinding } from '../integrity/index.js';
import type { AgentContext } from './context.js';
import type { InstanceTable } from './instance-table.js';

/** Evidence kept per instance: the first findings say the most. */
const MAX_EVIDENCE = 20;

/**
 * Drift or access: the instances are tainted (the controller replaces them; nothing is
 * repaired in place), each new finding is recorded, and a changed shared rootfs is moved
 * aside for good.
 */
export function taint(ctx: AgentContext, table: InstanceTable, finding: DriftFinding): void {
  let changed = false;
  for (const id of finding.ids) {
    const t = table.get(id);
    if (!t) continue;
    const known = t.evidence ?? [];
    const fresh = finding.evidence.filter(
      (e) =>
        !known.some((k) => k.detector === e.detector && k.path === e.path && k.actual === e.actual),
    );
    if (fresh.length === 0) continue;
    t.evidence = [...known, ...fresh].slice(0, MAX_EVIDENCE);
    changed = true;
    ctx.emit('drift', t, {
      evidence: fresh.slice(0, 5),
      ...(finding.rootfs !== undefined && { rootfsDiscarded: true }),
    });
  }
  if (finding.rootfs !== undefined && ctx.deps.discardRootfs) {
    const from = finding.rootfs.folder;
    try {
      const to = ctx.deps.discardRootfs(finding.rootfs.artifact, from);
      ctx.monitor?.moved(from, to);
      for (const t of table.values()) if (t.rootfs === from) t.rootfs = to;
      changed = true;
    } catch {
      // Not moved: its instances are tainted all the same, and replaced.
    }
  }
  if (changed) table.save();
}
