import type { ApiHandlers } from '../../core/api/routes.js';
import { shutdownRequest } from '../../core/api/server.js';

/** The server's own routes: is it there, and stop it. */
export function serverApi(deps: {
  /** Stop the server soon (after this answer has gone), its instances too if asked. */
  readonly shutdown: (options: { stopInstances: boolean }) => void;
}): Pick<ApiHandlers, 'health' | 'shutdown'> {
  return {
    health: () => Promise.resolve({ ok: true }),
    shutdown({ body }) {
      // Only an explicit true stops the instances: anything else keeps them running.
      const request = shutdownRequest.safeParse(body ?? {});
      deps.shutdown({ stopInstances: request.success && request.data.stopInstances === true });
      return Promise.resolve({ ok: true });
    },
  };
}
