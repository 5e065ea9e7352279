import { IngotError } from '../../domain/errors.js';
import { describeCaller, type DebugAccess } from '../debug.js';
import type { AgentContext } from './context.js';
import { isRunning, type InstanceTable } from './instance-table.js';
import { taint } from './taint.js';

/**
 * Break-glass: the instance is tainted now, whatever happens next, and held (kept running)
 * until the session closes or its TTL passes; then the controller replaces it. This records
 * the access; it runs nothing itself.
 */
export function openDebug(
  ctx: AgentContext,
  table: InstanceTable,
  id: string,
  access: DebugAccess,
): void {
  const t = table.get(id);
  if (!t || !isRunning(t))
    throw new IngotError('E_INSTANCE_NOT_FOUND', `no running instance ${JSON.stringify(id)}`);
  const now = ctx.deps.now();
  // One session per instance, never extended: the TTL bounds how long it is held.
  if (t.heldUntil !== undefined)
    throw new IngotError(
      'E_DEBUG_HELD',
      `a session on ${id} is open until ${t.heldUntil}; it is replaced after that`,
    );
  taint(ctx, table, {
    ids: [id],
    evidence: [
      {
        detector: 'break-glass',
        path: access.command,
        expected: 'no access',
        // The claimed name beside the authenticated one: a client can write any `who`.
        actual: `${access.who} (authenticated: ${describeCaller(access.authenticated)}): ${access.reason}`,
        time: now.toISOString(),
      },
    ],
  });
  t.heldUntil = new Date(now.getTime() + access.ttlMs).toISOString();
  table.save(id);
}

/** The session ended: the instance is no longer held, and goes. */
export function closeDebug(table: InstanceTable, id: string): void {
  const t = table.get(id);
  if (!t) return;
  delete t.heldUntil;
  table.save(id);
}
