import { claimHome } from '../adapters/home/claim.js';
import { loadHostSettings } from '../adapters/host-files/host-settings.js';
import type { OfflineStopReport } from '../cli/io.js';
import type { LedgerEntryDraft } from '../core/ledger/index.js';
import { createAgent } from './agent.js';

/**
 * `ingot down --stop-instances` when no server runs: the agent of this home, made as `up`
 * made it (host.json: bridge, subnet, cgroup, grace), stops what its runtime lists and
 * releases what its record names. The home is claimed meanwhile, so that no server starts
 * and adopts instances that are being stopped under it. Each stop goes to `record`.
 */
export async function stopWithoutServer(
  home: string,
  by: string,
  record: (event: LedgerEntryDraft) => void,
): Promise<OfflineStopReport> {
  const release = claimHome(home);
  try {
    const agent = await createAgent({ home, ...loadHostSettings(home), onEvent: record });
    try {
      const report = await agent.stopAll({
        cause: 'ingot down --stop-instances, with no server running',
        by,
      });
      if (report.failed.length > 0) return { ...report, bridgeKept: 'not every instance stopped' };
      const kept = await agent.releaseNetwork().then(
        () => undefined,
        (err: unknown) => (err instanceof Error ? err.message : String(err)),
      );
      return { ...report, ...(kept !== undefined && { bridgeKept: kept }) };
    } finally {
      await agent.close();
    }
  } finally {
    release();
  }
}
