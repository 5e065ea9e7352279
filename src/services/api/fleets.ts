import {
  fleetOnWire,
  historyOnWire,
  promoteRequest,
  rollbackRequest,
  type FleetView,
} from '../../core/api/fleets.js';
import { timeOnWire } from '../../core/api/wire-time.js';
import type { ApiHandlers } from '../../core/api/routes.js';
import { DEFAULT_HISTORY_PAGE, type HistoryPageQuery } from '../../core/fleet/history-page.js';
import { pageBy, rowsFor } from '../../core/fleet/release-page.js';
import { shapeOf } from '../../core/controller/shape.js';
import { rolloutWait } from '../../core/controller/waiting.js';
import type { LedgerEntryDraft } from '../../core/ledger/index.js';
import { IngotError } from '../../domain/errors.js';
import type { ObservedInstance } from '../../domain/instance.js';
import type { FleetStore } from '../../ports/fleet-store.js';
import type { Store } from '../../ports/store.js';
import type { FleetStatus } from '../controller/index.js';
import { deploy, type DeployDeps } from '../fleets/deploy.js';
import { planDeploy } from '../fleets/plan.js';
import { promote } from '../fleets/promote.js';
import { rollBack } from '../fleets/rollback.js';
import { releaseApi } from './releases.js';
import { abortRollout, pauseRollout, resumeRollout } from '../fleets/rollout-control.js';
import type { LoadedPolicy } from '../policy.js';

export interface FleetApiDeps {
  readonly store: Store;
  /** What the host takes (deploy.ts): a fleet that does not fit is refused. */
  readonly capacity?: NonNullable<DeployDeps['capacity']>;
  /** Registry references are pulled at deploy (deploy.ts). */
  readonly pull?: NonNullable<DeployDeps['pull']>;
  /** Where a fleet's service would be served (deploy.ts); without it services are refused. */
  readonly edge?: NonNullable<DeployDeps['edge']>;
  /** A cluster's bound on what an instance's assignment holds (deploy.ts). */
  readonly fits?: NonNullable<DeployDeps['fits']>;
  readonly fleets: FleetStore;
  readonly trust: () => Promise<LoadedPolicy>;
  readonly now: () => number;
  /** Into the ledger: admission decisions at deploy time. */
  readonly record: (event: LedgerEntryDraft) => void;
  /** Every instance the hosts report. */
  readonly observe: () => Promise<ObservedInstance[]>;
  /** What the controller's last pass found (why it could not do everything). */
  readonly status: () => readonly FleetStatus[];
  /** Ask for a reconcile pass now: what was just written should not wait for the next. */
  readonly reconcileSoon: () => void;
}

/** The fleets' routes: declare, roll back, promote, and look. */
export function fleetApi(
  deps: FleetApiDeps,
): Pick<
  ApiHandlers,
  | 'deploy'
  | 'plan'
  | 'fleets'
  | 'rollback'
  | 'promote'
  | 'pause'
  | 'resume'
  | 'abort'
  | 'history'
  | 'releases'
  | 'release'
> {
  // pause, resume and abort: the same request, the same record, a different rule.
  const byHand =
    (control: typeof pauseRollout) =>
    async ({ params, query }: { params: { name: string }; query: { reason?: string } }) => {
      const record = await control(deps.fleets, params.name, {
        now: deps.now(),
        actor: 'admin',
        ...(query.reason !== undefined && { why: query.reason }),
      });
      deps.reconcileSoon();
      return fleetOnWire(record);
    };
  // One deploy at a time: two that each fit alone must not both pass the capacity check.
  let deploying: Promise<unknown> = Promise.resolve();
  return {
    async deploy({ body, query }) {
      const run = deploying.then(() => deploy(deps, body, query.reason));
      deploying = run.catch(() => undefined);
      const record = await run;
      deps.reconcileSoon();
      return fleetOnWire(record);
    },
    // What the deploy would do: its checks, outside its queue (it writes nothing to race).
    plan: ({ body }) => planDeploy(deps, body),
    async rollback({ params, body, query }) {
      const request = rollbackRequest.safeParse(body ?? {});
      if (!request.success)
        throw new IngotError('E_USAGE', 'to must be a release digest (sha256:…)');
      const record = await rollBack(deps.fleets, params.name, {
        reason: 'by hand (ingot rollback)',
        at: deps.now(),
        ...(request.data.to !== undefined && { to: request.data.to }),
        ...(query.reason !== undefined && { why: query.reason }),
      });
      deps.reconcileSoon();
      return fleetOnWire(record);
    },
    async promote({ params, body, query }) {
      const request = promoteRequest.safeParse(body ?? {});
      if (!request.success) throw new IngotError('E_USAGE', 'full must be true or false');
      const record = await promote(deps.fleets, params.name, {
        full: request.data.full === true,
        now: deps.now(),
        ...(query.reason !== undefined && { why: query.reason }),
      });
      deps.reconcileSoon();
      return fleetOnWire(record);
    },
    // Changes by hand, recorded (history and ledger) with the admin as actor, as promote is.
    pause: byHand(pauseRollout),
    resume: byHand(resumeRollout),
    abort: byHand(abortRollout),
    async fleets() {
      const observed = await deps.observe();
      const status = new Map(deps.status().map((s) => [s.fleet.name, s]));
      const now = deps.now();
      return (await deps.fleets.fleets()).map((f): FleetView => {
        const shape = shapeOf(f);
        const waiting = rolloutWait(f, now);
        const traffic = status.get(f.name)?.traffic;
        return {
          ...fleetOnWire(f),
          phase: shape.label,
          awaitingPromotion:
            f.rollout === 'progressing' && f.stepReadyAt !== null && shape.pauseMs === null,
          ...(waiting !== null && {
            waiting:
              waiting.for === 'resume' ? { ...waiting, since: timeOnWire(waiting.since) } : waiting,
          }),
          reasons: [...(status.get(f.name)?.reasons ?? [])],
          instances: observed.filter((i) => i.fleet === f.name),
          ...(traffic !== undefined && { traffic }),
        };
      });
    },
    ...releaseApi(deps),
    // A page and one more row, whatever the history's length (history-page.ts).
    async history({ query }) {
      const page: HistoryPageQuery = {
        ...query,
        limit: query.limit ?? DEFAULT_HISTORY_PAGE,
        before: query.before ?? null,
      };
      const rows = await deps.fleets.history({ ...page, limit: rowsFor(page) });
      const { items, next } = pageBy(rows, page, (e) => e.seq);
      return { history: items.map(historyOnWire), next };
    },
  };
}
