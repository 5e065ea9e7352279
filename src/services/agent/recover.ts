import { INITIAL_HEALTH } from '../../core/runtime/health.js';
import { isInstanceId } from '../../domain/instance.js';
import { openArtifact } from '../artifact.js';
import type { AgentContext } from './context.js';
import type { InstanceTable, TrackedInstance } from './instance-table.js';
import { taint } from './taint.js';

/**
 * After a restart: adopt the containers this agent started (its saved record and the
 * runtime's state agree), and remove what it does not own. Nothing that runs is restarted;
 * what it adopts is measured again from scratch, as nothing watched it meanwhile.
 */
export async function recoverInstances(
  ctx: AgentContext,
  table: InstanceTable,
): Promise<{ adopted: string[]; removed: string[] }> {
  const { runtime, network, files } = ctx.deps;
  const known = new Map(savedInstances(table).map((s) => [s.id, s]));
  const adopted: string[] = [];
  const removed: string[] = [];
  for (const c of await runtime.list()) {
    const s = known.get(c.id);
    // Adopted only if it runs from the bundle this agent wrote for that id.
    if (s && c.status === 'running' && c.bundle === files.bundle(c.id)) {
      const attachment = await network.find(c.id);
      table.set({
        ...s,
        state: s.state === 'healthy' ? 'healthy' : 'starting',
        pid: c.pid,
        ...(attachment && { address: attachment.address }),
        health: s.state === 'healthy' ? { phase: 'healthy', failures: 0 } : INITIAL_HEALTH,
      });
      adopted.push(c.id);
    } else {
      await runtime.delete(c.id, true).catch(() => undefined);
      await network.detach(c.id).catch(() => undefined);
      files.remove(c.id);
      removed.push(c.id);
      // The record says when it stopped running: what ran when must not list it forever.
      if (s?.startedAt !== undefined)
        ctx.emit('instance-stopped', s, { cause: 'not adoptable after a restart' });
    }
  }
  // Saved instances with no container (a crash while starting, or they exited): release
  // whatever they may still hold. Refusals and failures stay visible with their reasons.
  for (const s of known.values()) {
    if (table.has(s.id) || removed.includes(s.id)) continue;
    await network.detach(s.id).catch(() => undefined);
    files.remove(s.id);
    if (s.state === 'refused' || s.state === 'failed') table.set(s);
    else {
      removed.push(s.id);
      if (s.startedAt !== undefined)
        ctx.emit('instance-stopped', s, { cause: 'gone while the agent was down' });
    }
  }
  table.save();
  for (const id of adopted) await watchAdopted(ctx, table, id);
  return { adopted, removed };
}

/** The saved record, as far as it names instances this agent could have made. */
function savedInstances(table: InstanceTable): TrackedInstance[] {
  return (table.load() as TrackedInstance[]).filter(
    (s) =>
      typeof s === 'object' &&
      s !== null &&
      typeof s.id === 'string' &&
      typeof s.fleet === 'string' &&
      isInstanceId(s.id) &&
      isInstanceId(s.fleet),
  );
}

/** An adopted instance, measured again; what cannot be measured cannot be trusted. */
async function watchAdopted(ctx: AgentContext, table: InstanceTable, id: string): Promise<void> {
  const t = table.get(id);
  if (!ctx.monitor || !t || t.pid === undefined || t.rootfs === undefined) return;
  try {
    const artifact = await openArtifact(ctx.deps.store, t.artifact);
    ctx.monitor.track(
      {
        id,
        pid: t.pid,
        artifact: t.artifact,
        rootfs: t.rootfs,
        measurement: artifact.measurement.entries,
        allowed: new Set(t.addedMountPoints ?? []),
        config: ctx.deps.files.readConfig(id),
      },
      { verified: false },
    );
  } catch (err) {
    taint(ctx, table, {
      ids: [id],
      evidence: [
        {
          detector: 'files-full',
          path: t.rootfs,
          expected: 'a measurable instance',
          actual: err instanceof Error ? err.message : 'unreadable',
          time: ctx.deps.now().toISOString(),
        },
      ],
    });
  }
}
