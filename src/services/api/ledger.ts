import type { ApiHandlers } from '../../core/api/routes.js';
import type { Ledger } from '../../ports/ledger.js';
import type { LedgerRecorder } from '../ledger.js';

/** The ledger's route: a checkpoint over everything recorded so far. */
export function ledgerApi(deps: {
  readonly recorder: Pick<LedgerRecorder, 'maybeCheckpoint'>;
  readonly ledger: Pick<Ledger, 'latestCheckpoint'>;
  readonly now: () => number;
}): Pick<ApiHandlers, 'checkpoint'> {
  return {
    async checkpoint() {
      await deps.recorder.maybeCheckpoint(deps.now(), true);
      return deps.ledger.latestCheckpoint();
    },
  };
}
