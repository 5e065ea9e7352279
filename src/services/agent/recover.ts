import { INITIAL_HEALTH } from '../../core/runtime/health.js';
import { INIT_PATH } from '../../core/runtime/init.js';
import { idMapOfSpec } from '../../core/runtime/id-map.js';
import { isInstanceId } from '../../domain/instance.js';
import { openArtifact } from '../artifact.js';
import type { AgentContext } from './context.js';
import type { InstanceTable, TrackedInstance } from './instance-table.js';
import { settleBounded } from './bounded.js';
import { measurementFor } from './id-mapping.js';
import { taint } from './taint.js';

/** Leftovers removed at once after a restart. */
const CLEANUP_CONCURRENCY = 4;

/**
 * After a restart: adopt the containers this agent started (its saved record and the
 * runtime's state agree), and remove what it does not own. Nothing that runs is restarted;
 * what it adopts is measured again from scratch, as nothing watched it meanwhile.
 *
 * Adoption is done when this resolves; removal goes on in `cleanup`, a few at a time, so
 * that thousands of leftovers (a fleet too large, then kill -9) keep neither the API nor the
 * health checks and monitoring of what was adopted waiting. Nothing may start before
 * `cleanup` ends (an instance of the same name would meet the leftover).
 */
export async function recoverInstances(
  ctx: AgentContext,
  table: InstanceTable,
): Promise<{ adopted: string[]; removed: string[]; cleanup: Promise<void> }> {
  const { runtime, network, files } = ctx.deps;
  const known = new Map(savedInstances(table).map((s) => [s.id, s]));
  const adopted: string[] = [];
  const removed: string[] = [];
  const removals: (() => Promise<void>)[] = [];
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
      removals.push(async () => {
        await runtime.delete(c.id, true).catch(() => undefined);
        await network.detach(c.id).catch(() => undefined);
        files.remove(c.id);
      });
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
    removals.push(async () => {
      await network.detach(s.id).catch(() => undefined);
      files.remove(s.id);
    });
    if (s.state === 'refused' || s.state === 'failed') table.set(s);
    else {
      removed.push(s.id);
      if (s.startedAt !== undefined)
        ctx.emit('instance-stopped', s, { cause: 'gone while the agent was down' });
    }
  }
  table.save();
  for (const id of adopted) await watchAdopted(ctx, table, id);
  const cleanup = settleBounded(removals, CLEANUP_CONCURRENCY, (remove) => remove()).then(
    () => undefined,
  );
  return { adopted, removed, cleanup };
}

/** The saved record, as far as it names instances this agent could have made. */
export function savedInstances(table: InstanceTable): TrackedInstance[] {
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
    // Its rootfs was made for the id range its config names: checked with owners shifted so.
    const config = ctx.deps.files.readConfig(id);
    ctx.monitor.track(
      {
        id,
        pid: t.pid,
        artifact: t.artifact,
        rootfs: t.rootfs,
        measurement: measurementFor(artifact, idMapOfSpec(config)),
        allowed: new Set(t.addedMountPoints ?? []),
        config,
        ...(t.init && { init: { path: INIT_PATH, file: { dev: t.init.dev, ino: t.init.ino } } }),
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
