import { createServer } from 'node:net';
import {
  BACKEND_ROLES,
  EdgeError,
  listenOf,
  parseHostPort,
  type Edge,
} from '../../core/traffic/index.js';

/** Every listen of an edge ("ip:port"). */
export function listensOf(edge: Edge): Set<string> {
  const out = new Set<string>();
  for (const fleet of edge.fleets)
    for (const role of BACKEND_ROLES) {
      const listen = listenOf(fleet, role);
      if (listen !== undefined) out.add(listen);
    }
  return out;
}

/**
 * Refuse (E_EDGE_INVALID) listens of `desired` that HAProxy does not hold yet and that cannot
 * be bound now: taken by another process, or not an address of this machine. Checked before
 * a reload because HAProxy, failing to bind, pauses the listeners it has and retries for about
 * two seconds (measured on 2.6.12) before it gives up and resumes: every fleet would stall
 * for a mistake in one. (A listen taken between this check and the reload still fails the
 * reload, with E_EDGE_RELOAD.)
 */
export async function assertListensFree(desired: Edge, held: Edge): Promise<void> {
  const have = listensOf(held);
  const problems: string[] = [];
  for (const listen of listensOf(desired)) {
    if (have.has(listen)) continue;
    const reason = await bindProblem(listen);
    if (reason !== null) problems.push(`${listen}: ${reason}`);
  }
  if (problems.length > 0)
    throw new EdgeError(
      'E_EDGE_INVALID',
      `the edge cannot listen there:\n  ${problems.join('\n  ')}`,
      {
        details: { problems },
      },
    );
}

/** Why `listen` cannot be bound now (taken, not local), or null when it can. */
export function bindProblem(listen: string): Promise<string | null> {
  const at = parseHostPort(listen);
  if (at === null) return Promise.resolve('not an address and port');
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', (err: NodeJS.ErrnoException) =>
      resolve(
        err.code === 'EADDRINUSE'
          ? 'already taken by another process'
          : err.code === 'EADDRNOTAVAIL'
            ? 'not an address of this machine'
            : `cannot be bound (${err.code ?? err.message})`,
      ),
    );
    probe.listen({ port: at.port, host: at.ip, exclusive: true }, () =>
      probe.close(() => resolve(null)),
    );
  });
}
