import { formatLedgerExport } from '../../core/ledger/index.js';
import { checkpointOnWire } from '../../core/api/ledger.js';
import type { ApiHandlers } from '../../core/api/routes.js';
import type { Ledger } from '../../ports/ledger.js';
import type { LedgerRecorder } from '../ledger.js';

/** The ledger's routes: a checkpoint over everything recorded so far, and the export. */
export function ledgerApi(deps: {
  readonly recorder: Pick<LedgerRecorder, 'maybeCheckpoint' | 'flush'>;
  readonly ledger: Pick<Ledger, 'latestCheckpoint' | 'export'>;
  readonly now: () => number;
}): Pick<ApiHandlers, 'checkpoint' | 'ledgerExport'> {
  return {
    async checkpoint() {
      await deps.recorder.maybeCheckpoint(deps.now(), true);
      const latest = await deps.ledger.latestCheckpoint();
      return latest === null ? null : checkpointOnWire(latest);
    },
    async ledgerExport() {
      // What was recorded before the request is in the answer, not still queued.
      await deps.recorder.flush();
      return formatLedgerExport(await deps.ledger.export());
    },
  };
}
