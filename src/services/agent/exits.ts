import {
  exitReason,
  lastMeaningfulLine,
  PREVIOUS_LOG_BYTES,
  signalName,
} from '../../core/runtime/exit.js';
import type { InstanceExit } from '../../domain/instance.js';
import type { AgentContext } from './context.js';
import type { TrackedInstance } from './instance-table.js';

/** How long the shim may take to write what it reaped after runc says the container stopped. */
const EXIT_WAIT_MS = 1_000;
const EXIT_POLL_MS = 50;

/**
 * The instance's process ended on its own: keep how (exit code or signal, OOM kill) and the
 * last thing it said, as its reason. runc lists the container stopped as soon as its init is
 * dead; the shim writes the status a moment later, so it is waited for, briefly. Without one
 * (no shim saw it: a container from before shims, or a killed shim) it exited, status unknown.
 */
export async function noteExit(ctx: AgentContext, t: TrackedInstance): Promise<void> {
  const { runtime, files } = ctx.deps;
  const bundle = files.bundle(t.id);
  let seen = runtime.exitOf(bundle);
  for (let waited = 0; seen === null && waited < EXIT_WAIT_MS; waited += EXIT_POLL_MS) {
    await new Promise((r) => setTimeout(r, EXIT_POLL_MS));
    seen = runtime.exitOf(bundle);
  }
  const lastLine = lastMeaningfulLine(tailOf(ctx, t.id));
  const exit: InstanceExit = {
    ...(seen?.code !== undefined && { code: seen.code }),
    ...(seen?.signal !== undefined && { signal: signalName(seen.signal) }),
    oomKilled: (seen?.oomKills ?? 0) > 0,
    at: ctx.deps.now().toISOString(),
    ...(lastLine !== undefined && { lastLine }),
  };
  t.state = 'failed';
  t.exit = exit;
  t.reason = exitReason(exit);
}

/** The last PREVIOUS_LOG_BYTES of the instance's output ('' if it has none). */
export function tailOf(ctx: AgentContext, id: string): string {
  try {
    return ctx.deps.files.readLogs(id).slice(-PREVIOUS_LOG_BYTES);
  } catch {
    return '';
  }
}

/**
 * Before an exited instance's files go: keep its exit and last output (`ingot logs
 * --previous`), so that the reason a crash loop gives can be read after its instances were
 * replaced. Best effort: a full disk must not keep an instance from being removed.
 */
export function keepExited(ctx: AgentContext, t: TrackedInstance): void {
  if (!t.exit) return;
  try {
    ctx.deps.files.keepPrevious({
      id: t.id,
      fleet: t.fleet,
      artifact: t.artifact,
      ...(t.release !== undefined && { release: t.release }),
      ...(t.startedAt !== undefined && { startedAt: t.startedAt }),
      ...(t.reason !== undefined && { reason: t.reason }),
      exit: t.exit,
      output: tailOf(ctx, t.id),
    });
  } catch {
    // lost: the instance goes anyway
  }
}
