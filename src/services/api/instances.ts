import type { ApiHandlers } from '../../core/api/routes.js';
import { IngotError } from '../../domain/errors.js';
import type { ObservedInstance } from '../../domain/instance.js';
import type { FleetStore } from '../../ports/fleet-store.js';
import type { Agent } from '../agent/index.js';
import { describeCaller, parseDebugRequest } from '../debug.js';

export interface InstanceApiDeps {
  readonly agent: Pick<Agent, 'observe' | 'verifyInstances' | 'openDebug' | 'closeDebug'>;
  readonly fleets: FleetStore;
  readonly now: () => number;
  /** Ask for a reconcile pass now (a tainted instance is replaced at once). */
  readonly reconcileSoon: () => void;
}

/** The instances' routes: drift evidence, full verification, and break-glass. */
export function instanceApi(
  deps: InstanceApiDeps,
): Pick<ApiHandlers, 'drift' | 'verifyInstances' | 'openDebug' | 'closeDebug'> {
  const { agent, fleets } = deps;
  return {
    drift: async ({ query }) =>
      (await agent.observe()).filter(
        (i) =>
          (query.fleet === undefined || i.fleet === query.fleet) && (i.evidence?.length ?? 0) > 0,
      ),
    async verifyInstances() {
      const report = await agent.verifyInstances();
      deps.reconcileSoon();
      return report;
    },
    async openDebug({ params, body, caller }) {
      const access = parseDebugRequest(body, caller());
      const by = describeCaller(access.authenticated);
      const instance = agent.openDebug(params.id, access);
      await fleets.note({
        fleet: instance.fleet,
        time: deps.now(),
        kind: 'break-glass-open',
        summary: `${params.id} by ${access.who} (authenticated: ${by}): ${access.reason} (${access.command}; for at most ${access.ttlMs / 1000} s)`,
        // The token authenticates; `who` is what the client claims, `authenticated` is not.
        actor: 'admin',
        instance: params.id,
        subjects: [instance.artifact],
        detail: {
          who: access.who,
          authenticated: { ...access.authenticated },
          reason: access.reason,
          command: access.command,
          ttlSeconds: access.ttlMs / 1000,
        },
      });
      deps.reconcileSoon();
      return instance;
    },
    async closeDebug({ params }) {
      const instance: ObservedInstance | undefined = (await agent.observe()).find(
        (i) => i.id === params.id,
      );
      if (!instance)
        throw new IngotError('E_INSTANCE_NOT_FOUND', `no instance ${JSON.stringify(params.id)}`);
      agent.closeDebug(params.id);
      await fleets.note({
        fleet: instance.fleet,
        time: deps.now(),
        kind: 'break-glass-close',
        summary: `${params.id}: replaced now`,
        actor: 'admin',
        instance: params.id,
        subjects: [instance.artifact],
      });
      deps.reconcileSoon();
      return { id: params.id, closed: true };
    },
  };
}
