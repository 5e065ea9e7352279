import type { ApiHandlers } from '../../core/api/routes.js';
import { IngotError } from '../../domain/errors.js';
import type { FleetStore } from '../../ports/fleet-store.js';
import { describeCaller, parseDebugRequest } from '../debug.js';
import type { InstanceHosts } from '../../ports/instance-hosts.js';

export interface InstanceApiDeps {
  /** The hosts the instances run on: this one (`ingot up`), or a cluster's agents. */
  readonly hosts: InstanceHosts;
  readonly fleets: FleetStore;
  readonly now: () => number;
  /** Ask for a reconcile pass now (a tainted instance is replaced at once). */
  readonly reconcileSoon: () => void;
}

type InstanceRoutes =
  'drift' | 'verifyInstances' | 'openDebug' | 'closeDebug' | 'logs' | 'previousLogs';

/** The instances' routes: drift evidence, full verification, break-glass, and logs. */
export function instanceApi(deps: InstanceApiDeps): Pick<ApiHandlers, InstanceRoutes> {
  const { hosts, fleets } = deps;
  return {
    drift: async ({ query }) =>
      (await hosts.observe()).filter(
        (i) =>
          (query.fleet === undefined || i.fleet === query.fleet) && (i.evidence?.length ?? 0) > 0,
      ),
    async verifyInstances() {
      const report = await hosts.verifyInstances();
      deps.reconcileSoon();
      return report;
    },
    async openDebug({ params, body, caller }) {
      const access = parseDebugRequest(body, caller());
      const by = describeCaller(access.authenticated);
      const instance = await hosts.openDebug(params.id, access);
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
      const instance = (await hosts.observe()).find((i) => i.id === params.id);
      if (!instance)
        throw new IngotError('E_INSTANCE_NOT_FOUND', `no instance ${JSON.stringify(params.id)}`);
      await hosts.closeDebug(params.id);
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
    logs: ({ params, query }) => hosts.logs(params.id, query),
    previousLogs: ({ params }) => hosts.previous(params.id),
  };
}
