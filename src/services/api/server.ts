import type { ApiHandlers } from '../../core/api/routes.js';
import { shutdownRequest } from '../../core/api/server.js';
import { timeOnWire } from '../../core/api/wire-time.js';
import type { CheckpointView } from '../server/checkpoint-health.js';

/** The server's own routes: is it there (and is its ledger signed), and stop it. */
export function serverApi(deps: {
  /** Stop the server soon (after this answer has gone), its instances too if asked. */
  readonly shutdown: (options: { stopInstances: boolean }) => void;
  readonly checkpoints: () => CheckpointView;
}): Pick<ApiHandlers, 'health' | 'shutdown'> {
  return {
    health() {
      const { lastSigned, since, ...ledger } = deps.checkpoints();
      return Promise.resolve({
        ok: true,
        ledger: {
          ...ledger,
          ...(lastSigned !== undefined && { lastSigned: timeOnWire(lastSigned) }),
          ...(since !== undefined && { since: timeOnWire(since) }),
        },
      });
    },
    shutdown({ body }) {
      // Only an explicit true stops the instances: anything else keeps them running.
      const request = shutdownRequest.safeParse(body ?? {});
      deps.shutdown({ stopInstances: request.success && request.data.stopInstances === true });
      return Promise.resolve({ ok: true });
    },
  };
}
