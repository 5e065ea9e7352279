import { fileURLToPath } from 'node:url';
import { ensureReadOnlyToken } from '../adapters/home/token.js';
import { loadUiAssets, type UiOptions } from '../adapters/http/ui/index.js';
import type { FleetStore } from '../ports/fleet-store.js';
import type { LedgerReader } from '../ports/ledger.js';
import type { Store } from '../ports/store.js';
import type { LoadedPolicy } from '../services/policy.js';
import { ArtifactEvidenceService } from '../services/ui/artifact-evidence.js';

/** What the evidence views read: the server's ledger, store, trust and fleets. */
export interface DashboardEvidence {
  readonly ledger: LedgerReader;
  readonly store: Store;
  readonly trust: () => Promise<LoadedPolicy>;
  readonly fleets: Pick<FleetStore, 'fleets'>;
}

/**
 * The dashboard a server serves at /ui: the page `npm run build` put in dist/web (beside
 * dist/bin, where this module is bundled), and the home's read-only token. Run from source
 * there is no built page, and /ui says so (E_UI_NOT_BUILT). `records`: the state's release
 * records and ledger entries, for the releases and drift views; `evidence`: what the ledger,
 * artifacts and hosts views read.
 */
export function dashboardOptions(
  home: string,
  records?: UiOptions['records'],
  evidence?: DashboardEvidence,
): UiOptions {
  return {
    ...(records !== undefined && { records }),
    ...(evidence !== undefined && {
      evidence: {
        ledger: evidence.ledger,
        artifacts: new ArtifactEvidenceService({
          store: evidence.store,
          trust: evidence.trust,
          fleets: () => evidence.fleets.fleets(),
        }),
      },
    }),
    assets: loadUiAssets(fileURLToPath(new URL('../web', import.meta.url))),
    readOnlyToken: ensureReadOnlyToken(home).token,
  };
}
