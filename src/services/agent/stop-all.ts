import { isInstanceId } from '../../domain/instance.js';
import type { AgentContext } from './context.js';
import { isRunning, type InstanceTable } from './instance-table.js';
import { savedInstances } from './recover.js';
import { stopInstance } from './stop-instance.js';

/** Stops at once: each may wait its whole grace, and a host can hold many instances. */
const PARALLEL_STOPS = 8;

export interface StopAllReport {
  /** Containers stopped (gracefully, else killed) and removed with what they held. */
  readonly stopped: readonly string[];
  /** Saved instances with no container left: their network and files released. */
  readonly released: readonly string[];
  /** What could not be stopped or released, and why. */
  readonly failed: readonly { readonly id: string; readonly message: string }[];
}

/**
 * Stop everything this agent ran, from what it saved and what the runtime lists alone:
 * `ingot down --stop-instances` with no server running (one that refused to start, or was
 * killed), so that no instance is left orphaned. Every container in the agent's runtime
 * root is stopped as any stop is (SIGTERM, the grace, SIGKILL, then its network and files);
 * a saved instance without a container still gives back its network and files. Failures do
 * not stop the rest; they are reported.
 */
export async function stopAll(
  ctx: AgentContext,
  table: InstanceTable,
  why: Readonly<Record<string, unknown>>,
): Promise<StopAllReport> {
  const saved = savedInstances(table);
  for (const s of saved) table.set(s);
  const containers = (await ctx.deps.runtime.list()).map((c) => c.id);
  const stopped: string[] = [];
  const failed: { id: string; message: string }[] = [];
  const queue = [...containers];
  const worker = async () => {
    for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
      try {
        if (!isInstanceId(id)) {
          // Not a name Ingot gives: nothing of ours is named after it, the container goes.
          await ctx.deps.runtime.delete(id, true);
          stopped.push(id);
          continue;
        }
        // A container this agent has no record of is stopped all the same: its root is
        // Ingot's alone. The cause goes into the ledger with the stop (stopInstance).
        await stopInstance(ctx, table, id, why);
        stopped.push(id);
      } catch (err) {
        failed.push({ id, message: err instanceof Error ? err.message : String(err) });
      }
    }
  };
  await Promise.all(Array.from({ length: PARALLEL_STOPS }, worker));
  const released: string[] = [];
  for (const s of saved) {
    if (containers.includes(s.id) || !table.has(s.id)) continue;
    try {
      await ctx.deps.network.detach(s.id);
      ctx.deps.files.remove(s.id);
      table.delete(s.id);
      table.save();
      released.push(s.id);
      if (isRunning(s) && s.startedAt !== undefined)
        ctx.emit('instance-stopped', s, { ...why, gone: 'its container had already gone' });
    } catch (err) {
      failed.push({ id: s.id, message: err instanceof Error ? err.message : String(err) });
    }
  }
  return { stopped, released, failed };
}
