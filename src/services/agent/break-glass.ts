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
  t.heldCommand = access.command;
  table.save(id);
}

/**
 * A session of an opened break-glass may now run `command` in the instance, once: the
 * instance must be held, not past its TTL, for this very command (what is recorded is what
 * runs), and no session may have attached to this opening before (saved with the instance).
 */
export function attachDebug(table: InstanceTable, id: string, command: string, now: Date): void {
  const t = table.get(id);
  if (!t || !isRunning(t))
    throw new IngotError('E_INSTANCE_NOT_FOUND', `no running instance ${JSON.stringify(id)}`);
  if (t.heldUntil === undefined || Date.parse(t.heldUntil) <= now.getTime())
    throw new IngotError(
      'E_DEBUG_NOT_OPEN',
      `no break-glass session is open on ${id}: open one first (ingot debug records it)`,
    );
  if (t.heldCommand !== command)
    throw new IngotError(
      'E_DEBUG_NOT_OPEN',
      `the session on ${id} was opened for ${t.heldCommand ?? 'another command'}, not ${command}`,
    );
  if (t.heldAttached === true)
    throw new IngotError('E_DEBUG_HELD', `a session already ran in ${id}; it is being replaced`);
  // Saved before the session runs: a restarted agent does not let a second one in.
  t.heldAttached = true;
  table.save(id);
}

/** The session ended: the instance is no longer held, and goes. */
export function closeDebug(table: InstanceTable, id: string): void {
  const t = table.get(id);
  if (!t) return;
  delete t.heldUntil;
  delete t.heldCommand;
  delete t.heldAttached;
  table.save(id);
}
