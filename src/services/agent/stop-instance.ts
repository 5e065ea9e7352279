import { IngotError } from '../../domain/errors.js';
import type { AgentContext } from './context.js';
import { keepExited } from './exits.js';
import type { InstanceTable } from './instance-table.js';

const POLL_MS = 20;
const MAX_POLL_MS = 200;

/**
 * Stop an instance and release everything it held: SIGTERM, the grace, SIGKILL; the
 * container, its network, its files. It is stopped once its container is gone, whatever the
 * network says; a network not fully released is reported after that.
 */
export async function stopInstance(
  ctx: AgentContext,
  table: InstanceTable,
  id: string,
  why: Record<string, unknown> = {},
): Promise<void> {
  const { runtime, network, files } = ctx.deps;
  // A tainted instance is evidence: what was done in it since the first finding is recorded
  // before it goes (a failed /proc read only loses that last look).
  if (table.get(id)?.evidence?.length) {
    try {
      ctx.monitor?.lookOnceMore(id);
    } catch {
      // the stop goes on
    }
  }
  ctx.monitor?.untrack(id);
  // From here it reports "stopping", and its process ends because we end it: refresh() does
  // not take that for a crash.
  markStopping(table, id);
  // The fleet's grace (the latest the instance was told), else the host's.
  const grace = table.get(id)?.stopGraceMs ?? ctx.deps.stopGraceMs ?? 10_000;
  const state = await runtime.state(id);
  if (state && state.status !== 'stopped') {
    await runtime.kill(id, 'TERM').catch(() => undefined);
    if (!(await waitStopped(ctx, id, grace))) {
      await runtime.kill(id, 'KILL').catch(() => undefined);
      await waitStopped(ctx, id, 5_000);
    }
  }
  if (state) await runtime.delete(id, true);
  // Until now it ran, and whoever entered it while it stopped was still recorded.
  ctx.monitor?.gone(id);
  const released = await network.detach(id).then(
    () => null,
    (err: unknown) => err,
  );
  const t = table.get(id);
  if (t) keepExited(ctx, t);
  files.remove(id);
  table.delete(id);
  table.save(id);
  if (t?.startedAt !== undefined)
    ctx.emit('instance-stopped', t, { wasTainted: (t.evidence?.length ?? 0) > 0, ...why });
  if (released !== null)
    throw new IngotError(
      'E_NETWORK',
      `instance ${id} stopped, but its network was not fully released: ${released instanceof Error ? released.message : 'unknown error'}`,
    );
}

/**
 * From now on it reports "stopping": the controller counts it neither as serving nor against
 * the fleet's surge ceiling (as Kubernetes does with terminating pods), so that a program
 * that takes its whole grace to stop does not hold up its replacements. An instance that
 * never ran (refused, failed) keeps its state and reason.
 */
export function markStopping(table: InstanceTable, id: string): void {
  const t = table.get(id);
  if (!t || t.state === 'refused' || t.state === 'failed' || t.state === 'stopping') return;
  t.state = 'stopping';
  delete t.healthySince;
  table.save(id);
}

/**
 * Poll until the container is gone or `ms` has passed (by the agent's clock): after 20 ms,
 * then twice as long each time up to 200 ms. Each poll spawns runc, which blocks the event
 * loop while it forks: polling every 20 ms through a 10 s grace was 500 spawns per stop.
 */
async function waitStopped(ctx: AgentContext, id: string, ms: number): Promise<boolean> {
  const until = ctx.deps.now().getTime() + ms;
  for (let wait = POLL_MS; ; wait = Math.min(wait * 2, MAX_POLL_MS)) {
    const s = await ctx.deps.runtime.state(id);
    if (!s || s.status === 'stopped') return true;
    const left = until - ctx.deps.now().getTime();
    if (left <= 0) return false;
    await new Promise((r) => setTimeout(r, Math.min(wait, left)));
  }
}
